// Learning-rate schedules. All but reduce_on_plateau are closed-form functions of the global
// iteration, so resuming needs nothing but the iteration count; reduce_on_plateau keeps a small
// state (ReduceOnPlateau) that the trainer saves in every checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace speakernet {

// torch.optim.lr_scheduler.StepLR stepped once per epoch: lr = base * gamma^floor(epoch/step_size).
struct StepLrConfig {
  int64_t step_size = 1;  // epochs
  double gamma = 0.9;

  template <class V>
  void Fields(V& v) {
    v("step_size", step_size, "step: epochs between decays");
    v("gamma", gamma, "step: decay factor");
  }
};

// torch.optim.lr_scheduler.CyclicLR stepped once per iteration (cycle_momentum off).
struct CyclicLrConfig {
  double base_lr = 1e-8;          // lower bound of the cycle
  double max_lr = 0;              // upper bound (0 = optimizer.lr)
  int64_t step_size_up = 2000;    // iterations from base_lr to max_lr
  int64_t step_size_down = 0;     // iterations back down (0 = step_size_up)
  std::string mode = "triangular2";  // triangular | triangular2 | exp_range
  double gamma = 1.0;             // exp_range: amplitude x gamma^iteration

  template <class V>
  void Fields(V& v) {
    v("base_lr", base_lr, "cyclic: lower learning-rate bound");
    v("max_lr", max_lr, "cyclic: upper learning-rate bound (0 = optimizer.lr)");
    v("step_size_up", step_size_up, "cyclic: iterations of the rising half-cycle");
    v("step_size_down", step_size_down, "cyclic: iterations of the falling half (0 = step_size_up)");
    v("mode", mode, "cyclic: triangular | triangular2 (amplitude halves every cycle) | exp_range");
    v("gamma", gamma, "cyclic exp_range: amplitude factor per iteration");
  }
};

// torch.optim.lr_scheduler.OneCycleLR over the whole run (epochs x iterations), two phases,
// stepped once per iteration (cycle_momentum off).
struct OneCycleLrConfig {
  double max_lr = 0;  // 0 = optimizer.lr
  double pct_start = 0.3;
  double div_factor = 25;
  double final_div_factor = 1e4;
  std::string anneal = "cos";  // cos | linear

  template <class V>
  void Fields(V& v) {
    v("max_lr", max_lr, "onecycle: peak learning rate (0 = optimizer.lr)");
    v("pct_start", pct_start, "onecycle: fraction of the run spent rising");
    v("div_factor", div_factor, "onecycle: initial lr = max_lr / div_factor");
    v("final_div_factor", final_div_factor, "onecycle: final lr = initial lr / final_div_factor");
    v("anneal", anneal, "onecycle: cos | linear");
  }
};

// torch.optim.lr_scheduler.ReduceLROnPlateau stepped once per validation (end of epoch and every
// trainer.valid_interval_iters) with the validation loss or accuracy.
struct ReduceOnPlateauConfig {
  std::string metric = "valid_loss";  // valid_loss (mode min) | valid_accuracy (mode max)
  double factor = 0.1;
  int64_t patience = 2;
  double threshold = 1e-4;
  std::string threshold_mode = "rel";  // rel | abs
  int64_t cooldown = 0;
  double min_lr = 1e-6;
  double eps = 1e-8;

  template <class V>
  void Fields(V& v) {
    v("metric", metric, "reduce_on_plateau: valid_loss (lower is better) | valid_accuracy");
    v("factor", factor, "reduce_on_plateau: lr multiplier on a plateau");
    v("patience", patience, "reduce_on_plateau: validations without improvement tolerated");
    v("threshold", threshold, "reduce_on_plateau: least improvement that counts");
    v("threshold_mode", threshold_mode, "reduce_on_plateau: rel | abs");
    v("cooldown", cooldown, "reduce_on_plateau: validations ignored after a reduction");
    v("min_lr", min_lr, "reduce_on_plateau: lower bound of the lr");
    v("eps", eps, "reduce_on_plateau: reductions smaller than this are skipped");
  }
};

struct LrScheduleConfig {
  // multistep | iter_multistep | step | exponential | cyclic | onecycle | reduce_on_plateau |
  // constant
  std::string name = "multistep";
  std::vector<int64_t> milestones{15, 25, 35};  // epochs (multistep) or iterations (iter_multistep)
  double gamma = 0.1;                          // multistep/iter_multistep decay factor
  double final_lr = 1e-5;                      // exponential: lr at the last iteration
  std::string warmup_epoch = "1";              // "E" or "E.I": linear warm-up length, "0" = off
  StepLrConfig step;
  CyclicLrConfig cyclic;
  OneCycleLrConfig onecycle;
  ReduceOnPlateauConfig reduce_on_plateau;

  template <class V>
  void Fields(V& v) {
    v("name", name,
      "multistep | iter_multistep | step | exponential | cyclic | onecycle | reduce_on_plateau | "
      "constant");
    v("milestones", milestones,
      "multistep: epochs, iter_multistep: global iterations at which the lr is multiplied by gamma");
    v("gamma", gamma, "multistep/iter_multistep decay factor");
    v("final_lr", final_lr, "exponential decay: lr reached at the end of training");
    v("warmup_epoch", warmup_epoch, "linear warm-up length as \"E\" or \"E.I\" (epochs.iters)");
    v("step", step);
    v("cyclic", cyclic);
    v("onecycle", onecycle);
    v("reduce_on_plateau", reduce_on_plateau);
  }
  void Validate() const;
};

// Parses "E" or "E.I" into E*iters_per_epoch + I (speaker-net's epoch-position format).
int64_t ParseEpochPosition(const std::string& text, int64_t iters_per_epoch);

// The lr used at 0-based global iteration g = epoch*N + iter (N = iterations per epoch), of a
// run of total_epochs epochs. Warm-up multiplies by min(1, (g+1)/W). Unlike speaker-net, there is
// no iteration that runs at the full base lr before warm-up, and decays take effect at the
// milestone itself. For reduce_on_plateau pass ReduceOnPlateau::lr() as base_lr.
double LearningRate(const LrScheduleConfig& config, double base_lr, int64_t global_iter,
                    int64_t iters_per_epoch, int64_t total_epochs);

// The state of reduce_on_plateau: torch's ReduceLROnPlateau.step(metric) rule on the lr it
// tracks (the base the warm-up then scales).
class ReduceOnPlateau {
 public:
  ReduceOnPlateau(ReduceOnPlateauConfig config, double initial_lr);
  // One validation result: loss or accuracy as config.metric says.
  void Step(double valid_loss, double valid_accuracy);
  double lr() const { return lr_; }
  // {lr, best, num_bad, cooldown_counter, steps}, for checkpoints.
  std::vector<double> State() const;
  void LoadState(const std::vector<double>& state);

 private:
  bool IsBetter(double value) const;

  ReduceOnPlateauConfig config_;
  double lr_;
  double best_;
  int64_t num_bad_ = 0;
  int64_t cooldown_counter_ = 0;
  int64_t steps_ = 0;
};

}  // namespace speakernet
