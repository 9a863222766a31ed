// Dynamic loss scaling for fp16 mixed precision with torch.cuda.amp.GradScaler semantics:
// the loss is multiplied by `scale` before backward; Unscale() divides the gradients by it (with
// torch's fp32 reciprocal of the fp64 scale) and records whether any gradient is inf/NaN; Step()
// skips the optimizer step in that case; Update() halves the scale after a skipped step and
// doubles it after growth_interval consecutive good steps. Device-agnostic (runs on CPU in tests).
#pragma once

#include <torch/torch.h>

#include <vector>

#include "speakernet/models/state_dict.h"

namespace speakernet {

class GradScaler {
 public:
  explicit GradScaler(bool enabled = true, double init_scale = 65536.0, double growth_factor = 2.0,
                      double backoff_factor = 0.5, int64_t growth_interval = 2000);

  bool enabled() const { return enabled_; }
  double scale() const { return scale_; }
  int64_t growth_tracker() const { return growth_tracker_; }
  bool found_inf() const { return found_inf_; }

  torch::Tensor Scale(const torch::Tensor& loss) const;
  // Divides every defined gradient by the scale; returns whether one held inf/NaN. Idempotent
  // within one step (a second call is a no-op), as torch's unscale_ is per optimizer step.
  bool Unscale(const std::vector<torch::Tensor>& params);
  // Steps the optimizer unless a non-finite gradient was found; returns whether it stepped.
  // Unscales first if Unscale() was not called.
  bool Step(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& params);
  // Adjusts the scale for the next iteration and resets the per-step state.
  void Update();

  // {"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"} as
  // float64/int64 scalars (torch's GradScaler.state_dict() keys).
  StateDict StateDictOf() const;
  void LoadStateDictFrom(const StateDict& state);

 private:
  bool enabled_;
  double scale_, growth_factor_, backoff_factor_;
  int64_t growth_interval_;
  int64_t growth_tracker_ = 0;
  bool unscaled_ = false, found_inf_ = false;
};

}  // namespace speakernet
