// A keyed set of fixed-dimension embeddings, loaded from what `speakernet extract` (or Kaldi,
// kaldiio, WeSpeaker, speaker-net) writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
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
  bool Has(std::string_view id) const { return IndexOf(id) >= 0; }
  // Row number of `id`, or -1 when absent. Thread-safe (const, no allocation).
  int64_t IndexOf(std::string_view id) const { return IndexOf(id, HashKey(id)); }
  // The same with a precomputed hash == HashKey(id). For batched lookups: PrefetchIndex(hash)
  // first, PrefetchKey(hash) once that entry is likely cached, then IndexOf(id, hash).
  int64_t IndexOf(std::string_view id, uint64_t hash) const;
  // Hints only (no effect on results): bring into cache the index entry a lookup of `hash`
  // reads first, and the stored key it points to.
  void PrefetchIndex(uint64_t hash) const {
    if (!index_.empty()) __builtin_prefetch(&index_[hash & (index_.size() - 1)]);
  }
  void PrefetchKey(uint64_t hash) const {
    if (index_.empty()) return;
    const IndexEntry& e = index_[hash & (index_.size() - 1)];
    if (e.row != kNoRow) __builtin_prefetch(key_chars_.data() + e.offset);
  }
  // The 64-bit key hash the index uses (fast, not cryptographic).
  static uint64_t HashKey(std::string_view id);
  const std::vector<float>& Row(size_t i) const { return rows_[i]; }
  int64_t dim() const { return dim_; }
  size_t size() const { return rows_.size(); }
  const std::vector<std::string>& keys() const { return keys_; }  // in load order
  const std::string& key(size_t i) const { return keys_[i]; }
  const std::string& source() const { return source_; }
  // What messages call the table (a file name; "<memory>" for a table built with Add).
  void set_source(std::string source) { source_ = std::move(source); }

 private:
  std::string source_ = "<memory>";
  int64_t dim_ = -1;
  std::vector<std::string> keys_;
  std::vector<std::vector<float>> rows_;
  // Flat open-addressing (linear probing) hash index over the keys: a power-of-two number of
  // entries, at most 70% full; the low bits of HashKey pick the first entry, its high 32 bits are
  // the tag. A key's characters are compared (in key_chars_, all keys back to back) only when tag
  // and length match, so a hit reads one entry and one stretch of key_chars_.
  static constexpr uint32_t kNoRow = 0xffffffffu;
  struct IndexEntry {
    uint32_t tag = 0, row = kNoRow, offset = 0, size = 0;  // key = key_chars_[offset, +size)
  };
  std::vector<IndexEntry> index_;
  std::string key_chars_;
  void Rehash(size_t entries);
};

// Mean of all embeddings (accumulated in double), e.g. for mean subtraction.
std::vector<float> MeanEmbedding(const EmbeddingTable& table);

}  // namespace speakernet
