#include "speakernet/scoring/embedding_table.h"

#include <cstring>
#include <filesystem>

#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/text_table.h"

namespace speakernet {

namespace {

namespace fs = std::filesystem;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void AddEntry(EmbeddingTable& table, const std::string& key, const kaldi::FloatMatrix& m,
              const std::string& where) {
  SN_CHECK(m.rows == 1, "{}: embedding '{}' is a {}x{} matrix; expected a vector", where, key,
           m.rows, m.cols);
  table.Add(key, m.data);
}

}  // namespace

EmbeddingTable EmbeddingTable::Load(const std::string& path_or_dir, const std::string& keys_path) {
  std::string path = path_or_dir;
  SN_CHECK(fs::exists(path), "embeddings '{}' do not exist", path);
  if (fs::is_directory(path)) {
    std::string found;
    for (const char* name :
         {"embeddings.scp", "xvector.scp", "embeddings.npy", "embeddings.ark", "xvector.ark"}) {
      if (fs::exists(fs::path(path) / name)) {
        found = (fs::path(path) / name).string();
        break;
      }
    }
    SN_CHECK(!found.empty(),
             "directory '{}' holds no embeddings.scp, xvector.scp, embeddings.npy, embeddings.ark "
             "or xvector.ark",
             path);
    path = found;
  }
  EmbeddingTable table;
  table.source_ = path;
  if (EndsWith(path, ".npy")) {
    const kaldi::FloatMatrix m = kaldi::ReadNpy(path);
    // A (rows, 0) array holds no bytes whatever its row count: refuse it before anything is
    // allocated per row.
    SN_CHECK(m.cols > 0, "'{}' is a {}x0 array: embeddings of dimension 0", path, m.rows);
    std::string kp = keys_path;
    if (kp.empty()) {
      const fs::path sibling = fs::path(path).parent_path() / "utts.txt";
      if (fs::exists(sibling)) kp = sibling.string();
    }
    std::vector<std::string> keys;
    if (!kp.empty()) {
      for (auto& line : ReadTextTable(kp, 0)) keys.push_back(std::move(line.key));
      SN_CHECK(static_cast<int64_t>(keys.size()) == m.rows,
               "'{}' lists {} keys but '{}' has {} rows", kp, keys.size(), path, m.rows);
    } else {
      for (int64_t i = 0; i < m.rows; ++i) keys.push_back(std::to_string(i));
    }
    for (int64_t i = 0; i < m.rows; ++i) {
      table.Add(keys[i],
                std::vector<float>(m.data.begin() + i * m.cols, m.data.begin() + (i + 1) * m.cols));
    }
  } else if (EndsWith(path, ".scp")) {
    kaldi::ForEachInScp(path, [&](const std::string& key, const kaldi::FloatMatrix& m) {
      AddEntry(table, key, m, path);
    });
  } else {
    kaldi::ForEachInArk(path, [&](const std::string& key, const kaldi::FloatMatrix& m) {
      AddEntry(table, key, m, path);
    });
  }
  SN_CHECK(table.size() > 0, "'{}' holds no embeddings", path);
  return table;
}

namespace {

// 64x64 -> 128-bit multiply, folded (the wyhash mixing step).
inline uint64_t Mum(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t Load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// a[0, n) == b[0, n), inline (keys are short: a libc memcmp call cost more than the compare).
inline bool SameBytes(const char* a, const char* b, size_t n) {
  for (; n >= 8; n -= 8, a += 8, b += 8) {
    if (Load8(a) != Load8(b)) return false;
  }
  for (; n > 0; --n, ++a, ++b) {
    if (*a != *b) return false;
  }
  return true;
}

constexpr uint64_t kP0 = 0xa0761d6478bd642full, kP1 = 0xe7037ed1a0b428dbull,
                   kP2 = 0x8ebc6af09c88c6e3ull;

}  // namespace

uint64_t EmbeddingTable::HashKey(std::string_view id) {
  const char* p = id.data();
  size_t n = id.size();
  uint64_t h = kP0 ^ Mum(static_cast<uint64_t>(n) ^ kP1, kP2);
  for (; n >= 8; n -= 8, p += 8) h = Mum(Load8(p) ^ kP1, h ^ kP2);
  if (n > 0) {
    uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    h = Mum(tail ^ kP2, h ^ kP1);
  }
  return Mum(h ^ kP0, kP1);
}

void EmbeddingTable::Rehash(size_t entries) {
  std::vector<IndexEntry> index(entries);
  const size_t mask = entries - 1;
  for (const IndexEntry& e : index_) {
    if (e.row == kNoRow) continue;
    const uint64_t h = HashKey(std::string_view(key_chars_.data() + e.offset, e.size));
    size_t pos = h & mask;
    while (index[pos].row != kNoRow) pos = (pos + 1) & mask;
    index[pos] = e;
  }
  index_.swap(index);
}

void EmbeddingTable::Add(const std::string& id, std::vector<float> embedding) {
  const int64_t d = static_cast<int64_t>(embedding.size());
  SN_CHECK(d > 0, "{}: embedding '{}' is empty", source_, id);
  SN_CHECK(dim_ < 0 || d == dim_, "{}: embedding '{}' has dimension {}, expected {}", source_, id,
           d, dim_);
  const uint64_t h = HashKey(id);
  SN_CHECK(IndexOf(id, h) < 0, "{}: duplicate key '{}'", source_, id);
  SN_CHECK(rows_.size() < kNoRow && key_chars_.size() + id.size() <= 0xffffffffu,
           "{}: more than 2^32 - 1 embeddings or 4 GiB of keys", source_);
  // Keep the index at most 70% full (16 entries at least).
  if ((rows_.size() + 1) * 10 > index_.size() * 7) {
    size_t entries = index_.empty() ? 16 : index_.size();
    while ((rows_.size() + 1) * 10 > entries * 7) entries *= 2;
    Rehash(entries);
  }
  const size_t mask = index_.size() - 1;
  size_t pos = h & mask;
  while (index_[pos].row != kNoRow) pos = (pos + 1) & mask;
  index_[pos] = {static_cast<uint32_t>(h >> 32), static_cast<uint32_t>(rows_.size()),
                 static_cast<uint32_t>(key_chars_.size()), static_cast<uint32_t>(id.size())};
  key_chars_ += id;
  dim_ = d;
  keys_.push_back(id);
  rows_.push_back(std::move(embedding));
}

const std::vector<float>& EmbeddingTable::Get(const std::string& id) const {
  const int64_t i = IndexOf(id);
  SN_CHECK(i >= 0, "no embedding for '{}' in {}", id, source_);
  return rows_[static_cast<size_t>(i)];
}

int64_t EmbeddingTable::IndexOf(std::string_view id, uint64_t hash) const {
  if (index_.empty()) return -1;
  const size_t mask = index_.size() - 1;
  const uint32_t tag = static_cast<uint32_t>(hash >> 32);
  for (size_t pos = hash & mask;; pos = (pos + 1) & mask) {
    const IndexEntry& e = index_[pos];
    if (e.row == kNoRow) return -1;
    if (e.tag == tag && e.size == id.size() &&
        SameBytes(key_chars_.data() + e.offset, id.data(), id.size())) {
      return static_cast<int64_t>(e.row);
    }
  }
}

std::vector<float> MeanEmbedding(const EmbeddingTable& table) {
  SN_CHECK(table.size() > 0, "cannot average an empty embedding table ({})", table.source());
  std::vector<double> sum(static_cast<size_t>(table.dim()), 0.0);
  for (size_t i = 0; i < table.size(); ++i) {
    const std::vector<float>& row = table.Row(i);
    for (size_t j = 0; j < sum.size(); ++j) sum[j] += row[j];
  }
  std::vector<float> mean(sum.size());
  for (size_t j = 0; j < sum.size(); ++j) {
    mean[j] = static_cast<float>(sum[j] / static_cast<double>(table.size()));
  }
  return mean;
}

}  // namespace speakernet
