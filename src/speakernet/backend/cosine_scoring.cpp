#include "speakernet/backend/cosine_scoring.h"

#include <cmath>
#include <cstdlib>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/common/text_table.h"

namespace speakernet {

namespace {

// Dot product with 8 independent accumulators so the compiler can vectorise it without
// -ffast-math.
float Dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  }
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

}  // namespace

std::vector<double> CosineScores(const EmbeddingTable& table, const std::vector<Trial>& trials,
                                 const std::vector<float>* mean) {
  const int64_t dim = table.dim();
  if (mean != nullptr) {
    SN_CHECK(static_cast<int64_t>(mean->size()) == dim,
             "mean embedding has dimension {}, but the embeddings in {} have dimension {}",
             mean->size(), table.source(), dim);
  }
  // Pass 1: map every trial side to a table row (one hash lookup per side, skipped when the
  // enrollment id repeats, as it does in grouped trial lists) and give each used row a compact
  // slot.
  std::vector<int64_t> slot(table.size(), -1);
  std::vector<size_t> used;  // table rows in slot order
  std::vector<std::pair<int64_t, int64_t>> pairs(trials.size());
  auto slot_of = [&](const std::string& id, size_t trial) -> int64_t {
    const int64_t i = table.IndexOf(id);
    SN_CHECK(i >= 0, "trial #{} ('{}' '{}'): no embedding for '{}' in {}", trial + 1,
             trials[trial].enroll, trials[trial].test, id, table.source());
    int64_t& c = slot[static_cast<size_t>(i)];
    if (c < 0) {
      c = static_cast<int64_t>(used.size());
      used.push_back(static_cast<size_t>(i));
    }
    return c;
  };
  const std::string* last_enroll = nullptr;
  int64_t last_enroll_slot = -1;
  for (size_t t = 0; t < trials.size(); ++t) {
    if (last_enroll == nullptr || *last_enroll != trials[t].enroll) {
      last_enroll_slot = slot_of(trials[t].enroll, t);
      last_enroll = &trials[t].enroll;
    }
    pairs[t] = {last_enroll_slot, slot_of(trials[t].test, t)};
  }
  // Pass 2: subtract the mean and L2-normalise each used embedding once.
  std::vector<float> normed(used.size() * static_cast<size_t>(dim));
  for (size_t k = 0; k < used.size(); ++k) {
    const std::vector<float>& e = table.Row(used[k]);
    float* out = normed.data() + k * static_cast<size_t>(dim);
    double sq = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const float v = mean ? e[j] - (*mean)[j] : e[j];
      out[j] = v;
      sq += static_cast<double>(v) * v;
    }
    SN_CHECK(std::isfinite(sq), "embedding '{}' in {} is not finite", table.key(used[k]),
             table.source());
    const float inv = static_cast<float>(1.0 / std::max(std::sqrt(sq), 1e-8));
    for (int64_t j = 0; j < dim; ++j) out[j] *= inv;
  }
  // Pass 3: one dot product per trial.
  std::vector<double> scores(trials.size());
  const float* base = normed.data();
  // Rows are read in random order; prefetching a few trials ahead hides most of the latency.
  constexpr size_t kAhead = 4;
  const size_t row_bytes = static_cast<size_t>(dim) * sizeof(float);
  for (size_t t = 0; t < trials.size(); ++t) {
    if (t + kAhead < trials.size()) {
      const char* next = reinterpret_cast<const char*>(base + pairs[t + kAhead].second * dim);
      for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(next + b);
    }
    scores[t] = Dot(base + pairs[t].first * dim, base + pairs[t].second * dim, dim);
  }
  return scores;
}

void WriteScores(const std::string& path, const std::vector<Trial>& trials,
                 const std::vector<double>& scores, int precision) {
  SN_CHECK(trials.size() == scores.size(), "WriteScores('{}'): {} trials but {} scores", path,
           trials.size(), scores.size());
  SN_CHECK(precision >= 0 && precision <= 17, "WriteScores('{}'): bad precision {}", path,
           precision);
  fmt::memory_buffer buf;
  for (size_t i = 0; i < trials.size(); ++i) {
    fmt::format_to(std::back_inserter(buf), "{} {} {:.{}f}\n", trials[i].enroll, trials[i].test,
                   scores[i], precision);
  }
  WriteTextAtomically(path, std::string(buf.data(), buf.size()));
}

std::string ScoreKey(const std::string& enroll, const std::string& test) {
  std::string key;
  key.reserve(enroll.size() + test.size() + 1);
  key.append(enroll).push_back(' ');
  key.append(test);
  return key;
}

ScoreMap ReadScores(const std::string& path) {
  ScoreMap scores;
  for (const auto& line : ReadTextTable(path, 2, 3)) {
    const std::string& text = line.fields[1];
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    SN_CHECK(end != text.c_str() && *end == '\0' && std::isfinite(v),
             "{}:{}: bad score '{}' (expected 'enroll test score')", path, line.line_no, text);
    if (line.fields.size() == 3) {
      const std::string& label = line.fields[2];
      SN_CHECK(label == "target" || label == "nontarget",
               "{}:{}: unexpected 4th column '{}' (expected target or nontarget)", path,
               line.line_no, label);
    }
    const auto [it, inserted] = scores.emplace(ScoreKey(line.key, line.fields[0]), v);
    // A trial list may repeat a pair; its repeated score lines must then agree.
    SN_CHECK(inserted || it->second == v,
             "{}:{}: conflicting duplicate score for '{} {}' ({} vs {} earlier)", path,
             line.line_no, line.key, line.fields[0], text, it->second);
  }
  return scores;
}

std::vector<double> LookupScores(const ScoreMap& scores, const std::vector<Trial>& trials,
                                 const std::string& scores_name) {
  std::vector<double> out(trials.size());
  for (size_t i = 0; i < trials.size(); ++i) {
    const auto it = scores.find(ScoreKey(trials[i].enroll, trials[i].test));
    SN_CHECK(it != scores.end(), "trial #{} ('{}' '{}') has no score in {}", i + 1,
             trials[i].enroll, trials[i].test, scores_name);
    out[i] = it->second;
  }
  return out;
}

}  // namespace speakernet
