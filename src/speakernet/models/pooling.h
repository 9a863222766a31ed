// Temporal poolings: [B, D, T] -> [B, OutputDim(), 1] (statistics over the time axis).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "speakernet/models/conv1d_bn_layer.h"
#include "speakernet/models/model_config.h"

namespace speakernet {

class Pooling : public torch::nn::Module {
 public:
  // x: [B, D, T] -> [B, OutputDim(), 1].
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual int64_t OutputDim() const = 0;
};

// [mean_t(x), sqrt(clamp(biased var_t(x), 1e-10))]. No parameters.
class StatisticsPooling : public Pooling {
 public:
  explicit StatisticsPooling(int64_t input_dim);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t OutputDim() const override { return 2 * input_dim_; }

 private:
  int64_t input_dim_;
};

// One attention weight per head and frame, softmax over time. Each head scores only its own
// contiguous D/H channels (a grouped 1x1 conv without bias: D parameters).
// Named like speaker-net: attention.last_affine.affine.weight [H, D/H, 1].
class AttentionAlphaImpl : public torch::nn::Module {
 public:
  AttentionAlphaImpl(int64_t input_dim, int64_t num_head);
  // x: [B, D, T] -> alpha [B, H, T], summing to 1 over T.
  torch::Tensor forward(const torch::Tensor& x);

  Conv1dBnReluLayer last_affine{nullptr};
};
TORCH_MODULE(AttentionAlpha);

// Multi-head attentive statistics: the channels are split into H contiguous groups; head h
// pools its group with its own weights. Output [all heads' means, all heads' stds].
class MultiHeadAttentionPooling : public Pooling {
 public:
  MultiHeadAttentionPooling(int64_t input_dim, int64_t num_head);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t OutputDim() const override { return 2 * input_dim_; }

  AttentionAlpha attention{nullptr};

 private:
  int64_t input_dim_;
  int64_t num_head_;
};

// ECAPA's attention (speaker-net's AttentionAlphaComponent with global context, 2 affine layers,
// tanh, share False): alpha = softmax_t(last_affine(tanh(first_affine(x)))), one weight per
// channel and frame. first_affine: Conv1d(in -> hidden, k=1, bias), last_affine: Conv1d(hidden ->
// out, k=1, bias); no BN, no ReLU.
class ChannelContextAttentionImpl : public torch::nn::Module {
 public:
  ChannelContextAttentionImpl(int64_t input_dim, int64_t hidden_size, int64_t output_dim);
  // x: [B, input_dim, T] -> alpha [B, output_dim, T], summing to 1 over T.
  torch::Tensor forward(const torch::Tensor& x);

  Conv1dBnReluLayer first_affine{nullptr};
  Conv1dBnReluLayer last_affine{nullptr};
};
TORCH_MODULE(ChannelContextAttention);

// ECAPA-TDNN's channel- and context-dependent attentive statistics (spec §3.2). The attention
// sees [x, mean_t(x), sqrt(var_t(x, unbiased) + 1e-10)] (3D channels, the statistics broadcast
// over time); with alpha [B, D, T]: mu = sum_t alpha x, sigma = sqrt(clamp(sum_t alpha x^2 - mu^2,
// 1e-10)). Output [mu, sigma] (2D). Named like speaker-net: attention.first_affine.affine.*,
// attention.last_affine.affine.*.
class ChannelContextStatisticsPooling : public Pooling {
 public:
  ChannelContextStatisticsPooling(int64_t input_dim, int64_t hidden_size);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t OutputDim() const override { return 2 * input_dim_; }

  ChannelContextAttention attention{nullptr};

 private:
  int64_t input_dim_;
};

// speaker-net's AttentiveStatisticsPooling (Okabe et al. 2018; spec §3.2, AttentionAlphaComponent
// with num_head 1, share True, affine_layers 2): one weight per frame shared by all channels,
// alpha = softmax_t(last_affine(relu(first_affine(x)))), first_affine Conv1d(D -> hidden, k=1,
// bias), last_affine Conv1d(hidden -> 1, k=1, bias); mu = sum_t alpha x, sigma = sqrt(clamp(
// sum_t alpha x^2 - mu^2, 1e-10)). Output [mu, sigma] (2D). Parameters D*h + h + h + 1.
// Named attention.first_affine.affine.*, attention.last_affine.affine.*.
class TwoLayerAttentionImpl : public torch::nn::Module {
 public:
  // first_affine: input_dim -> hidden (groups 1); last_affine: hidden -> output_dim with
  // `last_groups` groups. Both with bias, no BN; ReLU between.
  TwoLayerAttentionImpl(int64_t input_dim, int64_t hidden, int64_t output_dim, int64_t last_groups);
  // x: [B, input_dim, T] -> scores [B, output_dim, T] (before the softmax).
  torch::Tensor Scores(const torch::Tensor& x);

  Conv1dBnReluLayer first_affine{nullptr};
  Conv1dBnReluLayer last_affine{nullptr};
};
TORCH_MODULE(TwoLayerAttention);

class AttentiveStatisticsPooling : public Pooling {
 public:
  AttentiveStatisticsPooling(int64_t input_dim, int64_t hidden_size);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t OutputDim() const override { return 2 * input_dim_; }

  TwoLayerAttention attention{nullptr};

 private:
  int64_t input_dim_;
};

// speaker-net's MultiResolutionMultiHeadAttentionPooling (Wang et al., ICASSP 2020; spec §3.2):
// H heads that each see ALL D channels (split_input False, share True, affine_layers 2, bias),
// with fixed per-head temperatures t_h = max(1, (h // 2) * 5) (buffer attention.t, int64
// [1, H, 1, 1], as speaker-net registers it):
//   scores = last_affine(relu(first_affine(x)))   first: D -> H*hidden; last: H*hidden -> H,
//                                                  groups H (head h reads its own hidden units)
//   alpha_h = softmax_t(scores_h / t_h)
//   mu_h = sum_t alpha_h x (D values), sigma_h = sqrt(clamp(sum_t alpha_h x^2 - mu_h^2, 1e-10))
// Output [mu_0..mu_{H-1}, sigma_0..sigma_{H-1}] (2*H*D). Parameters D*H*h + H*h + H*h + H.
class MultiResolutionAttentionPooling : public Pooling {
 public:
  MultiResolutionAttentionPooling(int64_t input_dim, int64_t num_head, int64_t hidden_size);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t OutputDim() const override { return 2 * num_head_ * input_dim_; }

  TwoLayerAttention attention{nullptr};

 private:
  int64_t input_dim_;
  int64_t num_head_;
  torch::Tensor temperature_;  // attention.t
};

// Builds the pooling named by config.type for inputs of `input_dim` channels.
std::shared_ptr<Pooling> CreatePooling(const PoolingConfig& config, int64_t input_dim);

}  // namespace speakernet
