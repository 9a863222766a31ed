#include "speakernet/scoring/cosine_scoring.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "speakernet/scoring/trial_index.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/common/text_table.h"

namespace speakernet {

namespace {

// Dot products with 16 independent partial sums (two 8-float vectors, so the adds of
// consecutive steps do not wait on each other), vectorised without -ffast-math.
inline float Sum16(const float* acc) {
  float s[8];
  for (int k = 0; k < 8; ++k) s[k] = acc[k] + acc[k + 8];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

inline float Dot(const float* a, const float* b, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int k = 0; k < 16; ++k) acc[k] += a[i + k] * b[i + k];
  }
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return Sum16(acc) + tail;
}

// The same for (a - m)·(b - m), each difference rounded to float first.
inline float CentredDot(const float* a, const float* b, const float* m, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int k = 0; k < 16; ++k) acc[k] += (a[i + k] - m[i + k]) * (b[i + k] - m[i + k]);
  }
  float tail = 0;
  for (; i < n; ++i) tail += (a[i] - m[i]) * (b[i] - m[i]);
  return Sum16(acc) + tail;
}

// Fallback for rows whose float products overflow (|x| > ~1e19): normalise first, in double.
double ScaledDot(const float* a, const float* b, const float* m, double inv_a, double inv_b,
                 int64_t n) {
  double dot = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float x = m ? a[i] - m[i] : a[i], y = m ? b[i] - m[i] : b[i];
    dot += (x * inv_a) * (y * inv_b);
  }
  return dot;
}

// An AVX2 build of the scoring loop where the CPU has it (chosen at load time). Without FMA, so
// both builds round the same way: the scores do not depend on the CPU.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SN_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SN_SIMD_CLONES
#endif

// 1 / max(||e - m||, 1e-8), the squares summed in double (8 partial sums); NaN where the sum is
// not finite.
inline double InverseNorm(const float* e, const float* m, int64_t dim) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  if (m) {
    for (; j + 8 <= dim; j += 8) {
      for (int l = 0; l < 8; ++l) {
        const float v = e[j + l] - m[j + l];
        acc[l] += static_cast<double>(v) * v;
      }
    }
  } else {
    for (; j + 8 <= dim; j += 8) {
      for (int l = 0; l < 8; ++l) acc[l] += static_cast<double>(e[j + l]) * e[j + l];
    }
  }
  double sq = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; j < dim; ++j) {
    const float v = m ? e[j] - m[j] : e[j];
    sq += static_cast<double>(v) * v;
  }
  return std::isfinite(sq) ? 1.0 / std::max(std::sqrt(sq), 1e-8) : std::nan("");
}

// A used row and its inverse norm, computed by whichever thread first needs it (while the row
// is in cache for its first dot product); < 0 = not yet. Every thread computes the same value.
struct Slot {
  const float* row;
  std::atomic<double> inv;
};

inline double InverseNormOf(Slot& slot, const float* m, int64_t dim) {
  double v = slot.inv.load(std::memory_order_relaxed);
  if (v < 0) {
    v = InverseNorm(slot.row, m, dim);
    slot.inv.store(v, std::memory_order_relaxed);
  }
  return v;
}

// scores[t] for trials t in [begin, end). Rows are read in random order: both rows are
// prefetched (into L2) `ahead` trials ahead, the enroll row only where it changes, and their
// Slot entries twice as far ahead.
SN_SIMD_CLONES void ScoreRange(const std::pair<int64_t, int64_t>* pairs, Slot* slots,
                               const float* m, int64_t dim, int64_t begin, int64_t end,
                               int64_t ahead, double* scores) {
  const size_t row_bytes = static_cast<size_t>(dim) * sizeof(float);
  for (int64_t t = begin; t < end; ++t) {
    if (t + 2 * ahead < end) {
      const auto [e, s] = pairs[t + 2 * ahead];
      __builtin_prefetch(&slots[e]);
      __builtin_prefetch(&slots[s]);
    }
    if (t + ahead < end) {
      const auto [e, s] = pairs[t + ahead];
      const char* b = reinterpret_cast<const char*>(slots[s].row);
      for (size_t o = 0; o < row_bytes; o += 64) __builtin_prefetch(b + o, 0, 2);
      if (e != pairs[t + ahead - 1].first) {
        const char* a = reinterpret_cast<const char*>(slots[e].row);
        for (size_t o = 0; o < row_bytes; o += 64) __builtin_prefetch(a + o, 0, 2);
      }
    }
    const auto [e, s] = pairs[t];
    const float* a = slots[e].row;
    const float* b = slots[s].row;
    const double inv_a = InverseNormOf(slots[e], m, dim);
    const double inv_b = InverseNormOf(slots[s], m, dim);
    const float dot = m ? CentredDot(a, b, m, dim) : Dot(a, b, dim);
    scores[t] = std::isfinite(dot) ? static_cast<double>(dot) * inv_a * inv_b
                                   : ScaledDot(a, b, m, inv_a, inv_b, dim);
  }
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
  // Pass 1: every trial side -> a compact slot of the used table rows (parallel hash lookups;
  // a missing id is an error naming the first trial that has one).
  const TrialRows map = MapTrialsToRows(table, trials);
  const std::vector<size_t>& used = map.used;
  const int64_t n_used = static_cast<int64_t>(used.size());
  // Pass 2, in parallel: one dot product of the centred rows per trial, times both inverse
  // norms. The rows are neither copied nor normalised in a pass of their own: writing a
  // normalised copy (150 MB at VoxCeleb1-E scale) cost more than the scoring, and a separate
  // norm pass read every row once more; each norm is computed at the row's first use instead.
  std::unique_ptr<Slot[]> slots(new Slot[used.size()]);
  for (size_t k = 0; k < used.size(); ++k) {
    slots[k].row = table.Row(used[k]).data();
    slots[k].inv.store(-1.0, std::memory_order_relaxed);
  }
  const float* m = mean ? mean->data() : nullptr;
  const int64_t n = static_cast<int64_t>(trials.size());
  std::vector<double> scores(trials.size());
  const std::pair<int64_t, int64_t>* pairs = map.pairs.data();
  constexpr int64_t kAhead = 4, kChunk = 4096;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (chunks > 1)
#endif
  for (int64_t c = 0; c < chunks; ++c) {
    ScoreRange(pairs, slots.get(), m, dim, c * kChunk, std::min(n, (c + 1) * kChunk), kAhead,
               scores.data());
  }
  // A non-finite embedding is an error (the first in slot order, so the first in trial order).
  for (int64_t k = 0; k < n_used; ++k) {
    SN_CHECK(!std::isnan(slots[k].inv.load(std::memory_order_relaxed)),
             "embedding '{}' in {} is not finite", table.key(used[static_cast<size_t>(k)]),
             table.source());
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
