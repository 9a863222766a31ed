#include "speakernet/training/optimizer.h"

#include <c10/util/string_utils.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "speakernet/common/error.h"

namespace speakernet {

void OptimizerConfig::Validate() const {
  SN_CHECK(name == "sgd" || name == "adam" || name == "adamw" || name == "radam",
           "optimizer.name must be sgd, adam, adamw or radam, got '{}'", name);
  SN_CHECK(lr > 0, "optimizer.lr must be > 0, got {}", lr);
  SN_CHECK(momentum >= 0 && momentum < 1, "optimizer.momentum must be in [0, 1), got {}", momentum);
  SN_CHECK(weight_decay >= 0, "optimizer.weight_decay must be >= 0, got {}", weight_decay);
  SN_CHECK(!nesterov || name != "sgd" || momentum > 0, "optimizer.nesterov needs momentum > 0");
  SN_CHECK(beta1 >= 0 && beta1 < 1, "optimizer.beta1 must be in [0, 1), got {}", beta1);
  SN_CHECK(beta2 >= 0 && beta2 < 1, "optimizer.beta2 must be in [0, 1), got {}", beta2);
  SN_CHECK(eps >= 0, "optimizer.eps must be >= 0, got {}", eps);
}

// Mirrors torch/optim/radam.py (_single_tensor_radam, 1.13) operation by operation, so that
// float32 results agree with torch's to rounding.
torch::Tensor RAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = state_[c10::guts::to_string(p.unsafeGetTensorImpl())];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& st = static_cast<torch::optim::AdamParamState&>(*slot);
      st.step(st.step() + 1);
      const auto step = static_cast<double>(st.step());
      const double bias_correction1 = 1 - std::pow(beta1, step);
      const double bias_correction2 = 1 - std::pow(beta2, step);
      torch::Tensor grad = p.grad();
      if (o.weight_decay() != 0) grad = grad.add(p, o.weight_decay());
      st.exp_avg().mul_(beta1).add_(grad, 1 - beta1);
      st.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      const torch::Tensor corrected = st.exp_avg() / bias_correction1;
      const double rho_inf = 2 / (1 - beta2) - 1;
      const double rho_t = rho_inf - 2 * step * std::pow(beta2, step) / bias_correction2;
      if (rho_t > 5.0) {
        const double rect = std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                      ((rho_inf - 4) * (rho_inf - 2) * rho_t));
        // python's `float / tensor` is tensor.reciprocal() * float
        const torch::Tensor adaptive =
            st.exp_avg_sq().sqrt().add_(o.eps()).reciprocal() * std::sqrt(bias_correction2);
        p.add_(corrected * o.lr() * adaptive * rect, -1.0);
      } else {
        p.add_(corrected * o.lr(), -1.0);
      }
    }
  }
  return loss;
}

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(const OptimizerConfig& c,
                                                       std::vector<torch::Tensor> params) {
  const std::tuple<double, double> betas{c.beta1, c.beta2};
  if (c.name == "adam") {
    return std::make_unique<torch::optim::Adam>(
        params,
        torch::optim::AdamOptions(c.lr).betas(betas).eps(c.eps).weight_decay(c.weight_decay));
  }
  if (c.name == "radam") {
    return std::make_unique<RAdam>(
        params,
        torch::optim::AdamOptions(c.lr).betas(betas).eps(c.eps).weight_decay(c.weight_decay));
  }
  if (c.name == "adamw") {
    return std::make_unique<torch::optim::AdamW>(
        params,
        torch::optim::AdamWOptions(c.lr).betas(betas).eps(c.eps).weight_decay(c.weight_decay));
  }
  SN_CHECK(c.name == "sgd", "optimizer.name '{}' is not sgd, adam, adamw or radam", c.name);
  return std::make_unique<torch::optim::SGD>(
      params, torch::optim::SGDOptions(c.lr).momentum(c.momentum).nesterov(c.nesterov).weight_decay(
                  c.weight_decay));
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace speakernet
