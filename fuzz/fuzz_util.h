// Shared by the libFuzzer targets (fuzz/<name>_fuzzer.cpp). The readers under test take paths,
// so every input is written to a scratch file of this process (on /dev/shm when it exists) and
// read back through the public API. A clean rejection is a speakernet::Error; anything else
// (another exception, a crash, a sanitizer report, a leak, a huge allocation) is a finding.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "speakernet/common/error.h"

namespace speakernet::fuzz {

inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    const std::string root = std::filesystem::is_directory("/dev/shm")
                                 ? std::string("/dev/shm")
                                 : std::filesystem::temp_directory_path().string();
    std::string d = root + "/speakernet_fuzz_" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    static const std::string to_remove = d;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(to_remove, ec);
    });
    return d;
  }();
  return dir;
}

// Writes bytes to ScratchDir()/name (plain write: speed matters here, durability does not).
inline std::string WriteInput(const std::string& name, const void* data, size_t size) {
  const std::string path = ScratchDir() + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) std::abort();
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n <= 0) std::abort();
    p += n;
    size -= static_cast<size_t>(n);
  }
  ::close(fd);
  return path;
}

inline void RemoveInput(const std::string& name) {
  std::error_code ec;
  std::filesystem::remove(ScratchDir() + "/" + name, ec);
}

// Splits an input into sections at lines "@@" (so one input can hold several files).
inline std::vector<std::string_view> Sections(const uint8_t* data, size_t size) {
  std::vector<std::string_view> out;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (true) {
    const size_t at = all.find("\n@@\n", start);
    if (at == std::string_view::npos) {
      out.push_back(all.substr(start));
      return out;
    }
    out.push_back(all.substr(start, at + 1 - start));
    start = at + 4;
  }
}

// Runs `fn`; a speakernet::Error is the expected way to reject bad input.
template <class F>
void Clean(F&& fn) {
  try {
    fn();
  } catch (const Error&) {
  }
}

}  // namespace speakernet::fuzz
