// A keyed set of fixed-dimension embeddings, loaded from what `speakernet extract` (or Kaldi,
// kaldiio, WeSpeaker, speaker-net) writes.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace speakernet {

class EmbeddingTable {
 public:
  // path_or_dir may be
  //   * a directory holding embeddings.scp or xvector.scp (first found), else embeddings.npy
  //     (with utts.txt) or embeddings.ark / xvector.ark;
  //   * an .scp file (entries read through their arks);
  //   * an .ark file (read sequentially);
  //   * an .npy file of shape [N, D] (or [D] for a single embedding). Its keys come from
  //     `keys_path`, else from utts.txt next to it (first token per line); without either the
  //     keys are the row numbers "0", "1", ...
  // Entries may be Kaldi vectors or 1-row matrices. Duplicate keys, mixed dimensions and an
  // empty table are errors naming the file and key.
  static EmbeddingTable Load(const std::string& path_or_dir, const std::string& keys_path = "");

  // Builds a table in memory (tests, tools); same checks as Load.
  void Add(const std::string& id, std::vector<float> embedding);

  const std::vector<float>& Get(const std::string& id) const;  // Error naming id and source
  bool Has(const std::string& id) const { return index_.count(id) != 0; }
  // Row number of `id`, or -1 when absent.
  int64_t IndexOf(const std::string& id) const;
  const std::vector<float>& Row(size_t i) const { return rows_[i]; }
  int64_t dim() const { return dim_; }
  size_t size() const { return rows_.size(); }
  const std::vector<std::string>& keys() const { return keys_; }  // in load order
  const std::string& key(size_t i) const { return keys_[i]; }
  const std::string& source() const { return source_; }

 private:
  std::string source_ = "<memory>";
  int64_t dim_ = -1;
  std::vector<std::string> keys_;
  std::vector<std::vector<float>> rows_;
  std::unordered_map<std::string, size_t> index_;
};

// Mean of all embeddings (accumulated in double), e.g. for mean subtraction.
std::vector<float> MeanEmbedding(const EmbeddingTable& table);

}  // namespace speakernet
