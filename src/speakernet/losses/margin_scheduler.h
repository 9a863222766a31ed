// Margin annealing schedule (speaker-net's step_params.m): lambda for MarginSoftmax::SetLambda,
// called before every training step. Margin fraction = 1 / (1 + lambda).
#pragma once

#include <cstdint>
#include <string>

namespace speakernet {

struct MarginScheduleConfig {
  bool enabled = true;  // false: lambda = 0, full margin from the first step
  double lambda_0 = 0;
  double lambda_b = 1000;
  double alpha = 5;
  double gamma = 1e-4;
  // Start of the ramp: "E" (epoch E) or "E.I" (epoch E, iteration I, I an integer: "0.20191"
  // is iteration 20191 of epoch 0). Position P0 = E * iters_per_epoch + I.
  std::string increase_start_epoch = "1";

  template <class V>
  void Fields(V& v) {
    v("enabled", enabled, "anneal the margin (false = full margin from the start)");
    v("lambda_0", lambda_0, "final lambda (floor)");
    v("lambda_b", lambda_b, "lambda before the ramp starts");
    v("alpha", alpha, "decay exponent");
    v("gamma", gamma, "decay rate per iteration");
    v("increase_start_epoch", increase_start_epoch, "ramp start: \"E\" or \"E.I\"");
  }
  void Validate() const;
};

// P0 = E * iters_per_epoch + I from increase_start_epoch.
int64_t MarginStartPosition(const MarginScheduleConfig& config, int64_t iters_per_epoch);

// lambda for the step at (epoch, iter), both 0-based: pos = epoch * N + iter + 1;
// pos < P0: lambda_b; else max(lambda_0, lambda_b * (1 + gamma * (pos - P0))^-alpha).
// Disabled: 0.
double MarginLambda(const MarginScheduleConfig& config, int64_t epoch, int64_t iter,
                    int64_t iters_per_epoch);

}  // namespace speakernet
