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

// Builds the pooling named by config.type for inputs of `input_dim` channels.
std::shared_ptr<Pooling> CreatePooling(const PoolingConfig& config, int64_t input_dim);

}  // namespace speakernet
