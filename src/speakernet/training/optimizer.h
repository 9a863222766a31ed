// Optimizers of speaker-net's recipes (spec §5.2): SGD (coupled L2, Nesterov), Adam (coupled L2),
// AdamW (decoupled weight decay p <- p·(1 − lr·wd)) and RAdam (rectified Adam, coupled L2). Each
// follows torch.optim's update of the same name; all save and load their state through
// torch::save/torch::load, so a checkpointed run resumes them exactly.
#pragma once

#include <torch/optim/adam.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <string>
#include <vector>

namespace speakernet {

struct OptimizerConfig {
  std::string name = "sgd";  // sgd | adam | adamw | radam
  double lr = 0.02;
  double momentum = 0.9;  // sgd
  bool nesterov = true;   // sgd
  double weight_decay = 1e-4;
  double beta1 = 0.9, beta2 = 0.999;  // adam, adamw, radam
  double eps = 1e-8;                  // adam, adamw, radam

  template <class V>
  void Fields(V& v) {
    v("name", name, "sgd | adam | adamw | radam");
    v("lr", lr, "base learning rate");
    v("momentum", momentum, "sgd momentum");
    v("nesterov", nesterov, "sgd Nesterov momentum");
    v("weight_decay", weight_decay,
      "weight decay on all parameters: coupled L2 (sgd, adam, radam), decoupled (adamw)");
    v("beta1", beta1, "adam/adamw/radam beta1");
    v("beta2", beta2, "adam/adamw/radam beta2");
    v("eps", eps, "adam/adamw/radam denominator epsilon");
  }
  void Validate() const;
};

// torch.optim.RAdam (PyTorch 1.13, coupled weight decay): Adam's moments with the variance
// rectification of Liu et al.; plain bias-corrected momentum while rho_t <= 5. Shares Adam's
// options and per-parameter state (step, exp_avg, exp_avg_sq), hence Adam's serialisation.
class RAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(const OptimizerConfig& config,
                                                       std::vector<torch::Tensor> params);

// Sets the lr of every parameter group (the trainer's schedule sets it before every step).
void SetLearningRate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace speakernet
