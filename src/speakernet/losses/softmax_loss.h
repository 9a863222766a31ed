// Plain softmax classifier: Linear(input_dim, num_targets) + cross entropy with optional label
// smoothing (PyTorch semantics: (1 - eps) * CE + eps * mean_k(-log p_k)); speaker-net's
// SoftmaxLoss (spec §4.3), selected by `loss.method: softmax` (loss_factory.h). Parameters
// affine.weight [num_targets, input_dim] and affine.bias [num_targets], as speaker-net names them.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "speakernet/losses/classifier_loss.h"

namespace speakernet {

struct SoftmaxLossConfig {
  double label_smoothing = 0.0;

  template <class V>
  void Fields(V& v) {
    v("label_smoothing", label_smoothing, "label smoothing epsilon in [0, 1)");
  }
  void Validate() const;
};

class SoftmaxLossImpl : public ClassifierLossImpl {
 public:
  SoftmaxLossImpl(int64_t input_dim, int64_t num_targets, const SoftmaxLossConfig& config);

  // emb: [B, input_dim]; labels: [B] int64. Computed in fp32, also under autocast.
  // Output.loss is the mean (smoothed) cross entropy, in training and eval mode alike.
  Output forward(const torch::Tensor& emb, const torch::Tensor& labels) override;

  // weight [num_targets, input_dim] init N(0, 0.01), bias 0.
  torch::nn::Linear affine{nullptr};

 private:
  SoftmaxLossConfig config_;
  int64_t input_dim_;
};
TORCH_MODULE(SoftmaxLoss);

}  // namespace speakernet
