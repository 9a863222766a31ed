// Durable, atomic outputs. A file is written under a temporary name in the same directory,
// fsync'ed, renamed into place and its directory fsync'ed, so neither a crash nor a power loss
// leaves a truncated file under the final name: readers see the previous content or the new one.
// Directories (checkpoints) are built under a temporary name, fsync'ed file by file and replaced
// the same way (an atomic exchange with the previous directory when one exists).
#pragma once

#include <functional>
#include <string>

namespace speakernet {

// Calls write(tmp_path), fsyncs tmp_path, renames it to `path` and fsyncs the directory. On
// failure the temporary is removed and the exception propagates; an existing `path` is left
// untouched.
void WriteFileAtomically(const std::string& path, const std::function<void(const std::string&)>& write);

// Convenience: atomically writes `content` to `path`, byte for byte (binary-safe). A short write
// (full disk, file size limit) throws an Error naming `path` and the reason.
void WriteTextAtomically(const std::string& path, const std::string& content);

// Makes the complete directory `tmp_dir` (same parent as `final_dir`) appear as `final_dir`:
// fsyncs every file and directory under tmp_dir, then renames it into place (exchanging it
// atomically with an existing `final_dir`, whose old content is removed only afterwards) and
// fsyncs the parent. At every instant `final_dir` is either the old or the new directory.
void ReplaceDirectoryAtomically(const std::string& tmp_dir, const std::string& final_dir);

// fsync of one file or directory; errors name the path.
void SyncPath(const std::string& path);
// fsync of every regular file and directory under `dir`, then `dir` itself.
void SyncTree(const std::string& dir);

// Creates `dir` and its parents (and makes the new entries durable); errors name the directory.
void MakeDirs(const std::string& dir);

// Test-only: the steps of a durable write, reported with the final path to a hook that may throw
// or abort to simulate a crash at that point. kWritten: the temporary holds all data (not yet
// fsync'ed); kSynced: data fsync'ed, not yet renamed; kRenamed: renamed, directory not yet
// fsync'ed. The *Dir steps are the same for ReplaceDirectoryAtomically.
enum class WriteStep { kWritten, kSynced, kRenamed, kDirSynced, kDirRenamed };
const char* WriteStepName(WriteStep step);
using WriteStepHook = std::function<void(WriteStep, const std::string& path)>;
void SetWriteStepHookForTesting(WriteStepHook hook);

}  // namespace speakernet
