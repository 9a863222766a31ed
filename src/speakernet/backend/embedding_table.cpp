#include "speakernet/backend/embedding_table.h"

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

void EmbeddingTable::Add(const std::string& id, std::vector<float> embedding) {
  const int64_t d = static_cast<int64_t>(embedding.size());
  SN_CHECK(d > 0, "{}: embedding '{}' is empty", source_, id);
  SN_CHECK(dim_ < 0 || d == dim_, "{}: embedding '{}' has dimension {}, expected {}", source_, id,
           d, dim_);
  const auto [it, inserted] = index_.emplace(id, rows_.size());
  SN_CHECK(inserted, "{}: duplicate key '{}'", source_, id);
  (void)it;
  dim_ = d;
  keys_.push_back(id);
  rows_.push_back(std::move(embedding));
}

const std::vector<float>& EmbeddingTable::Get(const std::string& id) const {
  const auto it = index_.find(id);
  SN_CHECK(it != index_.end(), "no embedding for '{}' in {}", id, source_);
  return rows_[it->second];
}

int64_t EmbeddingTable::IndexOf(const std::string& id) const {
  const auto it = index_.find(id);
  return it == index_.end() ? -1 : static_cast<int64_t>(it->second);
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
