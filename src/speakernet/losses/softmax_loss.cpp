#include "speakernet/losses/softmax_loss.h"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include "speakernet/common/error.h"

namespace speakernet {

namespace F = torch::nn::functional;

void SoftmaxLossConfig::Validate() const {
  SN_CHECK(label_smoothing >= 0 && label_smoothing < 1,
           "loss.label_smoothing must be in [0, 1), got {}", label_smoothing);
}

SoftmaxLossImpl::SoftmaxLossImpl(int64_t input_dim, int64_t num_targets,
                                 const SoftmaxLossConfig& config)
    : config_(config), input_dim_(input_dim) {
  config_.Validate();
  SN_CHECK(input_dim > 0 && num_targets > 1,
           "SoftmaxLoss: need input_dim > 0 and num_targets > 1, got {} and {}", input_dim,
           num_targets);
  affine = register_module("affine", torch::nn::Linear(input_dim, num_targets));
  torch::NoGradGuard no_grad;
  affine->weight.normal_(0.0, 0.01);
  affine->bias.zero_();
}

SoftmaxLossImpl::Output SoftmaxLossImpl::forward(const torch::Tensor& emb,
                                                 const torch::Tensor& labels) {
  SN_CHECK(emb.dim() == 2 && emb.size(1) == input_dim_,
           "SoftmaxLoss: expected embeddings [B, {}], got {}", input_dim_, c10::str(emb.sizes()));
  SN_CHECK(labels.dim() == 1 && labels.size(0) == emb.size(0),
           "SoftmaxLoss: expected labels [{}], got {}", emb.size(0), c10::str(labels.sizes()));
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  Output out;
  out.logits = F::linear(emb.to(torch::kFloat), affine->weight.to(torch::kFloat),
                         affine->bias.to(torch::kFloat));
  out.loss =
      F::cross_entropy(out.logits, labels.to(torch::kLong),
                       F::CrossEntropyFuncOptions().label_smoothing(config_.label_smoothing));
  return out;
}

}  // namespace speakernet
