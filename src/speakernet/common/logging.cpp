#include "speakernet/common/logging.h"

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

}  // namespace speakernet
