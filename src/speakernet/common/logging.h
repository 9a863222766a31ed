// Logging goes through spdlog to stderr; stdout is kept for command results.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace speakernet {

// level: trace|debug|info|warn|error. Safe to call more than once.
void InitLogging(const std::string& level = "info");

// For the public API's entry points: when the program has not set spdlog's default logger (it is
// still spdlog's own, which prints to stdout), the library's messages go to stderr at level warn,
// so stdout stays the program's. A program that set its own default logger keeps it.
void InitLibraryLogging();

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
