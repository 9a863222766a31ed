#include "speakernet/losses/margin_scheduler.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {

int64_t ParseCount(const std::string& text, const std::string& whole) {
  SN_CHECK(
      !text.empty() && text.size() <= 15 &&
          std::all_of(text.begin(), text.end(), [](unsigned char ch) { return std::isdigit(ch); }),
      "margin_schedule.increase_start_epoch must be \"E\" or \"E.I\" (non-negative integers), "
      "got '{}'",
      whole);
  return std::stoll(text);
}

struct StartPoint {
  int64_t epoch;
  int64_t iter;
};

StartPoint ParseStart(const std::string& text) {
  const auto dot = text.find('.');
  if (dot == std::string::npos) return {ParseCount(text, text), 0};
  return {ParseCount(text.substr(0, dot), text), ParseCount(text.substr(dot + 1), text)};
}

}  // namespace

void MarginScheduleConfig::Validate() const {
  ParseStart(increase_start_epoch);
  SN_CHECK(lambda_0 >= 0, "margin_schedule.lambda_0 must be >= 0, got {}", lambda_0);
  SN_CHECK(lambda_b >= 0, "margin_schedule.lambda_b must be >= 0, got {}", lambda_b);
  SN_CHECK(alpha >= 0, "margin_schedule.alpha must be >= 0, got {}", alpha);
  SN_CHECK(gamma >= 0, "margin_schedule.gamma must be >= 0, got {}", gamma);
}

int64_t MarginStartPosition(const MarginScheduleConfig& config, int64_t iters_per_epoch) {
  const auto start = ParseStart(config.increase_start_epoch);
  return start.epoch * iters_per_epoch + start.iter;
}

double MarginLambda(const MarginScheduleConfig& config, int64_t epoch, int64_t iter,
                    int64_t iters_per_epoch) {
  if (!config.enabled) return 0.0;
  SN_CHECK(iters_per_epoch > 0, "MarginLambda: iters_per_epoch must be > 0, got {}",
           iters_per_epoch);
  const int64_t pos = epoch * iters_per_epoch + iter + 1;
  const int64_t p0 = MarginStartPosition(config, iters_per_epoch);
  if (pos < p0) return config.lambda_b;
  const double decayed =
      config.lambda_b * std::pow(1.0 + config.gamma * static_cast<double>(pos - p0), -config.alpha);
  return std::max(config.lambda_0, decayed);
}

}  // namespace speakernet
