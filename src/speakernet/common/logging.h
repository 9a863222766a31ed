// Logging goes through spdlog to stderr; stdout is kept for command results.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace speakernet {

// level: trace|debug|info|warn|error. Safe to call more than once.
void InitLogging(const std::string& level = "info");

// While alive, every log line is also appended to `path` (e.g. <exp>/train.log). Create it
// before starting threads that log.
class ScopedLogFile {
 public:
  explicit ScopedLogFile(const std::string& path);
  ~ScopedLogFile();
  ScopedLogFile(const ScopedLogFile&) = delete;
  ScopedLogFile& operator=(const ScopedLogFile&) = delete;

 private:
  spdlog::sink_ptr sink_;
};

}  // namespace speakernet
