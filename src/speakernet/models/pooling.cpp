#include "speakernet/models/pooling.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {
constexpr double kVarianceFloor = 1e-10;
// Added to the unbiased variance of ChannelContextStatisticsPooling's context input.
constexpr double kContextVarianceEpsilon = 1e-10;
}  // namespace

StatisticsPooling::StatisticsPooling(int64_t input_dim) : input_dim_(input_dim) {
  SN_CHECK(input_dim > 0, "StatisticsPooling: input_dim must be > 0, got {}", input_dim);
}

torch::Tensor StatisticsPooling::forward(const torch::Tensor& x) {
  SN_CHECK(x.dim() == 3 && x.size(1) == input_dim_,
           "StatisticsPooling: expected [B, {}, T], got {}", input_dim_, c10::str(x.sizes()));
  const auto mean = x.mean(/*dim=*/2, /*keepdim=*/true);
  const auto var = (x - mean).pow(2).mean(/*dim=*/2, /*keepdim=*/true);
  return torch::cat({mean, var.clamp_min(kVarianceFloor).sqrt()}, /*dim=*/1);
}

AttentionAlphaImpl::AttentionAlphaImpl(int64_t input_dim, int64_t num_head) {
  Conv1dBnReluOptions options;
  options.bias = false;
  options.groups = num_head;
  options.relu = false;
  options.batchnorm = false;
  last_affine = register_module("last_affine", Conv1dBnReluLayer(input_dim, num_head, options));
}

torch::Tensor AttentionAlphaImpl::forward(const torch::Tensor& x) {
  return torch::softmax(last_affine->forward(x), /*dim=*/2);
}

MultiHeadAttentionPooling::MultiHeadAttentionPooling(int64_t input_dim, int64_t num_head)
    : input_dim_(input_dim), num_head_(num_head) {
  SN_CHECK(num_head > 0 && input_dim > 0 && input_dim % num_head == 0,
           "MultiHeadAttentionPooling: input dim {} is not divisible by num_head {}", input_dim,
           num_head);
  attention = register_module("attention", AttentionAlpha(input_dim, num_head));
}

torch::Tensor MultiHeadAttentionPooling::forward(const torch::Tensor& x) {
  SN_CHECK(x.dim() == 3 && x.size(1) == input_dim_,
           "MultiHeadAttentionPooling: expected [B, {}, T], got {}", input_dim_,
           c10::str(x.sizes()));
  const int64_t batch = x.size(0);
  const int64_t frames = x.size(2);
  const auto alpha = attention->forward(x).unsqueeze(2);                          // [B, H, 1, T]
  const auto xs = x.reshape({batch, num_head_, input_dim_ / num_head_, frames});  // [B, H, D/H, T]
  const auto mean = (alpha * xs).sum(/*dim=*/3);                                  // [B, H, D/H]
  const auto mean_sq = (alpha * xs * xs).sum(/*dim=*/3);
  const auto std = (mean_sq - mean * mean).clamp_min(kVarianceFloor).sqrt();
  return torch::cat({mean.reshape({batch, input_dim_}), std.reshape({batch, input_dim_})}, 1)
      .unsqueeze(2);
}

ChannelContextAttentionImpl::ChannelContextAttentionImpl(int64_t input_dim, int64_t hidden_size,
                                                         int64_t output_dim) {
  Conv1dBnReluOptions options;
  options.relu = false;
  options.batchnorm = false;
  first_affine =
      register_module("first_affine", Conv1dBnReluLayer(input_dim, hidden_size, options));
  last_affine = register_module("last_affine", Conv1dBnReluLayer(hidden_size, output_dim, options));
}

torch::Tensor ChannelContextAttentionImpl::forward(const torch::Tensor& x) {
  return torch::softmax(last_affine->forward(torch::tanh(first_affine->forward(x))), /*dim=*/2);
}

ChannelContextStatisticsPooling::ChannelContextStatisticsPooling(int64_t input_dim,
                                                                 int64_t hidden_size)
    : input_dim_(input_dim) {
  SN_CHECK(input_dim > 0 && hidden_size > 0,
           "ChannelContextStatisticsPooling: input_dim and hidden_size must be > 0, got {} and {}",
           input_dim, hidden_size);
  attention =
      register_module("attention", ChannelContextAttention(3 * input_dim, hidden_size, input_dim));
}

torch::Tensor ChannelContextStatisticsPooling::forward(const torch::Tensor& x) {
  SN_CHECK(x.dim() == 3 && x.size(1) == input_dim_,
           "ChannelContextStatisticsPooling: expected [B, {}, T], got {}", input_dim_,
           c10::str(x.sizes()));
  const int64_t frames = x.size(2);
  SN_CHECK(frames > 1, "ChannelContextStatisticsPooling: needs at least 2 frames, got {}", frames);
  const auto global_mean = x.mean(/*dim=*/2, /*keepdim=*/true);
  const auto global_std =
      (x.var(/*dim=*/2, /*unbiased=*/true, /*keepdim=*/true) + kContextVarianceEpsilon).sqrt();
  const auto context =
      torch::cat({x, global_mean.expand_as(x), global_std.expand_as(x)}, /*dim=*/1);  // [B, 3D, T]
  const auto alpha = attention->forward(context);                                     // [B, D, T]
  const auto mean = (alpha * x).sum(/*dim=*/2, /*keepdim=*/true);
  const auto mean_sq = (alpha * x * x).sum(/*dim=*/2, /*keepdim=*/true);
  const auto std = (mean_sq - mean * mean).clamp_min(kVarianceFloor).sqrt();
  return torch::cat({mean, std}, /*dim=*/1);
}

TwoLayerAttentionImpl::TwoLayerAttentionImpl(int64_t input_dim, int64_t hidden, int64_t output_dim,
                                             int64_t last_groups) {
  Conv1dBnReluOptions options;
  options.relu = false;
  options.batchnorm = false;
  first_affine = register_module("first_affine", Conv1dBnReluLayer(input_dim, hidden, options));
  options.groups = last_groups;
  last_affine = register_module("last_affine", Conv1dBnReluLayer(hidden, output_dim, options));
}

torch::Tensor TwoLayerAttentionImpl::Scores(const torch::Tensor& x) {
  return last_affine->forward(torch::relu(first_affine->forward(x)));
}

namespace {

// [sum_t alpha x, sqrt(clamp(sum_t alpha x^2 - mean^2))] for alpha [B, H, 1, T] (or
// broadcastable) and x [B, 1 or H, D', T]: returns mean and std, each [B, H, D'].
std::pair<torch::Tensor, torch::Tensor> WeightedStats(const torch::Tensor& alpha,
                                                      const torch::Tensor& x) {
  const auto mean = (alpha * x).sum(/*dim=*/3);
  const auto mean_sq = (alpha * x * x).sum(/*dim=*/3);
  return {mean, (mean_sq - mean * mean).clamp_min(kVarianceFloor).sqrt()};
}

}  // namespace

AttentiveStatisticsPooling::AttentiveStatisticsPooling(int64_t input_dim, int64_t hidden_size)
    : input_dim_(input_dim) {
  SN_CHECK(input_dim > 0 && hidden_size > 0,
           "AttentiveStatisticsPooling: input_dim and hidden_size must be > 0, got {} and {}",
           input_dim, hidden_size);
  attention = register_module("attention", TwoLayerAttention(input_dim, hidden_size, 1, 1));
}

torch::Tensor AttentiveStatisticsPooling::forward(const torch::Tensor& x) {
  SN_CHECK(x.dim() == 3 && x.size(1) == input_dim_,
           "AttentiveStatisticsPooling: expected [B, {}, T], got {}", input_dim_,
           c10::str(x.sizes()));
  const auto alpha = torch::softmax(attention->Scores(x), /*dim=*/2);  // [B, 1, T]
  const auto [mean, std] = WeightedStats(alpha.unsqueeze(1), x.unsqueeze(1));
  return torch::cat({mean.squeeze(1), std.squeeze(1)}, /*dim=*/1).unsqueeze(2);
}

MultiResolutionAttentionPooling::MultiResolutionAttentionPooling(int64_t input_dim,
                                                                 int64_t num_head,
                                                                 int64_t hidden_size)
    : input_dim_(input_dim), num_head_(num_head) {
  SN_CHECK(input_dim > 0 && num_head > 0 && hidden_size > 0,
           "MultiResolutionAttentionPooling: input_dim, num_head and hidden_size must be > 0, "
           "got {}, {} and {}",
           input_dim, num_head, hidden_size);
  attention = register_module(
      "attention", TwoLayerAttention(input_dim, hidden_size * num_head, num_head, num_head));
  std::vector<int64_t> t(num_head);
  for (int64_t h = 0; h < num_head; ++h) t[h] = std::max<int64_t>(1, (h / 2) * 5);
  temperature_ =
      attention->register_buffer("t", torch::tensor(t, torch::kLong).reshape({1, num_head, 1, 1}));
}

torch::Tensor MultiResolutionAttentionPooling::forward(const torch::Tensor& x) {
  SN_CHECK(x.dim() == 3 && x.size(1) == input_dim_,
           "MultiResolutionAttentionPooling: expected [B, {}, T], got {}", input_dim_,
           c10::str(x.sizes()));
  const int64_t batch = x.size(0);
  const auto scores =
      attention->Scores(x).unsqueeze(2) / temperature_.to(x.dtype());  // [B, H, 1, T]
  const auto alpha = torch::softmax(scores, /*dim=*/3);
  const auto [mean, std] = WeightedStats(alpha, x.unsqueeze(1));  // [B, H, D]
  return torch::cat({mean.reshape({batch, -1}), std.reshape({batch, -1})}, /*dim=*/1).unsqueeze(2);
}

std::shared_ptr<Pooling> CreatePooling(const PoolingConfig& config, int64_t input_dim) {
  config.Validate();
  if (config.type == "multi_head") {
    return std::make_shared<MultiHeadAttentionPooling>(input_dim, config.num_head);
  }
  if (config.type == "statistics") return std::make_shared<StatisticsPooling>(input_dim);
  if (config.type == "channel_context") {
    return std::make_shared<ChannelContextStatisticsPooling>(input_dim, config.hidden_size);
  }
  if (config.type == "attentive") {
    return std::make_shared<AttentiveStatisticsPooling>(input_dim, config.hidden_size);
  }
  if (config.type == "multi_resolution") {
    return std::make_shared<MultiResolutionAttentionPooling>(input_dim, config.num_head,
                                                             config.hidden_size);
  }
  Fail("model.pooling.type '" + config.type + "' is not supported");
}

}  // namespace speakernet
