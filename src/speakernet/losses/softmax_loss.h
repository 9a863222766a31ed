// Plain softmax classifier: Linear(input_dim, num_targets) + cross entropy with optional label
// smoothing (PyTorch semantics: (1 - eps) * CE + eps * mean_k(-log p_k)).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace speakernet {

struct SoftmaxLossConfig {
  double label_smoothing = 0.0;

  template <class V>
  void Fields(V& v) {
    v("label_smoothing", label_smoothing, "label smoothing epsilon in [0, 1)");
  }
  void Validate() const;
};

class SoftmaxLossImpl : public torch::nn::Module {
 public:
  SoftmaxLossImpl(int64_t input_dim, int64_t num_targets, const SoftmaxLossConfig& config);

  struct Output {
    torch::Tensor loss;    // scalar, mean (smoothed) cross entropy
    torch::Tensor logits;  // [B, num_targets]
  };

  // emb: [B, input_dim]; labels: [B] int64. Computed in fp32, also under autocast.
  Output forward(const torch::Tensor& emb, const torch::Tensor& labels);

  // weight [num_targets, input_dim] init N(0, 0.01), bias 0.
  torch::nn::Linear affine{nullptr};

 private:
  SoftmaxLossConfig config_;
  int64_t input_dim_;
};
TORCH_MODULE(SoftmaxLoss);

}  // namespace speakernet
