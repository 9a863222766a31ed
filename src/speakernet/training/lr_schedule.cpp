#include "speakernet/training/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {

const std::vector<std::string> kScheduleNames = {
    "multistep", "iter_multistep", "step",     "exponential", "cyclic",
    "onecycle",  "reduce_on_plateau", "constant"};

void ValidateSubConfigs(const LrScheduleConfig& c) {
  SN_CHECK(c.step.step_size > 0, "lr_schedule.step.step_size must be > 0, got {}",
           c.step.step_size);
  SN_CHECK(c.step.gamma > 0, "lr_schedule.step.gamma must be > 0, got {}", c.step.gamma);
  const auto& cy = c.cyclic;
  SN_CHECK(cy.base_lr >= 0 && cy.max_lr >= 0, "lr_schedule.cyclic.base_lr/max_lr must be >= 0");
  SN_CHECK(cy.step_size_up > 0, "lr_schedule.cyclic.step_size_up must be > 0, got {}",
           cy.step_size_up);
  SN_CHECK(cy.step_size_down >= 0, "lr_schedule.cyclic.step_size_down must be >= 0");
  SN_CHECK(cy.mode == "triangular" || cy.mode == "triangular2" || cy.mode == "exp_range",
           "lr_schedule.cyclic.mode must be triangular, triangular2 or exp_range, got '{}'",
           cy.mode);
  const auto& oc = c.onecycle;
  SN_CHECK(oc.max_lr >= 0, "lr_schedule.onecycle.max_lr must be >= 0");
  SN_CHECK(oc.pct_start > 0 && oc.pct_start < 1, "lr_schedule.onecycle.pct_start must be in (0, 1)");
  SN_CHECK(oc.div_factor > 0 && oc.final_div_factor > 0,
           "lr_schedule.onecycle.div_factor/final_div_factor must be > 0");
  SN_CHECK(oc.anneal == "cos" || oc.anneal == "linear",
           "lr_schedule.onecycle.anneal must be cos or linear, got '{}'", oc.anneal);
  const auto& p = c.reduce_on_plateau;
  SN_CHECK(p.metric == "valid_loss" || p.metric == "valid_accuracy",
           "lr_schedule.reduce_on_plateau.metric must be valid_loss or valid_accuracy, got '{}'",
           p.metric);
  SN_CHECK(p.factor > 0 && p.factor < 1, "lr_schedule.reduce_on_plateau.factor must be in (0, 1)");
  SN_CHECK(p.patience >= 0 && p.cooldown >= 0,
           "lr_schedule.reduce_on_plateau.patience/cooldown must be >= 0");
  SN_CHECK(p.threshold_mode == "rel" || p.threshold_mode == "abs",
           "lr_schedule.reduce_on_plateau.threshold_mode must be rel or abs, got '{}'",
           p.threshold_mode);
  SN_CHECK(p.min_lr >= 0, "lr_schedule.reduce_on_plateau.min_lr must be >= 0");
}

// torch CyclicLR.get_lr() at last_epoch = t.
double CyclicLr(const CyclicLrConfig& c, double max_lr, int64_t t) {
  const double up = static_cast<double>(c.step_size_up);
  const double down = static_cast<double>(c.step_size_down > 0 ? c.step_size_down : c.step_size_up);
  const double total = up + down, step_ratio = up / total;
  const double tt = static_cast<double>(t);
  const double cycle = std::floor(1 + tt / total);
  const double x = 1. + tt / total - cycle;
  const double scale = x <= step_ratio ? x / step_ratio : (x - 1) / (step_ratio - 1);
  const double height = (max_lr - c.base_lr) * scale;
  double fn = 1.0;  // triangular
  if (c.mode == "triangular2") fn = 1 / std::pow(2., cycle - 1);
  if (c.mode == "exp_range") fn = std::pow(c.gamma, tt);
  return c.base_lr + height * fn;
}

// torch OneCycleLR.get_lr() (two phases) at last_epoch = t of total_steps.
double OneCycleLr(const OneCycleLrConfig& c, double max_lr, int64_t t, int64_t total_steps) {
  const double initial = max_lr / c.div_factor, min_lr = initial / c.final_div_factor;
  const double end1 = c.pct_start * static_cast<double>(total_steps) - 1;
  const double end2 = static_cast<double>(total_steps) - 1;
  const double step = static_cast<double>(t);
  double start_lr = initial, end_lr = max_lr, pct = 0;
  if (step <= end1) {
    pct = step / end1;
  } else {
    start_lr = max_lr;
    end_lr = min_lr;
    pct = (step - end1) / (end2 - end1);
  }
  if (c.anneal == "linear") return (end_lr - start_lr) * pct + start_lr;
  return end_lr + (start_lr - end_lr) / 2.0 * (std::cos(M_PI * pct) + 1);
}

int64_t CountPassed(const std::vector<int64_t>& milestones, int64_t position) {
  return std::upper_bound(milestones.begin(), milestones.end(), position) - milestones.begin();
}

}  // namespace

void LrScheduleConfig::Validate() const {
  SN_CHECK(std::find(kScheduleNames.begin(), kScheduleNames.end(), name) != kScheduleNames.end(),
           "lr_schedule.name must be multistep, iter_multistep, step, exponential, cyclic, "
           "onecycle, reduce_on_plateau or constant, got '{}'",
           name);
  SN_CHECK(gamma > 0, "lr_schedule.gamma must be > 0, got {}", gamma);
  SN_CHECK(final_lr > 0, "lr_schedule.final_lr must be > 0, got {}", final_lr);
  SN_CHECK(std::is_sorted(milestones.begin(), milestones.end()),
           "lr_schedule.milestones must be increasing");
  ParseEpochPosition(warmup_epoch, 1);
  ValidateSubConfigs(*this);
}

int64_t ParseEpochPosition(const std::string& text, int64_t iters_per_epoch) {
  const auto dot = text.find('.');
  try {
    size_t used = 0;
    const int64_t epochs = std::stoll(text.substr(0, dot), &used);
    SN_CHECK(used == (dot == std::string::npos ? text.size() : dot) && epochs >= 0, "bad");
    int64_t iters = 0;
    if (dot != std::string::npos) {
      const std::string rest = text.substr(dot + 1);
      iters = std::stoll(rest, &used);
      SN_CHECK(used == rest.size() && iters >= 0, "bad");
    }
    return epochs * iters_per_epoch + iters;
  } catch (const std::exception&) {
    Fail("epoch position '" + text + "' must look like \"E\" or \"E.I\" (non-negative integers)");
  }
}

double LearningRate(const LrScheduleConfig& config, double base_lr, int64_t global_iter,
                    int64_t iters_per_epoch, int64_t total_epochs) {
  SN_CHECK(iters_per_epoch > 0, "iterations per epoch must be > 0");
  const int64_t epoch = global_iter / iters_per_epoch;
  const int64_t total_iters = std::max<int64_t>(1, total_epochs * iters_per_epoch);
  double lr = base_lr;
  const std::string& name = config.name;
  if (name == "multistep") {
    lr = base_lr * std::pow(config.gamma, static_cast<double>(CountPassed(config.milestones, epoch)));
  } else if (name == "iter_multistep") {
    lr = base_lr *
         std::pow(config.gamma, static_cast<double>(CountPassed(config.milestones, global_iter)));
  } else if (name == "step") {
    lr = base_lr * std::pow(config.step.gamma, static_cast<double>(epoch / config.step.step_size));
  } else if (name == "exponential") {
    lr = base_lr * std::exp(static_cast<double>(global_iter) / static_cast<double>(total_iters) *
                            std::log(config.final_lr / base_lr));
  } else if (name == "cyclic") {
    lr = CyclicLr(config.cyclic, config.cyclic.max_lr > 0 ? config.cyclic.max_lr : base_lr,
                  global_iter);
  } else if (name == "onecycle") {
    lr = OneCycleLr(config.onecycle, config.onecycle.max_lr > 0 ? config.onecycle.max_lr : base_lr,
                    global_iter, total_iters);
  }
  const int64_t warmup = ParseEpochPosition(config.warmup_epoch, iters_per_epoch);
  if (warmup > 0 && global_iter < warmup) {
    lr *= static_cast<double>(global_iter + 1) / static_cast<double>(warmup);
  }
  return lr;
}

ReduceOnPlateau::ReduceOnPlateau(ReduceOnPlateauConfig config, double initial_lr)
    : config_(std::move(config)),
      lr_(initial_lr),
      best_(config_.metric == "valid_loss" ? std::numeric_limits<double>::infinity()
                                           : -std::numeric_limits<double>::infinity()) {}

bool ReduceOnPlateau::IsBetter(double value) const {
  const bool min_mode = config_.metric == "valid_loss";
  const double t = config_.threshold;
  if (config_.threshold_mode == "rel") {
    return min_mode ? value < best_ * (1 - t) : value > best_ * (t + 1);
  }
  return min_mode ? value < best_ - t : value > best_ + t;
}

void ReduceOnPlateau::Step(double valid_loss, double valid_accuracy) {
  const double value = config_.metric == "valid_loss" ? valid_loss : valid_accuracy;
  ++steps_;
  if (IsBetter(value)) {
    best_ = value;
    num_bad_ = 0;
  } else {
    ++num_bad_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_ = 0;
  }
  if (num_bad_ > config_.patience) {
    const double reduced = std::max(lr_ * config_.factor, config_.min_lr);
    if (lr_ - reduced > config_.eps) lr_ = reduced;
    cooldown_counter_ = config_.cooldown;
    num_bad_ = 0;
  }
}

std::vector<double> ReduceOnPlateau::State() const {
  return {lr_, best_, static_cast<double>(num_bad_), static_cast<double>(cooldown_counter_),
          static_cast<double>(steps_)};
}

void ReduceOnPlateau::LoadState(const std::vector<double>& state) {
  SN_CHECK(state.size() == 5, "reduce_on_plateau state must have 5 values, got {}", state.size());
  lr_ = state[0];
  best_ = state[1];
  num_bad_ = static_cast<int64_t>(state[2]);
  cooldown_counter_ = static_cast<int64_t>(state[3]);
  steps_ = static_cast<int64_t>(state[4]);
}

}  // namespace speakernet
