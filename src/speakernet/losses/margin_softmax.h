// Margin-based softmax classifier loss (speaker-net's MarginSoftmaxLoss): additive (AM) or
// additive angular (AAM) margin on normalised embeddings and class centres, optional sub-centres
// (K), inter-top-k penalty and margin annealing (lambda, see margin_scheduler.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "speakernet/losses/classifier_loss.h"

namespace speakernet {

struct MarginSoftmaxConfig {
  std::string method = "am";  // am: phi = cos - m; aam: phi = cos(theta + m)
                              // (loss_factory.h adds softmax: no margin)
  double m = 0.2;             // margin
  double s = 35;              // scale
  int64_t K = 1;              // sub-centres per class
  int64_t topk = 5;           // inter-top-k: how many non-target classes are penalised
  double topk_m = 0.0;        // inter-top-k margin; 0 = off
  bool easy_margin = false;   // aam only: keep cos where cos <= 0

  template <class V>
  void Fields(V& v) {
    v("method", method, "am | aam (margin softmax) | softmax (plain, see label_smoothing)");
    v("m", m, "margin");
    v("s", s, "scale");
    v("K", K, "sub-centres per class");
    v("topk", topk, "number of non-target classes given the inter-top-k penalty");
    v("topk_m", topk_m, "inter-top-k margin (0 = off)");
    v("easy_margin", easy_margin, "aam: no margin where cos <= 0");
  }
  void Validate() const;
};

class MarginSoftmaxImpl : public ClassifierLossImpl {
 public:
  MarginSoftmaxImpl(int64_t input_dim, int64_t num_targets, const MarginSoftmaxConfig& config);

  // emb: [B, input_dim] (any floating dtype; computed in fp32, also under autocast);
  // labels: [B] int64 class indices. Training mode applies the margins; eval mode gives the
  // plain cross entropy of s * cos. Output.logits = s * cos without margin.
  Output forward(const torch::Tensor& emb, const torch::Tensor& labels) override;

  // Margin annealing: phi <- phi / (1 + lambda) + lambda / (1 + lambda) * cos (likewise for the
  // top-k penalty). 0 = full margin.
  void SetLambda(double lambda) override;
  double Lambda() const { return lambda_; }
  double MarginFraction() const override { return 1.0 / (1.0 + lambda_); }

  int64_t NumTargets() const { return num_targets_; }
  const MarginSoftmaxConfig& config() const { return config_; }

  // Class centres [num_targets * K, input_dim, 1], row = class * K + k; init N(0, 0.01).
  torch::Tensor weight;

 private:
  MarginSoftmaxConfig config_;
  int64_t input_dim_;
  int64_t num_targets_;
  double lambda_ = 0.0;
};
TORCH_MODULE(MarginSoftmax);

}  // namespace speakernet
