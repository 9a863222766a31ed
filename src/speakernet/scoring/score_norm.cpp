#include "speakernet/scoring/score_norm.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <type_traits>
#include <unordered_set>

#include "speakernet/common/error.h"
#include "speakernet/common/text_table.h"
#include "speakernet/scoring/int8_cohort_stats.h"
#include "speakernet/scoring/top_n.h"
#include "speakernet/scoring/trial_index.h"

namespace speakernet {

namespace {

using top_n::TopMeanVar;
using top_n::TopStats;

constexpr double kEps = 1e-8;  // torch.cosine_similarity's eps, also the sigma floor

template <class T>
T Dot(const T* a, const T* b, int64_t n) {
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  }
  T tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

// Whether StatsImpl<float> takes the int8 path (AS-norm in float32 only).
bool UseInt8(const ScoreNormOptions& o, int64_t d) {
  return o.int8_preselect && o.method == ScoreNormMethod::kASNorm && !o.double_precision &&
         Int8CohortStatsAvailable(d);
}

// Rows (x - mean) / max(||x - mean||, eps) in T, and the norms ||x - mean||.
template <class T>
void NormalizeRows(const std::vector<const float*>& rows, int64_t dim,
                   const std::vector<float>* mean, const std::function<std::string(size_t)>& name,
                   std::vector<T>* out, std::vector<double>* norms) {
  out->resize(rows.size() * static_cast<size_t>(dim));
  norms->resize(rows.size());
  // In parallel: at VoxCeleb1-E scale (153k rows) this was 0.1 s on one thread.
  at::parallel_for(0, static_cast<int64_t>(rows.size()), 1024, [&](int64_t begin, int64_t end) {
    std::vector<double> tmp(static_cast<size_t>(dim));
    for (size_t k = static_cast<size_t>(begin); k < static_cast<size_t>(end); ++k) {
      double sq = 0;
      for (int64_t j = 0; j < dim; ++j) {
        const double v = static_cast<double>(rows[k][j]) - (mean ? (*mean)[j] : 0.0f);
        tmp[j] = v;
        sq += v * v;
      }
      SN_CHECK(std::isfinite(sq), "embedding {} is not finite", name(k));
      const double norm = std::sqrt(sq);
      (*norms)[k] = norm;
      const double inv = 1.0 / std::max(norm, kEps);
      T* o = out->data() + k * static_cast<size_t>(dim);
      for (int64_t j = 0; j < dim; ++j) o[j] = static_cast<T>(tmp[j] * inv);
    }
  });
}

void CheckInputs(const EmbeddingTable& table, const Cohort& cohort, const ScoreNormOptions& options,
                 const std::vector<float>* mean) {
  SN_CHECK(cohort.size() > 0, "score normalisation: the cohort {} is empty", cohort.source);
  SN_CHECK(cohort.dim == table.dim(),
           "score normalisation: the cohort {} has dimension {}, but the embeddings in {} have "
           "dimension {}",
           cohort.source, cohort.dim, table.source(), table.dim());
  SN_CHECK(cohort.vectors.size() == cohort.size() * static_cast<size_t>(cohort.dim),
           "score normalisation: cohort {} holds {} values for {} speakers of dimension {}",
           cohort.source, cohort.vectors.size(), cohort.size(), cohort.dim);
  if (mean != nullptr) {
    SN_CHECK(static_cast<int64_t>(mean->size()) == table.dim(),
             "mean embedding has dimension {}, but the embeddings in {} have dimension {}",
             mean->size(), table.source(), table.dim());
    SN_CHECK(!cohort.mean_applied || cohort.built_mean == *mean,
             "score normalisation: the cohort {} was built {} the mean embedding subtracted "
             "from the scored embeddings; build it with that mean (BuildCohort(..., &mean))",
             cohort.source, cohort.built_mean.empty() ? "without" : "with another mean than");
  }
  SN_CHECK(options.block_rows >= 1, "score normalisation: block_rows must be >= 1, got {}",
           options.block_rows);
  if (options.method == ScoreNormMethod::kASNorm) {
    SN_CHECK(options.top_n >= 1 && options.top_n <= static_cast<int64_t>(cohort.size()),
             "AS-norm: top-N = {} must lie in [1, {}] (the size of the cohort {}); lower "
             "--top-n, or use S-norm to normalise against the whole cohort",
             options.top_n, cohort.size(), cohort.source);
  }
}

// Runs body(r0, rows) over blocks of `block` rows of [0, u), each block on one thread; the
// threads pull blocks from a shared counter, so a thread that the OS deschedules (on a shared
// machine) does not hold the others up. Torch ops inside run single-threaded (one parallel region
// in all, instead of one per matrix product).
void ForEachBlock(int64_t u, int64_t block, const std::function<void(int64_t, int64_t)>& body) {
  const int64_t blocks = (u + block - 1) / block;
  std::atomic<int64_t> next{0};
  const int64_t workers = std::min<int64_t>(at::get_num_threads(), blocks);
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    for (int64_t b = next++; b < blocks; b = next++) {
      const int64_t r0 = b * block;
      body(r0, std::min(block, u - r0));
    }
  });
}

// Cohort statistics of the rows of x ([u, d], already normalised; norms xn), T = float|double.
template <class T>
std::vector<CohortStats> StatsImpl(std::vector<T>& x, const std::vector<double>& xn,
                                   const Cohort& cohort, const ScoreNormOptions& options,
                                   const std::vector<float>* mean) {
  const int64_t u = static_cast<int64_t>(xn.size());
  const int64_t d = cohort.dim;
  const int64_t c = static_cast<int64_t>(cohort.size());
  const auto dtype = std::is_same<T, float>::value ? torch::kFloat : torch::kDouble;
  std::vector<const float*> crow(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) crow[j] = cohort.Row(static_cast<size_t>(j));
  std::vector<T> ch;
  std::vector<double> cn;
  NormalizeRows<T>(
      crow, d, mean,
      [&](size_t k) { return fmt::format("of cohort speaker '{}'", cohort.speakers[k]); }, &ch,
      &cn);
  std::vector<CohortStats> stats(static_cast<size_t>(u));
  if (u == 0) return stats;
  const torch::Tensor cht = torch::from_blob(ch.data(), {c, d}, dtype);
  auto rows_of_x = [&](int64_t r0, int64_t rows) {
    return torch::from_blob(x.data() + r0 * d, {rows, d}, dtype);
  };

  if (options.method == ScoreNormMethod::kSNorm) {
    // Over the whole cohort: mean_j x.c_j = x.m1 and var_j x.c_j = x^T C x, with m1 = mean c_j
    // and C = mean (c_j - m1)(c_j - m1)^T (centred in double: E[(x.c)^2] - (x.m1)^2 in float
    // cancels when the cohort scores vary little, e.g. speaker-net's collapsed cohort); the
    // imposter mean is |x| x.(mean of raw c_j).
    const torch::Tensor c64 = cht.to(torch::kDouble);
    const torch::Tensor mean64 = c64.mean(0);
    const torch::Tensor centred = c64 - mean64;
    const torch::Tensor m1 = mean64.to(dtype);
    const torch::Tensor m2 = torch::mm(centred.t(), centred).div_(static_cast<double>(c)).to(dtype);
    const torch::Tensor cn_t =
        torch::from_blob(cn.data(), {c, 1}, torch::TensorOptions().dtype(torch::kDouble));
    const torch::Tensor mraw = (c64 * cn_t).mean(0).to(dtype);
    const torch::Tensor mats = torch::cat({m2, m1.unsqueeze(1), mraw.unsqueeze(1)}, 1);
    ForEachBlock(u, options.block_rows, [&](int64_t r0, int64_t rows) {
      const torch::Tensor xb = rows_of_x(r0, rows);
      const torch::Tensor prod = torch::mm(xb, mats).to(torch::kDouble);  // [rows, d + 2]
      const torch::Tensor e2 = (prod.narrow(1, 0, d) * xb.to(torch::kDouble)).sum(1);
      const double* pp = prod.data_ptr<double>();
      const double* pe2 = e2.data_ptr<double>();
      for (int64_t r = 0; r < rows; ++r) {
        CohortStats& s = stats[static_cast<size_t>(r0 + r)];
        s.mean = pp[r * (d + 2) + d];
        s.std = std::sqrt(std::max(pe2[r], 0.0));
        s.imposter =
            options.imposter ? xn[static_cast<size_t>(r0 + r)] * pp[r * (d + 2) + d + 1] : 0.0;
      }
    });
    return stats;
  }

  // AS-norm: per block, the cosines [rows, c], then one top-N selection per row by cosine and,
  // for the imposter measure, one by inner product (x.c_raw = |x| |c_j| cos_j, |x| fixed per
  // row).
  const int64_t n = options.top_n;
  std::vector<T> cn_t(cn.begin(), cn.end());
  const torch::Tensor cht_t = cht.t();
  if constexpr (std::is_same<T, float>::value) {
    if (UseInt8(options, d)) {
      Int8CohortStats(x.data(), xn.data(), u, ch.data(), cn_t.data(), c, d, n, options.imposter,
                      stats.data());
      return stats;
    }
  }
  // The product of a super-block of rows runs outside any parallel region, where BLAS threads it;
  // the top-N selections then run in parallel over the super-block's rows. (Products issued from
  // inside ForEachBlock's threads gave no speed-up from 2 threads: OpenBLAS-OpenMP runs calls made
  // inside an OpenMP region one at a time. Measured with build/bench/backend_bench 1 vs 2.)
  const int64_t super_rows = std::max<int64_t>(options.block_rows, 2048);
  for (int64_t r0 = 0; r0 < u; r0 += super_rows) {
    const int64_t rows = std::min(super_rows, u - r0);
    const torch::Tensor sims = torch::mm(rows_of_x(r0, rows), cht_t).contiguous();
    const T* ps = sims.data_ptr<T>();
    at::parallel_for(0, rows, 32, [&](int64_t begin, int64_t end) {
      std::vector<T> buf(static_cast<size_t>(c)), w;
      if (options.imposter) w.resize(static_cast<size_t>(c));
      for (int64_t r = begin; r < end; ++r) {
        const T* row = ps + r * c;
        const TopStats top = TopMeanVar(row, c, n, buf.data());
        CohortStats& s = stats[static_cast<size_t>(r0 + r)];
        s.mean = top.mean;
        s.std = std::sqrt(top.var);
        if (options.imposter) {
          for (int64_t j = 0; j < c; ++j) w[j] = row[j] * cn_t[j];
          s.imposter =
              xn[static_cast<size_t>(r0 + r)] * TopMeanVar(w.data(), c, n, buf.data()).mean;
        }
      }
    });
  }
  return stats;
}

struct Prepared {
  std::vector<float> xf;
  std::vector<double> xd, norms;
};

Prepared PrepareRows(const EmbeddingTable& table, const std::vector<size_t>& rows,
                     const ScoreNormOptions& options, const std::vector<float>* mean) {
  Prepared p;
  std::vector<const float*> ptrs(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) ptrs[k] = table.Row(rows[k]).data();
  auto name = [&](size_t k) {
    return fmt::format("'{}' in {}", table.key(rows[k]), table.source());
  };
  if (options.double_precision) {
    NormalizeRows<double>(ptrs, table.dim(), mean, name, &p.xd, &p.norms);
  } else {
    NormalizeRows<float>(ptrs, table.dim(), mean, name, &p.xf, &p.norms);
  }
  return p;
}

std::vector<CohortStats> Stats(Prepared& p, const Cohort& cohort, const ScoreNormOptions& options,
                               const std::vector<float>* mean) {
  if (cohort.mean_applied) mean = nullptr;  // the cohort vectors are final (BuildCohort)
  return options.double_precision ? StatsImpl<double>(p.xd, p.norms, cohort, options, mean)
                                  : StatsImpl<float>(p.xf, p.norms, cohort, options, mean);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ReadSpk2Utt(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const TextLine& line : ReadTextTable(path, 1)) {
    for (const std::string& utt : line.fields) out.emplace_back(utt, line.key);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ReadUtt2Spk(const std::string& data_dir) {
  namespace fs = std::filesystem;
  const std::string utt2spk = data_dir + "/utt2spk", spk2utt = data_dir + "/spk2utt";
  if (fs::exists(utt2spk)) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const TextLine& line : ReadTextTable(utt2spk, 1, 1)) {
      out.emplace_back(line.key, line.fields[0]);
    }
    return out;
  }
  SN_CHECK(fs::exists(spk2utt), "cohort data dir '{}' has neither utt2spk nor spk2utt", data_dir);
  return ReadSpk2Utt(spk2utt);
}

CohortMean ParseCohortMean(const std::string& name) {
  if (name == "per-utterance") return CohortMean::kPerUtterance;
  if (name == "speaker-net") return CohortMean::kSpeakerNet;
  SN_CHECK(false, "unknown cohort mean form '{}' (expected per-utterance or speaker-net)", name);
  return CohortMean::kPerUtterance;
}

namespace {

// Adds (e - m) / max(|e - m|, eps) to acc (m = null: no mean), in double.
void AddUnitVector(const std::vector<float>& e, const std::vector<float>* m, const char* what,
                   const std::string& key, const std::string& table_source,
                   std::vector<double>& acc) {
  const size_t dim = acc.size();
  std::vector<double> v(dim);
  double sq = 0;
  for (size_t j = 0; j < dim; ++j) {
    v[j] = static_cast<double>(e[j]) - (m ? static_cast<double>((*m)[j]) : 0.0);
    sq += v[j] * v[j];
  }
  SN_CHECK(std::isfinite(sq), "{}: embedding '{}' in {} is not finite", what, key, table_source);
  const double inv = 1.0 / std::max(std::sqrt(sq), kEps);
  for (size_t j = 0; j < dim; ++j) acc[j] += v[j] * inv;
}

}  // namespace

Cohort BuildCohort(const EmbeddingTable& table,
                   const std::vector<std::pair<std::string, std::string>>& utt2spk,
                   const std::string& source, const std::vector<float>* mean, CohortMean form) {
  SN_CHECK(!utt2spk.empty(), "{}: no utterances", source);
  const int64_t dim = table.dim();
  if (mean != nullptr) {
    SN_CHECK(static_cast<int64_t>(mean->size()) == dim,
             "{}: mean embedding has dimension {}, but the embeddings in {} have dimension {}",
             source, mean->size(), table.source(), dim);
  }
  std::map<std::string, std::vector<size_t>> by_speaker;
  std::unordered_set<std::string> seen;
  for (const auto& [utt, spk] : utt2spk) {
    SN_CHECK(seen.insert(utt).second, "{}: utterance '{}' is listed twice", source, utt);
    const int64_t i = table.IndexOf(utt);
    SN_CHECK(i >= 0, "{}: no embedding for utterance '{}' (speaker '{}') in {}", source, utt, spk,
             table.source());
    by_speaker[spk].push_back(static_cast<size_t>(i));
  }
  const bool per_utterance = form == CohortMean::kPerUtterance;
  Cohort cohort;
  cohort.dim = dim;
  cohort.source = source;
  cohort.mean_applied = true;
  if (mean != nullptr) cohort.built_mean = *mean;
  cohort.vectors.reserve(by_speaker.size() * static_cast<size_t>(dim));
  std::vector<double> acc(static_cast<size_t>(dim));
  for (const auto& [spk, rows] : by_speaker) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t r : rows) {
      AddUnitVector(table.Row(r), per_utterance ? mean : nullptr, source.c_str(), table.key(r),
                    table.source(), acc);
    }
    cohort.speakers.push_back(spk);
    for (int64_t j = 0; j < dim; ++j) {
      // speaker-net: the average of unit vectors is rounded to float (its cohort file), then m
      // is subtracted.
      const double avg = acc[j] / static_cast<double>(rows.size());
      const double v = per_utterance || mean == nullptr
                           ? avg
                           : static_cast<double>(static_cast<float>(avg)) - (*mean)[j];
      cohort.vectors.push_back(static_cast<float>(v));
    }
  }
  return cohort;
}

Cohort BuildCohortFromDataDir(const EmbeddingTable& table, const std::string& data_dir,
                              const std::vector<float>* mean, CohortMean form) {
  Cohort cohort = BuildCohort(table, ReadUtt2Spk(data_dir), "cohort " + data_dir, mean, form);
  cohort.source = data_dir;
  return cohort;
}

ScoreNormMethod ParseScoreNormMethod(const std::string& name) {
  if (name == "asnorm") return ScoreNormMethod::kASNorm;
  if (name == "snorm") return ScoreNormMethod::kSNorm;
  SN_CHECK(false, "unknown score normalisation '{}' (expected asnorm or snorm)", name);
  return ScoreNormMethod::kASNorm;
}

std::vector<CohortStats> ComputeCohortStats(const EmbeddingTable& table,
                                            const std::vector<std::string>& ids,
                                            const Cohort& cohort, const ScoreNormOptions& options,
                                            const std::vector<float>* mean) {
  CheckInputs(table, cohort, options, mean);
  std::vector<size_t> rows(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    const int64_t i = table.IndexOf(ids[k]);
    SN_CHECK(i >= 0, "no embedding for '{}' in {}", ids[k], table.source());
    rows[k] = static_cast<size_t>(i);
  }
  Prepared p = PrepareRows(table, rows, options, mean);
  return Stats(p, cohort, options, mean);
}

size_t CohortStatsCache::size() const {
  return static_cast<size_t>(std::count(have_.begin(), have_.end(), uint8_t{1}));
}

namespace {

// The statistics of the prepared rows p (table rows `used`, in slot order), through `cache`:
// only the rows it lacks are computed, then added to it.
std::vector<CohortStats> CachedStats(Prepared& p, const std::vector<size_t>& used,
                                     const Cohort& cohort, const ScoreNormOptions& options,
                                     const std::vector<float>* mean,
                                     std::vector<CohortStats>& by_row, std::vector<uint8_t>& have) {
  std::vector<size_t> missing;  // slots
  for (size_t k = 0; k < used.size(); ++k) {
    if (!have[used[k]]) missing.push_back(k);
  }
  if (!missing.empty()) {
    const size_t d = static_cast<size_t>(cohort.dim);
    Prepared sub;
    sub.norms.resize(missing.size());
    if (options.double_precision) {
      sub.xd.resize(missing.size() * d);
    } else {
      sub.xf.resize(missing.size() * d);
    }
    for (size_t i = 0; i < missing.size(); ++i) {
      const size_t k = missing[i];
      sub.norms[i] = p.norms[k];
      if (options.double_precision) {
        std::copy_n(p.xd.data() + k * d, d, sub.xd.data() + i * d);
      } else {
        std::copy_n(p.xf.data() + k * d, d, sub.xf.data() + i * d);
      }
    }
    const std::vector<CohortStats> fresh = Stats(sub, cohort, options, mean);
    for (size_t i = 0; i < missing.size(); ++i) {
      by_row[used[missing[i]]] = fresh[i];
      have[used[missing[i]]] = 1;
    }
  }
  std::vector<CohortStats> stats(used.size());
  for (size_t k = 0; k < used.size(); ++k) stats[k] = by_row[used[k]];
  return stats;
}

}  // namespace

NormalizedScores ScoreNorm(const EmbeddingTable& table, const std::vector<Trial>& trials,
                           const Cohort& cohort, const ScoreNormOptions& options,
                           const std::vector<float>* mean, CohortStatsCache* cache) {
  CheckInputs(table, cohort, options, mean);
  const TrialRows mapped = MapTrialsToRows(table, trials);
  const std::vector<std::pair<int64_t, int64_t>>& pairs = mapped.pairs;
  const int64_t nt = static_cast<int64_t>(trials.size());
  Prepared p = PrepareRows(table, mapped.used, options, mean);
  std::vector<CohortStats> stats;
  if (cache == nullptr) {
    stats = Stats(p, cohort, options, mean);
  } else {
    const std::string key =
        fmt::format("{} {} {} {} {} {} {} {}", table.size(), table.dim(), cohort.size(),
                    static_cast<int>(options.method), options.top_n, options.imposter,
                    options.double_precision, options.int8_preselect);
    if (cache->table_ != &table || cache->cohort_ != &cohort || cache->mean_ != mean ||
        cache->key_ != key) {
      cache->table_ = &table;
      cache->cohort_ = &cohort;
      cache->mean_ = mean;
      cache->key_ = key;
      cache->stats_.assign(table.size(), CohortStats{});
      cache->have_.assign(table.size(), 0);
    }
    stats = CachedStats(p, mapped.used, cohort, options, mean, cache->stats_, cache->have_);
  }

  const int64_t d = table.dim();
  NormalizedScores out;
  out.raw.resize(trials.size());
  out.scores.resize(trials.size());
  out.enroll_imposter.resize(trials.size());
  out.test_imposter.resize(trials.size());
  at::parallel_for(0, nt, 4096, [&](int64_t begin, int64_t end) {
    // The two rows of a trial are random reads from the whole prepared set (157 MB at
    // VoxCeleb1-E scale): prefetch those of a trial a few ahead.
    constexpr size_t kAhead = 8;
    const size_t row_bytes = static_cast<size_t>(d) * (options.double_precision ? 8 : 4);
    const char* base = options.double_precision ? reinterpret_cast<const char*>(p.xd.data())
                                                : reinterpret_cast<const char*>(p.xf.data());
    for (size_t t = static_cast<size_t>(begin); t < static_cast<size_t>(end); ++t) {
      if (t + kAhead < static_cast<size_t>(end)) {
        for (const int64_t slot : {pairs[t + kAhead].first, pairs[t + kAhead].second}) {
          const char* row = base + static_cast<size_t>(slot) * row_bytes;
          for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(row + b);
        }
      }
      const auto [e, s] = pairs[t];
      const double raw =
          options.double_precision
              ? Dot(p.xd.data() + e * d, p.xd.data() + s * d, d)
              : static_cast<double>(Dot(p.xf.data() + e * d, p.xf.data() + s * d, d));
      const CohortStats& se = stats[static_cast<size_t>(e)];
      const CohortStats& st = stats[static_cast<size_t>(s)];
      out.raw[t] = raw;
      out.scores[t] = 0.5 * ((raw - se.mean) / std::max(se.std, kEps) +
                             (raw - st.mean) / std::max(st.std, kEps));
      out.enroll_imposter[t] = se.imposter;
      out.test_imposter[t] = st.imposter;
    }
  });
  return out;
}

}  // namespace speakernet
