// WeSpeaker's temporal poolings (pooling_layers.py; model.*.pooling, see wespeaker_config.h):
// [B, D, T] -> [B, OutputDim()]. Variances over time are unbiased (torch.var's default), as
// WeSpeaker computes them; the epsilons are those of its current code (1e-7).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "speakernet/models/wespeaker_config.h"

namespace speakernet {

class WeSpeakerPooling : public torch::nn::Module {
 public:
  // x: [B, D, T] -> [B, OutputDim()].
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual int64_t OutputDim() const = 0;
};

// TAP [mean_t x], TSDP [sqrt(var_t x + 1e-7)], TSTP [mean_t x, sqrt(var_t x + 1e-7)].
// No parameters.
class TemporalStatsPooling : public WeSpeakerPooling {
 public:
  TemporalStatsPooling(int64_t input_dim, bool mean, bool std);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t OutputDim() const override { return input_dim_ * ((mean_ ? 1 : 0) + (std_ ? 1 : 0)); }
  bool has_mean() const { return mean_; }
  bool has_std() const { return std_; }

 private:
  int64_t input_dim_;
  bool mean_, std_;
};

// ASTP: alpha = softmax_t(linear2(tanh(linear1(x_in)))) [B, D, T], one weight per channel and
// frame; x_in = x, or [x, mean_t x, sqrt(var_t x + 1e-7)] with global_context_att.
// mu = sum_t alpha x, sigma = sqrt(clamp(sum_t alpha x^2 - mu^2, 1e-7)); output [mu, sigma].
// linear1: Conv1d(D or 3D -> bottleneck, k 1), linear2: Conv1d(bottleneck -> D, k 1), with bias.
class AttentiveStatsPooling : public WeSpeakerPooling {
 public:
  AttentiveStatsPooling(int64_t input_dim, int64_t bottleneck_dim, bool global_context_att);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t OutputDim() const override { return 2 * input_dim_; }
  bool global_context_att() const { return global_context_att_; }

  torch::nn::Conv1d linear1{nullptr};
  torch::nn::Conv1d linear2{nullptr};

 private:
  int64_t input_dim_;
  bool global_context_att_;
};

std::shared_ptr<WeSpeakerPooling> CreateWeSpeakerPooling(const WeSpeakerPoolingConfig& config,
                                                         int64_t input_dim);

}  // namespace speakernet
