// Helpers for tests only: scratch directories and running the Debian Python (torch/torchaudio)
// to produce independent reference values. Never used at run time.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "speakernet/common/error.h"

namespace speakernet::test {

// A fresh, empty directory under the system temp dir, removed by the destructor.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              (name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

inline std::string SourcePath(const std::string& relative) {
  return std::string(SPEAKERNET_SOURCE_DIR) + "/" + relative;
}

// The reference-value interpreter: $SN_TEST_PYTHON when set (a machine whose torch/numpy live in
// a virtualenv), else SPEAKERNET_PYTHON (/usr/bin/python3, Debian's python3-torch).
inline std::string TestPython() {
  const char* env = std::getenv("SN_TEST_PYTHON");
  return env != nullptr && *env != '\0' ? env : SPEAKERNET_PYTHON;
}

// Runs `TestPython() <script> <args...>` and returns its stdout; throws on failure.
inline std::string RunPython(const std::string& script, const std::vector<std::string>& args = {}) {
  std::string cmd = TestPython() + " '" + script + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  SN_CHECK(pipe != nullptr, "cannot run {}", cmd);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  SN_CHECK(status == 0, "'{}' failed with status {}; output:\n{}", cmd, status, out);
  return out;
}

// The message of the speakernet::Error that f() throws, or "<no error>".
template <class F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

// Raw little-endian float32 files are how reference scripts hand arrays back.
inline std::vector<float> ReadRawFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  SN_CHECK(in.good(), "cannot open {}", path);
  const auto bytes = static_cast<size_t>(in.tellg());
  std::vector<float> data(bytes / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(bytes));
  return data;
}

inline void WriteRawFloats(const std::string& path, const std::vector<float>& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()),
            static_cast<std::streamsize>(data.size() * sizeof(float)));
  SN_CHECK(out.good(), "cannot write {}", path);
}

}  // namespace speakernet::test
