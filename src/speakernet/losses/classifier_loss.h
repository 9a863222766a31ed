// The classifier loss on top of the embeddings, as the trainer sees it: margin softmax
// (margin_softmax.h) or plain softmax (softmax_loss.h), chosen by `loss.method`
// (loss_factory.h). Parameters are registered by the concrete loss, so a state dict under the
// "loss." prefix has speaker-net's names (loss.weight; loss.affine.weight / loss.affine.bias).
#pragma once

#include <torch/torch.h>

namespace speakernet {

struct ClassifierOutput {
  torch::Tensor loss;    // scalar, mean over the batch
  torch::Tensor logits;  // [B, num_targets] without any margin (argmax = prediction)
};

class ClassifierLossImpl : public torch::nn::Module {
 public:
  using Output = ClassifierOutput;

  // emb: [B, input_dim]; labels: [B] int64 class indices. Computed in fp32, also under
  // autocast. Training mode applies the loss's margins (if any); eval mode gives the plain
  // cross entropy of the logits.
  virtual Output forward(const torch::Tensor& emb, const torch::Tensor& labels) = 0;

  // Margin annealing (margin_scheduler.h): lambda before each training step. Losses without a
  // margin ignore it.
  virtual void SetLambda(double /*lambda*/) {}
  // The fraction of the full margin in use, 1 / (1 + lambda); 0 for losses without a margin.
  virtual double MarginFraction() const { return 0.0; }
};

}  // namespace speakernet
