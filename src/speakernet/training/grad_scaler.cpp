#include "speakernet/training/grad_scaler.h"

#include "speakernet/common/error.h"

namespace speakernet {

GradScaler::GradScaler(bool enabled, double init_scale, double growth_factor,
                       double backoff_factor, int64_t growth_interval)
    : enabled_(enabled),
      scale_(init_scale),
      growth_factor_(growth_factor),
      backoff_factor_(backoff_factor),
      growth_interval_(growth_interval) {
  SN_CHECK(init_scale > 0 && growth_factor > 1 && backoff_factor > 0 && backoff_factor < 1 &&
               growth_interval > 0,
           "GradScaler: invalid settings (scale {}, growth {}, backoff {}, interval {})",
           init_scale, growth_factor, backoff_factor, growth_interval);
}

torch::Tensor GradScaler::Scale(const torch::Tensor& loss) const {
  if (!enabled_) return loss;
  // torch keeps the scale as a float32 tensor; products with a power of two are exact anyway.
  return loss * static_cast<float>(scale_);
}

bool GradScaler::Unscale(const std::vector<torch::Tensor>& params) {
  if (!enabled_ || unscaled_) return found_inf_;
  torch::NoGradGuard no_grad;
  // As torch: inv_scale = scale.double().reciprocal().float().
  const auto inv = static_cast<float>(1.0 / static_cast<double>(static_cast<float>(scale_)));
  // One flag on the gradients' device and one host sync per step (not one per parameter).
  torch::Tensor any_bad;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    auto g = p.mutable_grad();
    g.mul_(inv);
    const auto bad = torch::isfinite(g).all().logical_not();
    any_bad = any_bad.defined() ? any_bad.logical_or(bad.to(any_bad.device())) : bad;
  }
  const bool inf = any_bad.defined() && any_bad.item<bool>();
  found_inf_ = inf;
  unscaled_ = true;
  return inf;
}

bool GradScaler::Step(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& params) {
  if (!enabled_) {
    optimizer.step();
    return true;
  }
  Unscale(params);
  if (found_inf_) return false;
  optimizer.step();
  return true;
}

void GradScaler::Update() {
  if (!enabled_) return;
  SN_CHECK(unscaled_, "GradScaler::Update() without Unscale()/Step() in this iteration");
  if (found_inf_) {
    scale_ *= backoff_factor_;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == growth_interval_) {
    scale_ *= growth_factor_;
    growth_tracker_ = 0;
  }
  // torch's scale is float32: keep the same rounding.
  scale_ = static_cast<double>(static_cast<float>(scale_));
  unscaled_ = false;
  found_inf_ = false;
}

StateDict GradScaler::StateDictOf() const {
  auto f64 = [](double x) { return torch::tensor(x, torch::kFloat64); };
  return {{"scale", f64(scale_)},
          {"growth_factor", f64(growth_factor_)},
          {"backoff_factor", f64(backoff_factor_)},
          {"growth_interval", torch::tensor(growth_interval_, torch::kInt64)},
          {"_growth_tracker", torch::tensor(growth_tracker_, torch::kInt64)}};
}

void GradScaler::LoadStateDictFrom(const StateDict& state) {
  bool seen[5] = {false, false, false, false, false};
  for (const auto& [k, v] : state) {
    if (k == "scale") scale_ = v.item<double>(), seen[0] = true;
    if (k == "growth_factor") growth_factor_ = v.item<double>(), seen[1] = true;
    if (k == "backoff_factor") backoff_factor_ = v.item<double>(), seen[2] = true;
    if (k == "growth_interval") growth_interval_ = v.item<int64_t>(), seen[3] = true;
    if (k == "_growth_tracker") growth_tracker_ = v.item<int64_t>(), seen[4] = true;
  }
  for (bool s : seen) SN_CHECK(s, "GradScaler state is missing a key (scale, growth_factor, "
                                  "backoff_factor, growth_interval, _growth_tracker)");
  unscaled_ = found_inf_ = false;
}

}  // namespace speakernet
