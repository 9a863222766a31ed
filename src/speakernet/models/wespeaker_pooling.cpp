#include "speakernet/models/wespeaker_pooling.h"

#include "speakernet/common/error.h"

namespace speakernet {

namespace {
constexpr double kVarEps = 1e-7;

torch::Tensor StdOverTime(const torch::Tensor& x, bool keepdim) {
  return torch::sqrt(x.var(/*dim=*/{-1}, /*unbiased=*/true, keepdim) + kVarEps);
}
}  // namespace

TemporalStatsPooling::TemporalStatsPooling(int64_t input_dim, bool mean, bool std)
    : input_dim_(input_dim), mean_(mean), std_(std) {
  SN_CHECK(mean || std, "TemporalStatsPooling needs the mean, the std or both");
}

torch::Tensor TemporalStatsPooling::forward(const torch::Tensor& x) {
  if (!std_) return x.mean(-1);
  if (!mean_) return StdOverTime(x, false);
  return torch::cat({x.mean(-1), StdOverTime(x, false)}, 1);
}

AttentiveStatsPooling::AttentiveStatsPooling(int64_t input_dim, int64_t bottleneck_dim,
                                             bool global_context_att)
    : input_dim_(input_dim), global_context_att_(global_context_att) {
  namespace nn = torch::nn;
  const int64_t in = global_context_att ? 3 * input_dim : input_dim;
  linear1 = register_module("linear1", nn::Conv1d(nn::Conv1dOptions(in, bottleneck_dim, 1)));
  linear2 = register_module("linear2", nn::Conv1d(nn::Conv1dOptions(bottleneck_dim, input_dim, 1)));
}

torch::Tensor AttentiveStatsPooling::forward(const torch::Tensor& x) {
  torch::Tensor x_in = x;
  if (global_context_att_) {
    x_in = torch::cat({x, x.mean(-1, true).expand_as(x), StdOverTime(x, true).expand_as(x)}, 1);
  }
  const auto alpha = torch::softmax(linear2->forward(torch::tanh(linear1->forward(x_in))), 2);
  const auto mean = (alpha * x).sum(2);
  const auto var = (alpha * x * x).sum(2) - mean * mean;
  return torch::cat({mean, torch::sqrt(var.clamp_min(kVarEps))}, 1);
}

std::shared_ptr<WeSpeakerPooling> CreateWeSpeakerPooling(const WeSpeakerPoolingConfig& config,
                                                         int64_t input_dim) {
  if (config.type == "TSTP") return std::make_shared<TemporalStatsPooling>(input_dim, true, true);
  if (config.type == "TAP") return std::make_shared<TemporalStatsPooling>(input_dim, true, false);
  if (config.type == "TSDP") return std::make_shared<TemporalStatsPooling>(input_dim, false, true);
  if (config.type == "ASTP") {
    return std::make_shared<AttentiveStatsPooling>(input_dim, config.bottleneck_dim,
                                                   config.global_context_att);
  }
  Fail("WeSpeaker pooling '" + config.type + "' is not supported (TSTP, TAP, TSDP, ASTP)");
}

}  // namespace speakernet
