#include "speakernet/common/progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>

namespace speakernet {

std::string FormatDuration(double seconds) {
  if (seconds < 0) seconds = 0;
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{:.1f}s", seconds);
  if (s < 3600) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
}

ProgressMeter::ProgressMeter(std::string task, int64_t total, std::string unit, double interval)
    : task_(std::move(task)), unit_(std::move(unit)), total_(total), interval_(interval),
      start_(std::chrono::steady_clock::now()), last_report_(start_) {}

double ProgressMeter::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressMeter::Advance(int64_t n) {
  done_ += n;
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_report_).count() >= interval_) {
    last_report_ = now;
    Report();
  }
}

void ProgressMeter::Finish() { Report(); }

void ProgressMeter::Report() {
  const double elapsed = ElapsedSeconds();
  const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  if (total_ > 0) {
    const double eta = rate > 0 ? (total_ - done_) / rate : 0.0;
    spdlog::info("{}: {}/{} {} ({:.1f}%), {:.1f} {}/s, elapsed {}, ETA {}", task_, done_, total_,
                 unit_, 100.0 * done_ / total_, rate, unit_, FormatDuration(elapsed),
                 FormatDuration(eta));
  } else {
    spdlog::info("{}: {} {}, {:.1f} {}/s, elapsed {}", task_, done_, unit_, rate, unit_,
                 FormatDuration(elapsed));
  }
}

}  // namespace speakernet
