// Learning-rate schedules as closed-form functions of the global iteration, so that resuming
// needs nothing but the iteration count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace speakernet {

struct LrScheduleConfig {
  std::string name = "multistep";  // multistep | exponential | constant
  std::vector<int64_t> milestones{15, 25, 35};  // epochs (multistep)
  double gamma = 0.1;                          // multistep decay factor
  double final_lr = 1e-5;                      // exponential: lr at the last iteration
  std::string warmup_epoch = "1";              // "E" or "E.I": linear warm-up length, "0" = off

  template <class V>
  void Fields(V& v) {
    v("name", name, "multistep | exponential | constant");
    v("milestones", milestones, "epochs at which multistep multiplies the lr by gamma");
    v("gamma", gamma, "multistep decay factor");
    v("final_lr", final_lr, "exponential decay: lr reached at the end of training");
    v("warmup_epoch", warmup_epoch, "linear warm-up length as \"E\" or \"E.I\" (epochs.iters)");
  }
  void Validate() const;
};

// Parses "E" or "E.I" into E*iters_per_epoch + I (speaker-net's epoch-position format).
int64_t ParseEpochPosition(const std::string& text, int64_t iters_per_epoch);

// The lr used at 0-based global iteration g = epoch*N + iter (N = iterations per epoch).
// Warm-up multiplies by min(1, (g+1)/W). Unlike speaker-net, there is no iteration that runs
// at the full base lr before warm-up, and decays take effect at the milestone itself.
double LearningRate(const LrScheduleConfig& config, double base_lr, int64_t global_iter,
                    int64_t iters_per_epoch, int64_t total_epochs);

}  // namespace speakernet
