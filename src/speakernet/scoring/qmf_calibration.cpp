#include "speakernet/scoring/qmf_calibration.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "speakernet/scoring/cosine_scoring.h"
#include "speakernet/scoring/trial_index.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/text_table.h"

namespace speakernet {

namespace {

double ParseDouble(const std::string& s, const std::string& where) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SN_CHECK(used == s.size() && std::isfinite(v), "{}: '{}' is not a finite number", where, s);
  return v;
}

void CheckColumns(const std::vector<std::vector<double>>& systems, const QualityFeatures& quality,
                  size_t n, const char* who) {
  SN_CHECK(!systems.empty(), "{}: no score systems", who);
  for (size_t s = 0; s < systems.size(); ++s) {
    SN_CHECK(systems[s].size() == n, "{}: system #{} has {} scores for {} trials", who, s + 1,
             systems[s].size(), n);
    for (size_t t = 0; t < n; ++t) {
      SN_CHECK(std::isfinite(systems[s][t]), "{}: system #{} trial #{} has score {}", who, s + 1,
               t + 1, systems[s][t]);
    }
  }
  SN_CHECK(quality.names.size() == quality.columns.size(), "{}: {} quality names for {} columns",
           who, quality.names.size(), quality.columns.size());
  for (size_t j = 0; j < quality.columns.size(); ++j) {
    SN_CHECK(quality.columns[j].size() == n, "{}: quality '{}' has {} values for {} trials", who,
             quality.names[j], quality.columns[j].size(), n);
    for (size_t t = 0; t < n; ++t) {
      SN_CHECK(std::isfinite(quality.columns[j][t]), "{}: quality '{}' trial #{} is {}", who,
               quality.names[j], t + 1, quality.columns[j][t]);
    }
  }
}

// The calibration objective, Cllr = sum_t c_t softplus(z_t) with z_t = -y_t llr_t,
// y = +1 target / -1 non-target, c_t = 0.5 / (N_class(t) ln 2), llr = X theta, and its gradient
// X^T r with r_t = d Cllr / d llr_t = -c_t y_t sigmoid(z_t), in one fused pass over the trials:
// one exp per trial gives both softplus and sigmoid. The pass was vectorised torch ops (softplus,
// sigmoid, sum, several temporaries per evaluation; ~0.5 ms per evaluation on 30k trials, ~1000
// evaluations per fit); exp and log1p are written out here so that the compiler vectorises them.
//
// Reproducibility: the trials are cut into fixed blocks of kBlock, each block's sums go to its
// own slot (fixed lane order inside), and the slots are added in block order, so the result is
// bit-identical for any number of threads and from run to run.
class CllrObjective {
 public:
  static constexpr size_t kBlock = 2048;  // trials per block (multiple of kLanes)
  static constexpr size_t kLanes = 8;     // partial sums per block

  CllrObjective(const std::vector<const std::vector<double>*>& cols, const std::vector<int>& labels,
                size_t n_tar, size_t n_non)
      : n_(labels.size()), k_(cols.size()) {
    blocks_ = (n_ + kBlock - 1) / kBlock;
    stride_ = blocks_ * kBlock;  // padding trials have c = 0 and x = 0: they add exact zeros
    x_.assign(k_ * stride_, 0.0);
    for (size_t j = 0; j < k_; ++j) std::copy(cols[j]->begin(), cols[j]->end(), &x_[j * stride_]);
    neg_y_.assign(stride_, 1.0);
    c_.assign(stride_, 0.0);
    neg_cy_.assign(stride_, 0.0);
    const double c_tar = 0.5 / (static_cast<double>(n_tar) * std::log(2.0));
    const double c_non = 0.5 / (static_cast<double>(n_non) * std::log(2.0));
    for (size_t t = 0; t < n_; ++t) {
      const double y = labels[t] ? 1.0 : -1.0;
      neg_y_[t] = -y;
      c_[t] = labels[t] ? c_tar : c_non;
      neg_cy_[t] = -c_[t] * y;
    }
  }

  // Loss at theta (k values); with grad, also writes its gradient there (k values).
  double Eval(const double* theta, double* grad) const {
    const size_t width = 1 + k_;  // per block: loss, gradient
    std::vector<double> partial(blocks_ * width);
    auto run = [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const size_t t0 = static_cast<size_t>(b) * kBlock;
        Block(x_.data() + t0, stride_, k_, theta, neg_y_.data() + t0, c_.data() + t0,
              neg_cy_.data() + t0, grad != nullptr, &partial[static_cast<size_t>(b) * width]);
      }
    };
    // Worth a second thread only with several blocks (a parallel region costs microseconds).
    if (blocks_ >= 4) {
      at::parallel_for(0, static_cast<int64_t>(blocks_), 1, run);
    } else {
      run(0, static_cast<int64_t>(blocks_));
    }
    double loss = 0;
    if (grad != nullptr) std::fill(grad, grad + k_, 0.0);
    for (size_t b = 0; b < blocks_; ++b) {
      loss += partial[b * width];
      if (grad != nullptr) {
        for (size_t j = 0; j < k_; ++j) grad[j] += partial[b * width + 1 + j];
      }
    }
    return loss;
  }

 private:
  // One block of kBlock trials: out[0] = sum c softplus(z), out[1 + j] = sum x_j r.
  // Compiled for AVX-512 / AVX2 / baseline x86-64 and picked at load time (no FMA in any, so
  // the clones differ only in vector width; the arithmetic is the same sequence per lane).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
  static void Block(const double* x, size_t stride, size_t k, const double* theta,
                    const double* neg_y, const double* c, const double* neg_cy, bool grad,
                    double* out) {
    alignas(64) double llr[kBlock];
    alignas(64) double term[kBlock];
    alignas(64) double r[kBlock];
    // llr_t = sum_j x_tj theta_j, added in column order.
    for (size_t t = 0; t < kBlock; ++t) llr[t] = x[t] * theta[0];
    for (size_t j = 1; j < k; ++j) {
      const double* xj = x + j * stride;
      const double th = theta[j];
      for (size_t t = 0; t < kBlock; ++t) llr[t] += xj[t] * th;
    }
#pragma omp simd
    for (size_t t = 0; t < kBlock; ++t) {
      const double z = neg_y[t] * llr[t];
      const double e = ExpNonPositive(-std::abs(z));  // exp(-|z|) in (0, 1]
      const double inv_u = 1.0 / (1.0 + e);
      // softplus(z) = max(z, 0) + log1p(exp(-|z|)); torch's softplus returns z itself above
      // its threshold 20, and so does this. (Everything is computed, then selected: branches
      // would keep the loop from being vectorised.)
      const double log1p_e = Log1pUnit(e, inv_u);
      const double sp = z > 20.0 ? z : std::max(z, 0.0) + log1p_e;
      term[t] = c[t] * sp;
      // sigmoid(z) = 1 / (1 + exp(-z)): 1 / (1 + e) for z >= 0, e / (1 + e) below.
      const double sig = (z >= 0.0 ? 1.0 : e) * inv_u;
      r[t] = neg_cy[t] * sig;
    }
    double acc[kLanes] = {};
    for (size_t t = 0; t < kBlock; t += kLanes) {
      for (size_t l = 0; l < kLanes; ++l) acc[l] += term[t + l];
    }
    out[0] = Fold(acc);
    if (!grad) return;
    for (size_t j = 0; j < k; ++j) {
      const double* xj = x + j * stride;
      double g[kLanes] = {};
      for (size_t t = 0; t < kBlock; t += kLanes) {
        for (size_t l = 0; l < kLanes; ++l) g[l] += xj[t + l] * r[t + l];
      }
      out[1 + j] = Fold(g);
    }
  }

  static double Fold(const double* a) {
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
  }

  static inline double FromBits(uint64_t u) {
    double d;
    std::memcpy(&d, &u, sizeof d);
    return d;
  }
  static inline uint64_t ToBits(double d) {
    uint64_t u;
    std::memcpy(&u, &d, sizeof u);
    return u;
  }

  // exp(a) for a <= 0 (below -708 it returns exp(-708) ~ 3e-308 rather than a denormal or 0:
  // the caller's terms are then ~1e-308 either way). a = k ln2 + f, |f| <= ln2 / 2, with ln2 in
  // two parts (k ln2_hi exact); exp(f) by its Taylor series to f^13 (error < 1e-17); 2^k built
  // in the exponent bits. Within ~1 ulp of std::exp.
  static inline double ExpNonPositive(double a) {
    a = std::max(a, -708.0);
    constexpr double kLog2e = 1.4426950408889634074;
    constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 32 significant bits
    constexpr double kLn2Lo = 1.90821492927058770002e-10;
    constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
    const double kd = (a * kLog2e + kShift);
    const double kf = kd - kShift;
    const double f = (a - kf * kLn2Hi) - kf * kLn2Lo;
    double p = 1.0 / 6227020800.0;  // 1/13!
    p = p * f + 1.0 / 479001600.0;
    p = p * f + 1.0 / 39916800.0;
    p = p * f + 1.0 / 3628800.0;
    p = p * f + 1.0 / 362880.0;
    p = p * f + 1.0 / 40320.0;
    p = p * f + 1.0 / 5040.0;
    p = p * f + 1.0 / 720.0;
    p = p * f + 1.0 / 120.0;
    p = p * f + 1.0 / 24.0;
    p = p * f + 1.0 / 6.0;
    p = p * f + 0.5;
    p = p * f + 1.0;
    p = p * f + 1.0;
    // kd's low bits hold k (two's complement); (k + 1023) << 52 is 2^k for k >= -1022.
    const double scale = FromBits((ToBits(kd) + 1023) << 52);
    return p * scale;
  }

  // log1p(e) for e in [0, 1] (fdlibm's log: 1 + e = 2^k (1 + f), f in [sqrt(1/2) - 1,
  // sqrt(2) - 1], log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f), R minimax; the
  // rounding of 1 + e, when k = 1, is corrected to first order). Within ~1 ulp of std::log1p.
  // inv_u = 1 / (1 + e), which the caller has anyway.
  static inline double Log1pUnit(double e, double inv_u) {
    constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
    constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01,
                     kLg3 = 2.857142874366239149e-01, kLg4 = 2.222219843214978396e-01,
                     kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                     kLg7 = 1.479819860511658591e-01;
    const bool big = e > 0.41421356237309503;  // 1 + e > sqrt(2): k = 1
    const double u = 1.0 + e;
    // k = 1: f = u / 2 - 1 exactly; u - 1 - e is the rounding of u, exact (Sterbenz).
    const double f = big ? 0.5 * u - 1.0 : e;
    const double corr = big ? ((u - 1.0) - e) * inv_u : 0.0;  // log(1 + e) = log(u) - corr
    const double kf = big ? 1.0 : 0.0;
    const double hfsq = 0.5 * f * f;
    const double s = f / (2.0 + f);
    const double z = s * s;
    const double w = z * z;
    const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
    const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
    const double rr = t2 + t1;
    return kf * kLn2Hi - ((hfsq - (s * (hfsq + rr) + (kf * kLn2Lo - corr))) - f);
  }

  size_t n_, k_, blocks_ = 0, stride_ = 0;
  std::vector<double> x_;  // column-major [k][stride]
  std::vector<double> neg_y_, c_, neg_cy_;
};

// torch.optim.LBFGS without line search (speaker-net's setting), transcribed for a parameter
// vector of a handful of doubles: the torch version spends milliseconds per iteration in tiny
// tensor ops of its two-loop recursion (history 100), which made a 30k-trial fit take seconds.
// Same state across step() calls, same defaults: tolerance_grad 1e-7, tolerance_change 1e-9,
// history_size 100, max_eval = max_iter * 5 / 4, first step scaled by min(1, 1/|g|_1).
class PlainLbfgs {
 public:
  using Eval = std::function<double(const std::vector<double>&, std::vector<double>*)>;
  PlainLbfgs(double lr, int64_t max_iter) : lr_(lr), max_iter_(max_iter) {}

  void Step(std::vector<double>& x, const Eval& f) {
    const size_t k = x.size();
    std::vector<double> g(k);
    double loss = f(x, &g);
    int64_t evals = 1;
    auto max_abs = [](const std::vector<double>& v) {
      double m = 0;
      for (double e : v) m = std::max(m, std::abs(e));
      return m;
    };
    auto dot = [k](const std::vector<double>& a, const std::vector<double>& b) {
      double s = 0;
      for (size_t i = 0; i < k; ++i) s += a[i] * b[i];
      return s;
    };
    if (max_abs(g) <= kToleranceGrad) return;
    const int64_t max_eval = max_iter_ * 5 / 4;
    for (int64_t n_iter = 1; n_iter <= max_iter_; ++n_iter) {
      ++state_iter_;
      if (state_iter_ == 1) {
        d_.assign(k, 0);
        for (size_t i = 0; i < k; ++i) d_[i] = -g[i];
        dirs_.clear();
        stps_.clear();
        ro_.clear();
        h_diag_ = 1;
      } else {
        std::vector<double> y(k), st(k);
        for (size_t i = 0; i < k; ++i) {
          y[i] = g[i] - prev_g_[i];
          st[i] = d_[i] * t_;
        }
        const double ys = dot(y, st);
        if (ys > 1e-10) {
          if (dirs_.size() == kHistory) {
            dirs_.erase(dirs_.begin());
            stps_.erase(stps_.begin());
            ro_.erase(ro_.begin());
          }
          dirs_.push_back(y);
          stps_.push_back(st);
          ro_.push_back(1.0 / ys);
          h_diag_ = ys / dot(y, y);
        }
        const size_t m = dirs_.size();
        std::vector<double> al(m), q(k);
        for (size_t i = 0; i < k; ++i) q[i] = -g[i];
        for (size_t j = m; j-- > 0;) {
          al[j] = dot(stps_[j], q) * ro_[j];
          for (size_t i = 0; i < k; ++i) q[i] -= al[j] * dirs_[j][i];
        }
        for (size_t i = 0; i < k; ++i) d_[i] = q[i] * h_diag_;
        for (size_t j = 0; j < m; ++j) {
          const double be = dot(dirs_[j], d_) * ro_[j];
          for (size_t i = 0; i < k; ++i) d_[i] += stps_[j][i] * (al[j] - be);
        }
      }
      prev_g_ = g;
      const double prev_loss = loss;
      if (state_iter_ == 1) {
        double l1 = 0;
        for (double e : g) l1 += std::abs(e);
        t_ = std::min(1.0, 1.0 / l1) * lr_;
      } else {
        t_ = lr_;
      }
      if (dot(g, d_) > -kToleranceChange) break;
      for (size_t i = 0; i < k; ++i) x[i] += t_ * d_[i];
      if (n_iter == max_iter_) break;  // torch does not re-evaluate after the last iteration
      loss = f(x, &g);
      ++evals;
      if (evals >= max_eval) break;
      if (max_abs(g) <= kToleranceGrad) break;
      if (t_ * max_abs(d_) <= kToleranceChange) break;
      if (std::abs(loss - prev_loss) < kToleranceChange) break;
    }
  }

 private:
  static constexpr double kToleranceGrad = 1e-7, kToleranceChange = 1e-9;
  static constexpr size_t kHistory = 100;
  double lr_;
  int64_t max_iter_;
  int64_t state_iter_ = 0;
  double t_ = 0, h_diag_ = 1;
  std::vector<double> d_, prev_g_;
  std::vector<std::vector<double>> dirs_, stps_;
  std::vector<double> ro_;
};

}  // namespace

void QualityFeatures::Append(const QualityFeatures& other) {
  SN_CHECK(columns.empty() || other.columns.empty() || other.trials() == trials(),
           "quality features: {} trials cannot be joined with {}", other.trials(), trials());
  names.insert(names.end(), other.names.begin(), other.names.end());
  columns.insert(columns.end(), other.columns.begin(), other.columns.end());
}

std::vector<std::string> ParseQualityMeasures(const std::string& list) {
  std::string s = list;
  std::replace(s.begin(), s.end(), ',', ' ');
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& name : SplitWhitespace(s)) {
    SN_CHECK(name == "duration" || name == "embedding" || name == "imposter",
             "unknown quality measure '{}' (expected duration, embedding or imposter)", name);
    SN_CHECK(seen.insert(name).second, "quality measure '{}' is listed twice in '{}'", name, list);
    out.push_back(name);
  }
  return out;
}

Durations ReadUtt2Dur(const std::string& path) {
  Durations d;
  for (const TextLine& line : ReadTextTable(path, 1, 1)) {
    const std::string where = fmt::format("{}:{}", path, line.line_no);
    const double v = ParseDouble(line.fields[0], where);
    SN_CHECK(v >= 0, "{}: negative duration {}", where, v);
    SN_CHECK(d.emplace(line.key, v).second, "{}: utterance '{}' is listed twice", where, line.key);
  }
  return d;
}

QualityFeatures DurationQuality(const std::vector<Trial>& trials, const Durations& durations,
                                const std::string& source) {
  QualityFeatures q;
  q.names = {"duration_short", "duration_long"};
  q.columns.assign(2, std::vector<double>(trials.size()));
  auto get = [&](const std::string& utt, size_t t) {
    const auto it = durations.find(utt);
    SN_CHECK(it != durations.end(), "trial #{} ('{}' '{}'): no duration for '{}' in {}", t + 1,
             trials[t].enroll, trials[t].test, utt, source);
    return it->second;
  };
  for (size_t t = 0; t < trials.size(); ++t) {
    const double a = get(trials[t].enroll, t), b = get(trials[t].test, t);
    q.columns[0][t] = std::min(a, b);
    q.columns[1][t] = std::max(a, b);
  }
  return q;
}

QualityFeatures EmbeddingQuality(const EmbeddingTable& table, const std::vector<Trial>& trials,
                                 const std::vector<float>* mean) {
  SN_CHECK(mean == nullptr || static_cast<int64_t>(mean->size()) == table.dim(),
           "embedding quality: mean of dimension {} for embeddings of dimension {} in {}",
           mean ? mean->size() : 0, table.dim(), table.source());
  // Each used embedding's norm once; a missing id names the first trial that has one.
  const TrialRows mapped = MapTrialsToRows(table, trials);
  std::vector<double> norm(mapped.used.size());
  for (size_t k = 0; k < mapped.used.size(); ++k) {
    const std::vector<float>& e = table.Row(mapped.used[k]);
    double sq = 0;
    for (int64_t j = 0; j < table.dim(); ++j) {
      const double v = static_cast<double>(e[j]) - (mean ? (*mean)[j] : 0.0f);
      sq += v * v;
    }
    norm[k] = std::sqrt(sq);
  }
  QualityFeatures q;
  q.names = {"embedding_min_norm", "embedding_max_norm"};
  q.columns.assign(2, std::vector<double>(trials.size()));
  for (size_t t = 0; t < trials.size(); ++t) {
    const double a = norm[static_cast<size_t>(mapped.pairs[t].first)];
    const double b = norm[static_cast<size_t>(mapped.pairs[t].second)];
    q.columns[0][t] = std::min(a, b);
    q.columns[1][t] = std::max(a, b);
  }
  return q;
}

QualityFeatures ImposterQuality(const NormalizedScores& normalized) {
  const size_t n = normalized.enroll_imposter.size();
  SN_CHECK(normalized.test_imposter.size() == n,
           "imposter quality: {} enroll but {} test values", n, normalized.test_imposter.size());
  QualityFeatures q;
  q.names = {"imposter_max", "imposter_min"};
  q.columns.assign(2, std::vector<double>(n));
  for (size_t t = 0; t < n; ++t) {
    q.columns[0][t] = std::max(normalized.enroll_imposter[t], normalized.test_imposter[t]);
    q.columns[1][t] = std::min(normalized.enroll_imposter[t], normalized.test_imposter[t]);
  }
  return q;
}

void WriteQuality(const std::string& path, const std::vector<Trial>& trials,
                  const QualityFeatures& quality) {
  SN_CHECK(quality.columns.empty() || quality.trials() == trials.size(),
           "{}: {} quality rows for {} trials", path, quality.trials(), trials.size());
  std::string out;
  out.reserve(trials.size() * 48);
  for (size_t t = 0; t < trials.size(); ++t) {
    out += trials[t].enroll;
    out += ' ';
    out += trials[t].test;
    for (const auto& col : quality.columns) out += fmt::format(" {:.6g}", col[t]);
    out += '\n';
  }
  WriteTextAtomically(path, out);
}

QualityFeatures ReadQuality(const std::string& path, const std::vector<Trial>& trials) {
  std::unordered_map<std::string, std::vector<double>> rows;
  int64_t width = -1;
  for (const TextLine& line : ReadTextTable(path, 2)) {
    const std::string where = fmt::format("{}:{}", path, line.line_no);
    const int64_t k = static_cast<int64_t>(line.fields.size()) - 1;
    SN_CHECK(width < 0 || k == width, "{}: {} quality values, earlier lines have {}", where, k,
             width);
    width = k;
    std::vector<double> v(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) v[j] = ParseDouble(line.fields[j + 1], where);
    rows[ScoreKey(line.key, line.fields[0])] = std::move(v);
  }
  QualityFeatures q;
  for (int64_t j = 0; j < width; ++j) {
    q.names.push_back(fmt::format("{}:{}", path, j + 1));
    q.columns.emplace_back(trials.size());
  }
  for (size_t t = 0; t < trials.size(); ++t) {
    const auto it = rows.find(ScoreKey(trials[t].enroll, trials[t].test));
    SN_CHECK(it != rows.end(), "trial #{} ('{}' '{}') has no quality values in {}", t + 1,
             trials[t].enroll, trials[t].test, path);
    for (int64_t j = 0; j < width; ++j) q.columns[j][t] = it->second[j];
  }
  return q;
}

std::vector<double> Calibrator::Apply(const std::vector<std::vector<double>>& systems,
                                      const QualityFeatures& quality) const {
  SN_CHECK(systems.size() == weights.size(), "calibration: model has {} systems, got {}",
           weights.size(), systems.size());
  SN_CHECK(quality.columns.size() == quality_weights.size(),
           "calibration: model has {} quality features, got {}", quality_weights.size(),
           quality.columns.size());
  const size_t n = systems[0].size();
  CheckColumns(systems, quality, n, "calibration");
  std::vector<double> llr(n, bias);
  for (size_t s = 0; s < systems.size(); ++s) {
    for (size_t t = 0; t < n; ++t) llr[t] += weights[s] * systems[s][t];
  }
  for (size_t j = 0; j < quality.columns.size(); ++j) {
    for (size_t t = 0; t < n; ++t) llr[t] += quality_weights[j] * quality.columns[j][t];
  }
  return llr;
}

std::string Calibrator::Describe() const {
  std::string s = "llr =";
  for (size_t i = 0; i < weights.size(); ++i) s += fmt::format(" {:+.6g}*score{}", weights[i], i + 1);
  s += fmt::format(" {:+.6g}", bias);
  for (size_t j = 0; j < quality_weights.size(); ++j) {
    s += fmt::format(" {:+.6g}*{}", quality_weights[j],
                     j < quality_names.size() ? quality_names[j] : fmt::format("q{}", j + 1));
  }
  return s + fmt::format(" (training Cllr {:.4f}, {} LBFGS steps)", loss, steps);
}

Calibrator TrainCalibrator(const std::vector<std::vector<double>>& systems,
                           const QualityFeatures& quality, const std::vector<int>& labels,
                           const CalibrationOptions& options) {
  options.Validate();
  const size_t n = labels.size();
  CheckColumns(systems, quality, n, "calibration training");
  std::vector<int64_t> tar, non;
  for (size_t t = 0; t < n; ++t) {
    SN_CHECK(labels[t] == 0 || labels[t] == 1, "calibration training: trial #{} has label {}",
             t + 1, labels[t]);
    (labels[t] ? tar : non).push_back(static_cast<int64_t>(t));
  }
  SN_CHECK(!tar.empty() && !non.empty(),
           "calibration training needs target and non-target trials, got {} and {}", tar.size(),
           non.size());
  // The loss and its gradient are written out by hand (no autograd graph): LBFGS evaluates them
  // up to 2000 times. CllrObjective evaluates both in one fused pass (see there).
  torch::NoGradGuard no_grad;
  const int64_t ns = static_cast<int64_t>(systems.size());
  const int64_t nq = static_cast<int64_t>(quality.columns.size());
  std::vector<const std::vector<double>*> cols;
  for (const auto& s : systems) cols.push_back(&s);
  const std::vector<double> ones(n, 1.0);  // bias
  cols.push_back(&ones);
  for (const auto& q : quality.columns) cols.push_back(&q);
  const CllrObjective objective(cols, labels, tar.size(), non.size());
  const int64_t kcols = ns + 1 + nq;
  // One parameter vector theta = [w, b, v]; w starts at 1/#systems, b and v at 0.
  torch::Tensor theta = torch::zeros({kcols}, torch::kDouble);
  theta.narrow(0, 0, ns).fill_(1.0 / static_cast<double>(ns));
  theta.set_requires_grad(true);
  // The outer loop asks for the loss at the point the last LBFGS evaluation may just have used:
  // keep the last one (the loss does not depend on whether the gradient was asked for).
  std::vector<double> last_at;
  double last_loss = 0;
  auto evaluate = [&](const double* at, double* grad) {
    if (grad == nullptr && last_at.size() == static_cast<size_t>(kcols) &&
        std::equal(last_at.begin(), last_at.end(), at)) {
      return last_loss;
    }
    last_loss = objective.Eval(at, grad);
    last_at.assign(at, at + kcols);
    return last_loss;
  };
  auto loss_and_grad = [&](bool grad) {
    torch::Tensor g = torch::zeros({kcols}, torch::kDouble);
    const double loss = evaluate(theta.data_ptr<double>(), grad ? g.data_ptr<double>() : nullptr);
    if (grad) theta.mutable_grad() = g;
    return torch::tensor(loss, torch::kDouble);
  };
  auto loss_of = [&]() { return loss_and_grad(false); };
  Calibrator cal;
  double prev = loss_of().item<double>();
  auto run_steps = [&](const std::function<void()>& step) {
    for (int64_t i = 0; i < options.max_steps; ++i) {
      step();
      const double cur = loss_of().item<double>();
      cal.steps = i + 1;
      SN_CHECK(std::isfinite(cur), "calibration training diverged (loss {}) at step {}", cur,
               i + 1);
      const bool done = prev - cur < options.tolerance;
      prev = cur;
      if (done) break;
    }
  };
  if (options.line_search || options.torch_lbfgs) {
    std::vector<torch::Tensor> params = {theta};
    torch::optim::LBFGSOptions lbfgs(options.lr);
    lbfgs.max_iter(options.max_iter);
    if (options.line_search) lbfgs.line_search_fn("strong_wolfe");
    torch::optim::LBFGS optimizer(params, lbfgs);
    auto closure = [&]() { return loss_and_grad(true); };
    run_steps([&] { optimizer.step(closure); });
  } else {
    PlainLbfgs optimizer(options.lr, options.max_iter);
    const int64_t k = theta.numel();
    std::vector<double> x(theta.data_ptr<double>(), theta.data_ptr<double>() + k);
    auto eval = [&](const std::vector<double>& at, std::vector<double>* grad) {
      grad->assign(static_cast<size_t>(k), 0.0);
      return evaluate(at.data(), grad->data());
    };
    run_steps([&] {
      optimizer.Step(x, eval);
      std::copy(x.begin(), x.end(), theta.data_ptr<double>());
    });
  }
  cal.loss = prev;
  const double* p = theta.data_ptr<double>();
  cal.weights.assign(p, p + ns);
  cal.bias = p[ns];
  cal.quality_weights.assign(p + ns + 1, p + ns + 1 + nq);
  cal.quality_names = quality.names;
  return cal;
}

}  // namespace speakernet
