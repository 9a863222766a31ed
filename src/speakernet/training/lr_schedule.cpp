#include "speakernet/training/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "speakernet/common/error.h"

namespace speakernet {

void LrScheduleConfig::Validate() const {
  SN_CHECK(name == "multistep" || name == "exponential" || name == "constant",
           "lr_schedule.name must be multistep, exponential or constant, got '{}'", name);
  SN_CHECK(gamma > 0, "lr_schedule.gamma must be > 0, got {}", gamma);
  SN_CHECK(final_lr > 0, "lr_schedule.final_lr must be > 0, got {}", final_lr);
  SN_CHECK(std::is_sorted(milestones.begin(), milestones.end()),
           "lr_schedule.milestones must be increasing");
  ParseEpochPosition(warmup_epoch, 1);
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
  double lr = base_lr;
  if (config.name == "multistep") {
    const auto passed = std::upper_bound(config.milestones.begin(), config.milestones.end(), epoch) -
                        config.milestones.begin();
    lr = base_lr * std::pow(config.gamma, static_cast<double>(passed));
  } else if (config.name == "exponential") {
    const double total = static_cast<double>(std::max<int64_t>(1, total_epochs * iters_per_epoch));
    lr = base_lr * std::exp(global_iter / total * std::log(config.final_lr / base_lr));
  }
  const int64_t warmup = ParseEpochPosition(config.warmup_epoch, iters_per_epoch);
  if (warmup > 0 && global_iter < warmup) {
    lr *= static_cast<double>(global_iter + 1) / static_cast<double>(warmup);
  }
  return lr;
}

}  // namespace speakernet
