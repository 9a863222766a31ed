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

// Builds the pooling named by config.type for inputs of `input_dim` channels.
std::shared_ptr<Pooling> CreatePooling(const PoolingConfig& config, int64_t input_dim);

}  // namespace speakernet
