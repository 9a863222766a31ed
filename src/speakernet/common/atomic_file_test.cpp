#include "speakernet/common/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "speakernet/common/error.h"

namespace speakernet {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(AtomicFile, FailedWriteKeepsOldContentAndLeavesNoTemporary) {
  const fs::path dir = fs::temp_directory_path() / "sn_atomic_test";
  fs::remove_all(dir);
  const std::string path = (dir / "sub" / "out.txt").string();
  WriteTextAtomically(path, "first");
  EXPECT_EQ(ReadAll(path), "first");
  EXPECT_THROW(WriteFileAtomically(path,
                                   [](const std::string& tmp) {
                                     std::ofstream(tmp) << "partial";
                                     throw Error("disk full");
                                   }),
               Error);
  EXPECT_EQ(ReadAll(path), "first");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir / "sub")) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace speakernet
