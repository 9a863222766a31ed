#include "speakernet/common/atomic_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "speakernet/common/error.h"

namespace speakernet {

namespace fs = std::filesystem;

void WriteFileAtomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  const fs::path target(path);
  if (target.has_parent_path()) MakeDirs(target.parent_path().string());
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    write(tmp);
    std::error_code ec;
    fs::rename(tmp, target, ec);
    SN_CHECK(!ec, "cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void WriteTextAtomically(const std::string& path, const std::string& content) {
  WriteFileAtomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    SN_CHECK(out.good(), "cannot write '{}'", tmp);
    out << content;
    out.close();
    SN_CHECK(out.good(), "error while writing '{}'", tmp);
  });
}

void MakeDirs(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  SN_CHECK(!ec, "cannot create directory '{}': {}", dir, ec.message());
}

}  // namespace speakernet
