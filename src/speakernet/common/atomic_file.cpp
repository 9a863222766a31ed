#include "speakernet/common/atomic_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "speakernet/common/error.h"

namespace speakernet {

namespace fs = std::filesystem;

namespace {

WriteStepHook& Hook() {
  static WriteStepHook hook;
  return hook;
}

void Step(WriteStep step, const std::string& path) {
  if (Hook()) Hook()(step, path);
}

std::string ParentOf(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// Writes all of `data` to `fd`, retrying short writes and EINTR.
void WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    SN_CHECK(n > 0, "cannot write '{}': {} ({} of {} bytes written)", path,
             n < 0 ? std::strerror(errno) : "no progress", done, data.size());
    done += static_cast<size_t>(n);
  }
}

}  // namespace

const char* WriteStepName(WriteStep step) {
  switch (step) {
    case WriteStep::kWritten:
      return "written";
    case WriteStep::kSynced:
      return "synced";
    case WriteStep::kRenamed:
      return "renamed";
    case WriteStep::kDirSynced:
      return "dir-synced";
    case WriteStep::kDirRenamed:
      return "dir-renamed";
  }
  return "?";
}

void SetWriteStepHookForTesting(WriteStepHook hook) { Hook() = std::move(hook); }

void SyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SN_CHECK(fd >= 0, "cannot open '{}' to fsync it: {}", path, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems cannot fsync a directory (EINVAL); their renames are what they are.
  SN_CHECK(rc == 0 || (err == EINVAL && fs::is_directory(path)), "cannot fsync '{}': {}", path,
           std::strerror(err));
}

void SyncTree(const std::string& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() || entry.is_directory()) SyncPath(entry.path().string());
  }
  SyncPath(dir);
}

void WriteFileAtomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  const fs::path target(path);
  if (target.has_parent_path()) MakeDirs(target.parent_path().string());
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    write(tmp);
    Step(WriteStep::kWritten, path);
    SyncPath(tmp);
    Step(WriteStep::kSynced, path);
    std::error_code ec;
    fs::rename(tmp, target, ec);
    SN_CHECK(!ec, "cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  Step(WriteStep::kRenamed, path);
  SyncPath(ParentOf(path));
}

void WriteTextAtomically(const std::string& path, const std::string& content) {
  WriteFileAtomically(path, [&](const std::string& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    SN_CHECK(fd >= 0, "cannot write '{}' (creating '{}'): {}", path, tmp, std::strerror(errno));
    try {
      WriteAll(fd, content, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    SN_CHECK(::close(fd) == 0, "cannot write '{}': {}", path, std::strerror(errno));
  });
}

void ReplaceDirectoryAtomically(const std::string& tmp_dir, const std::string& final_dir) {
  SyncTree(tmp_dir);
  Step(WriteStep::kDirSynced, final_dir);
  if (!fs::exists(final_dir)) {
    std::error_code ec;
    fs::rename(tmp_dir, final_dir, ec);
    SN_CHECK(!ec, "cannot rename '{}' to '{}': {}", tmp_dir, final_dir, ec.message());
    Step(WriteStep::kDirRenamed, final_dir);
    SyncPath(ParentOf(final_dir));
    return;
  }
  // Atomic exchange: final_dir holds the new content, tmp_dir the old one, which goes afterwards.
  if (::renameat2(AT_FDCWD, tmp_dir.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) != 0) {
    // File systems without RENAME_EXCHANGE: move the old directory aside first. A crash in
    // between leaves it as <final>.old.<pid>, complete, for a person to rename back.
    SN_CHECK(errno == EINVAL || errno == ENOSYS, "cannot exchange '{}' and '{}': {}", tmp_dir,
             final_dir, std::strerror(errno));
    const std::string aside = final_dir + ".old." + std::to_string(::getpid());
    fs::remove_all(aside);
    fs::rename(final_dir, aside);
    fs::rename(tmp_dir, final_dir);
    Step(WriteStep::kDirRenamed, final_dir);
    SyncPath(ParentOf(final_dir));
    fs::remove_all(aside);
    return;
  }
  Step(WriteStep::kDirRenamed, final_dir);
  SyncPath(ParentOf(final_dir));
  fs::remove_all(tmp_dir);
}

void MakeDirs(const std::string& dir) {
  if (dir.empty() || fs::is_directory(dir)) return;
  MakeDirs(fs::path(dir).has_parent_path() && fs::path(dir).parent_path() != fs::path(dir)
               ? fs::path(dir).parent_path().string()
               : std::string());
  std::error_code ec;
  fs::create_directory(dir, ec);
  SN_CHECK(!ec, "cannot create directory '{}': {}", dir, ec.message());
  SyncPath(ParentOf(dir));
}

}  // namespace speakernet
