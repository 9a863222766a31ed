// Periodic "done/total, rate, ETA" log lines for long work (extraction, feature writing, ...).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace speakernet {

class ProgressMeter {
 public:
  // `total` may be 0 when unknown (no percentage or ETA then).
  ProgressMeter(std::string task, int64_t total, std::string unit, double interval_seconds = 10.0);
  void Advance(int64_t n = 1);
  // Logs the final line (always printed).
  void Finish();
  double ElapsedSeconds() const;
  int64_t done() const { return done_; }

 private:
  void Report();

  std::string task_, unit_;
  int64_t total_ = 0, done_ = 0;
  double interval_;
  std::chrono::steady_clock::time_point start_, last_report_;
};

std::string FormatDuration(double seconds);

}  // namespace speakernet
