// Small measuring helpers shared by the benchmark programs (bench/*_bench.cpp).
#pragma once

#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace speakernet::bench {

// The clock used for "fraction of fp32 peak": SPEAKERNET_PEAK_GHZ when set (a VM's /proc/cpuinfo
// shows the base clock, which measured rates can exceed under boost), else cpuinfo's "cpu MHz".
inline double CpuMhz() {
  if (const char* ghz = std::getenv("SPEAKERNET_PEAK_GHZ")) return 1000.0 * std::atof(ghz);
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu MHz", 0) == 0) return std::stod(line.substr(line.find(':') + 1));
  }
  return 0;
}

// CPU time of the whole process (all threads, user + system), in seconds.
inline double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace speakernet::bench
