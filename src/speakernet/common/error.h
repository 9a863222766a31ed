// Errors that reach the user: every message names the file, line, utterance or key at fault.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace speakernet {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws speakernet::Error with a fmt-formatted message when `cond` is false.
#define SN_CHECK(cond, ...)                                          \
  do {                                                               \
    if (!(cond)) throw ::speakernet::Error(fmt::format(__VA_ARGS__)); \
  } while (0)

[[noreturn]] inline void Fail(const std::string& message) { throw Error(message); }

}  // namespace speakernet
