// Outputs and checkpoints are written to a temporary file in the same directory and renamed
// into place, so an interrupted run never leaves a truncated file under the final name.
#pragma once

#include <functional>
#include <string>

namespace speakernet {

// Calls write(tmp_path), then renames tmp_path to `path`. On failure the temporary is removed
// and the exception propagates; an existing `path` is left untouched.
void WriteFileAtomically(const std::string& path, const std::function<void(const std::string&)>& write);

// Convenience: atomically writes `content` to `path`, byte for byte (binary-safe).
void WriteTextAtomically(const std::string& path, const std::string& content);

// Creates `dir` and its parents; errors name the directory.
void MakeDirs(const std::string& dir);

}  // namespace speakernet
