#include "speakernet/common/logging.h"

#include <spdlog/sinks/basic_file_sink.h>

#include <algorithm>
#include <mutex>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace speakernet {

void InitLogging(const std::string& level) {
  static bool initialised = false;
  if (!initialised) {
    auto logger = spdlog::stderr_color_mt("speakernet");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
    initialised = true;
  }
  spdlog::set_level(spdlog::level::from_str(level));
}

void InitLibraryLogging() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (spdlog::default_logger()->name().empty()) InitLogging("warn");
  });
}

ScopedLogFile::ScopedLogFile(const std::string& path)
    : sink_(std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false)) {
  sink_->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  spdlog::default_logger()->sinks().push_back(sink_);
}

ScopedLogFile::~ScopedLogFile() {
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
}

}  // namespace speakernet
