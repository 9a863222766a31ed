#include "speakernet/losses/loss_factory.h"

#include "speakernet/common/error.h"

namespace speakernet {

void LossConfig::Validate() const {
  if (IsSoftmax()) {
    softmax.Validate();
    return;
  }
  SN_CHECK(method == "am" || method == "aam", "loss.method must be am, aam or softmax, got '{}'",
           method);
  MarginSoftmaxConfig::Validate();
  SN_CHECK(softmax.label_smoothing == 0,
           "loss.label_smoothing ({}) applies to loss.method softmax only; margin losses ({}) "
           "use none, as in speaker-net",
           softmax.label_smoothing, method);
}

std::shared_ptr<ClassifierLossImpl> MakeClassifierLoss(const LossConfig& config, int64_t input_dim,
                                                       int64_t num_targets) {
  config.Validate();
  if (config.IsSoftmax()) {
    return std::make_shared<SoftmaxLossImpl>(input_dim, num_targets, config.softmax);
  }
  return std::make_shared<MarginSoftmaxImpl>(input_dim, num_targets, config);
}

int64_t ClassifierParameterCount(const LossConfig& config, int64_t input_dim, int64_t num_targets) {
  if (config.IsSoftmax()) return num_targets * input_dim + num_targets;
  return num_targets * config.K * input_dim;
}

}  // namespace speakernet
