// Logging goes through spdlog to stderr; stdout is kept for command results.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace speakernet {

// level: trace|debug|info|warn|error. Safe to call more than once.
void InitLogging(const std::string& level = "info");

}  // namespace speakernet
