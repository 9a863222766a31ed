// Kaldi table I/O (ark/scp) and NumPy .npy files for float embeddings and matrices.
//
// Binary ark entries are byte-compatible with Kaldi and kaldiio:
//   "<key> " "\0B" "FV " <0x04><int32 dim> <dim float32>            (vector)
//   "<key> " "\0B" "FM " <0x04><int32 rows><0x04><int32 cols> <rows*cols float32, row-major>
// "DV "/"DM " carry float64 and are converted to float on reading. Text-mode entries
// ("<key> [ 1 2 3 ]") are accepted when reading. An scp line is "<key> <ark_path>:<offset>",
// where the offset points at the "\0B" marker of the entry. Compressed matrices (CM/CM2/CM3)
// are not supported and are reported as such. Host byte order must be little-endian.
//
// Every reading error names the file and the byte offset or key at fault.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace speakernet::kaldi {

// A dense row-major float matrix; vectors are read as rows = 1.
struct FloatMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;
};

// Writes a binary ark (and optionally an scp) atomically: entries go to temporaries next to
// the final files, which appear under their final names only when Close() succeeds. A writer
// destroyed without Close() removes its temporaries and leaves nothing behind.
class ArkWriter {
 public:
  // scp_path == "" writes no scp. The scp lines name `ark_path` exactly as given.
  ArkWriter(const std::string& ark_path, const std::string& scp_path);
  ~ArkWriter();
  ArkWriter(const ArkWriter&) = delete;
  ArkWriter& operator=(const ArkWriter&) = delete;

  // Keys must be non-empty and free of whitespace.
  void WriteVector(const std::string& key, const float* data, int64_t dim);
  void WriteMatrix(const std::string& key, const float* data, int64_t rows, int64_t cols);
  // Flushes and renames the temporaries into place (ark first, then scp). Idempotent.
  void Close();

  int64_t num_written() const { return num_written_; }

 private:
  void WriteHeader(const std::string& key, const char* token);
  void Put(const void* data, size_t bytes);
  void Abandon() noexcept;

  std::string ark_path_, scp_path_, ark_tmp_, scp_tmp_;
  std::FILE* ark_ = nullptr;
  std::FILE* scp_ = nullptr;
  int64_t offset_ = 0;
  int64_t num_written_ = 0;
  bool closed_ = false;
};

// Reads "<key> <rxspec>" lines. Errors (missing file, malformed line, empty key) name file:line.
std::vector<std::pair<std::string, std::string>> ReadScp(const std::string& scp_path);

// rxspec: "path.ark:offset" (offset at the "\0B" of a binary entry or the "[" of a text one),
// or a bare "path" holding a single keyless object at offset 0.
std::vector<float> ReadVector(const std::string& rxspec);  // FV or DV only
FloatMatrix ReadMatrix(const std::string& rxspec);         // FM or DM only
// Either kind; vectors come back with rows = 1 and *is_vector (if given) set to true.
FloatMatrix ReadObject(const std::string& rxspec, bool* is_vector = nullptr);

// Reads every entry of an ark in file order. Vectors are passed with rows = 1.
void ForEachInArk(const std::string& ark_path,
                  const std::function<void(const std::string& key, const FloatMatrix& m)>& fn);

// Reads every entry of an scp in scp order, keeping the last ark open between entries (fast
// for the usual case of many entries per ark). Errors name the scp file:line as well.
void ForEachInScp(const std::string& scp_path,
                  const std::function<void(const std::string& key, const FloatMatrix& m)>& fn);

// NPY v1.0, '<f4', C order, written atomically. shape = {} writes a scalar.
void WriteNpy(const std::string& path, const float* data, const std::vector<int64_t>& shape);
// Reads 1-D (rows = 1) or 2-D arrays of '<f4' (or '<f8', converted), C or Fortran order,
// NPY versions 1.0-3.0.
FloatMatrix ReadNpy(const std::string& path);

}  // namespace speakernet::kaldi
