#include "speakernet/backend/score_norm.h"

#include <torch/torch.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SPEAKERNET_X86_AVX512_DISPATCH 1
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <type_traits>
#include <unordered_set>

#include "speakernet/common/error.h"
#include "speakernet/common/text_table.h"

namespace speakernet {

namespace {

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

// Number of v[0..m) >= t; branch-free, so the compiler vectorises it.
template <class T>
int64_t CountAtLeast(const T* v, int64_t m, T t) {
  int32_t count = 0;
  for (int64_t j = 0; j < m; ++j) count += v[j] >= t ? 1 : 0;
  return count;
}

// The k-th largest of v[0..m) (1 <= k <= m), by bisection on a threshold with vectorised counts
// (no data-dependent branches per element, unlike nth_element). Returns t and whether exactly k
// values are >= t (t then need not be one of the values); otherwise t is the k-th largest value
// itself (ties at the boundary).
template <class T>
std::pair<T, bool> KthLargest(const T* v, int64_t m, int64_t k) {
  T lo = v[0], hi = v[0];
  for (int64_t j = 1; j < m; ++j) {
    lo = std::min(lo, v[j]);
    hi = std::max(hi, v[j]);
  }
  // Invariant: count(>= lo) >= k > count(>= hi).
  const int64_t at_max = CountAtLeast(v, m, hi);
  if (at_max >= k) return {hi, at_max == k};
  while (true) {
    const T mid = lo + (hi - lo) / 2;
    if (!(mid > lo && mid < hi)) break;  // lo and hi are adjacent: the k-th largest is lo
    const int64_t c = CountAtLeast(v, m, mid);
    if (c == k) return {mid, true};
    (c > k ? lo : hi) = mid;
  }
  return {lo, false};
}

// Mean and variance of the n largest of v[0..c) (1 <= n <= c), ties counted once each; the sums
// are taken around a value near the mean (the first value / the threshold), in double, so that
// the variance does not cancel when it is small against the mean squared.
// A threshold from a strided sample (its r-th largest, r a little above the expected count)
// keeps a few hundred candidates in one branch-free pass; the top n are then found among them.
// An unlucky sample (fewer than n candidates) falls back to the whole row.
struct TopStats {
  double mean, var;  // population variance
};

template <class T>
TopStats TopMeanVar(const T* v, int64_t c, int64_t n, T* buf) {
  const T* cand = v;
  int64_t m = c;
  constexpr int64_t kSample = 256;
  if (n < c && c >= 4 * kSample && n * 4 <= c) {
    const int64_t stride = c / kSample;
    const int64_t ns = c / stride;
    for (int64_t k = 0; k < ns; ++k) buf[k] = v[k * stride];
    const double expect = static_cast<double>(n) * ns / c;
    const int64_t r =
        std::min<int64_t>(ns, static_cast<int64_t>(expect + 2 * std::sqrt(expect) + 3));
    const T t = KthLargest(buf, ns, r).first;
    int64_t count = 0;
    for (int64_t j = 0; j < c; ++j) {
      buf[count] = v[j];
      count += v[j] >= t ? 1 : 0;
    }
    if (count >= n) {
      cand = buf;
      m = count;
    }
  }
  double s = 0, s2 = 0;
  double shift = static_cast<double>(cand[0]);
  if (n >= m) {
    for (int64_t j = 0; j < m; ++j) {
      const double x = static_cast<double>(cand[j]) - shift;
      s += x;
      s2 += x * x;
    }
  } else {
    const auto [t, exact] = KthLargest(cand, m, n);
    shift = static_cast<double>(t);
    int64_t taken = 0;
    for (int64_t j = 0; j < m; ++j) {
      const bool in = exact ? cand[j] >= t : cand[j] > t;
      const double x = in ? static_cast<double>(cand[j]) - shift : 0.0;
      s += x;
      s2 += x * x;
      taken += in ? 1 : 0;
    }
    // Ties at the n-th largest value t (not exact): the missing copies add t - shift = 0.
  }
  const double dn = static_cast<double>(n);
  return {shift + s / dn, std::max(s2 / dn - (s / dn) * (s / dn), 0.0)};
}

// Maximum error of one bf16 cosine of unit vectors (see ScoreNormOptions::bf16_preselect):
// inputs rounded to bf16 (relative u = 2^-9 each, so the products err by <= (2u + u^2) |x| |c|
// in all), fp32 accumulation (<= d 2^-24 |x| |c| <= 6.2e-5 for d <= 1024, the largest dimension
// this path takes), output rounded to bf16 (u |s| <= u). |x| = |c| = 1 up to float rounding.
constexpr float kBf16Unit = 1.0f / 512;
constexpr float kBf16Delta = 3 * kBf16Unit + 1e-4f;

// Scratch of one thread for the preselection path.
struct PreselectScratch {
  std::vector<float> sample, val, row, w, values;
  std::vector<int32_t> idx, cand, row_of, pos, order;
  std::vector<int64_t> offsets;
  std::vector<float> exact;
  explicit PreselectScratch(int64_t c)
      : sample(static_cast<size_t>(c)), val(static_cast<size_t>(c)), row(static_cast<size_t>(c)),
        w(static_cast<size_t>(c)), values(static_cast<size_t>(c)), idx(static_cast<size_t>(c)) {}
};

// Candidates among a_j (j < c), approximations of exact values e_j with |a_j - e_j| <= delta:
// the j with a_j >= tau - 2 delta (tau = n-th largest a), written to `out`; returns their count.
// The n largest e_j are all among them: e_j >= n-th largest e >= tau - delta implies
// a_j >= tau - 2 delta.
inline int64_t SelectCandidates(const float* a, int64_t c, int64_t n, float delta,
                                PreselectScratch& s, int32_t* out) {
  // A threshold t <= tau from a strided sample (as TopMeanVar), confirmed by counting; otherwise
  // every value is a candidate of the first pass.
  float t = -std::numeric_limits<float>::infinity();
  constexpr int64_t kSample = 256;
  if (n < c && c >= 4 * kSample && n * 4 <= c) {
    const int64_t stride = c / kSample;
    const int64_t ns = c / stride;
    for (int64_t k = 0; k < ns; ++k) s.sample[k] = a[k * stride];
    const double expect = static_cast<double>(n) * ns / c;
    const int64_t r =
        std::min<int64_t>(ns, static_cast<int64_t>(expect + 2 * std::sqrt(expect) + 3));
    t = KthLargest(s.sample.data(), ns, r).first;
  }
  const float margin = 2 * delta;
  int64_t m = 0, above = 0;
  const float lo = t - margin;
  for (int64_t j = 0; j < c; ++j) {
    s.idx[m] = static_cast<int32_t>(j);
    s.val[m] = a[j];
    m += a[j] >= lo ? 1 : 0;
    above += a[j] >= t ? 1 : 0;
  }
  if (above < n) {  // unlucky sample: every value is a candidate
    for (int64_t j = 0; j < c; ++j) {
      s.idx[j] = static_cast<int32_t>(j);
      s.val[j] = a[j];
    }
    m = c;
  }
  // tau' <= tau: the n-th largest of the candidates (all values >= t are among them) or a
  // threshold with exactly n values above it.
  const float keep = KthLargest(s.val.data(), m, n).first - margin;
  int64_t k = 0;
  for (int64_t i = 0; i < m; ++i) {
    out[k] = s.idx[i];
    k += s.val[i] >= keep ? 1 : 0;
  }
  return k;
}

// One block of rows of the bf16 preselection path: the bf16 products `pa` ([rows, c]), the
// normalised rows `x` ([rows, d]) and cohort `ch` ([c, d]), cohort norms `cn`, row norms `xn`.
struct PreselectBlock {
  const c10::BFloat16* pa;
  const float *x, *ch, *cn;
  const double* xn;
  int64_t rows, c, d, n;
  bool imposter;
  float delta, delta_ip;
  CohortStats* out;
};

// Three passes over a block: (1) per row, the candidates of the cosine selection (and of the
// inner-product one for the imposter measure); (2) their exact values, in cohort order, so that
// each cohort vector is loaded once per block while the block's rows stay in cache (random
// order made the rescoring memory-bound); (3) per row, mean/variance of the n largest.
template <class DotFn>
inline void PreselectRowsBody(const PreselectBlock& b, PreselectScratch& s, DotFn&& dot) {
  const int64_t lists = b.imposter ? 2 : 1;
  s.offsets.assign(static_cast<size_t>(b.rows * lists + 1), 0);
  s.cand.clear();
  s.row_of.clear();
  for (int64_t r = 0; r < b.rows; ++r) {
    const c10::BFloat16* pr = b.pa + r * b.c;
    for (int64_t j = 0; j < b.c; ++j) s.row[j] = static_cast<float>(pr[j]);
    for (int64_t l = 0; l < lists; ++l) {
      const float* a = s.row.data();
      if (l == 1) {
        for (int64_t j = 0; j < b.c; ++j) s.w[j] = s.row[j] * b.cn[j];
        a = s.w.data();
      }
      const size_t at = s.cand.size();
      s.cand.resize(at + static_cast<size_t>(b.c));
      const int64_t k =
          SelectCandidates(a, b.c, b.n, l == 0 ? b.delta : b.delta_ip, s, s.cand.data() + at);
      s.cand.resize(at + static_cast<size_t>(k));
      s.row_of.resize(s.cand.size(), static_cast<int32_t>(r));
      s.offsets[static_cast<size_t>(r * lists + l + 1)] = static_cast<int64_t>(s.cand.size());
    }
  }
  // Counting sort of the candidate entries by cohort index.
  const size_t total = s.cand.size();
  s.pos.assign(static_cast<size_t>(b.c + 1), 0);
  for (int32_t j : s.cand) ++s.pos[static_cast<size_t>(j + 1)];
  for (int64_t j = 0; j < b.c; ++j) s.pos[j + 1] += s.pos[j];
  s.order.resize(total);
  for (size_t e = 0; e < total; ++e) s.order[s.pos[s.cand[e]]++] = static_cast<int32_t>(e);
  s.exact.resize(total);
  for (size_t q = 0; q < total; ++q) {
    const int32_t e = s.order[q];
    s.exact[e] = dot(b.x + s.row_of[e] * b.d, b.ch + static_cast<int64_t>(s.cand[e]) * b.d, b.d);
  }
  for (int64_t r = 0; r < b.rows; ++r) {
    CohortStats& st = b.out[r];
    for (int64_t l = 0; l < lists; ++l) {
      const int64_t from = s.offsets[r * lists + l], to = s.offsets[r * lists + l + 1];
      float* v = s.values.data();
      for (int64_t e = from; e < to; ++e) {
        v[e - from] = l == 0 ? s.exact[e] : s.exact[e] * b.cn[s.cand[e]];
      }
      const TopStats top = TopMeanVar(v, to - from, b.n, s.sample.data());
      if (l == 0) {
        st.mean = top.mean;
        st.std = std::sqrt(top.var);
      } else {
        st.imposter = b.xn[r] * top.mean;
      }
    }
  }
}

#if defined(SPEAKERNET_X86_AVX512_DISPATCH)
// The same code compiled for AVX-512 (the build targets baseline x86-64, where the dot products
// and threshold counts of the rescoring run 4 floats wide): chosen at run time.
// (GCC's auto-vectorisation of Dot's 8 partial sums shuffles more than it multiplies under
// AVX-512, hence the intrinsics.)
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))) inline float DotAvx512(
    const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  alignas(64) float lanes[16];  // (GCC 12's _mm512_reduce_add_ps trips -Wuninitialized)
  _mm512_store_ps(lanes, _mm512_add_ps(acc0, acc1));
  float sum = 0;
  for (float v : lanes) sum += v;
  return sum + tail;
}
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"), flatten)) void
PreselectRowsAvx512(const PreselectBlock& b, PreselectScratch& scratch) {
  PreselectRowsBody(b, scratch, DotAvx512);
}
bool HasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
  return has;
}
#endif  // SPEAKERNET_X86_AVX512_DISPATCH
__attribute__((flatten)) void PreselectRowsGeneric(const PreselectBlock& b,
                                                   PreselectScratch& scratch) {
  PreselectRowsBody(b, scratch, Dot<float>);
}

// Rows (x - mean) / max(||x - mean||, eps) in T, and the norms ||x - mean||.
template <class T>
void NormalizeRows(const std::vector<const float*>& rows, int64_t dim,
                   const std::vector<float>* mean, const std::function<std::string(size_t)>& name,
                   std::vector<T>* out, std::vector<double>* norms) {
  out->resize(rows.size() * static_cast<size_t>(dim));
  norms->resize(rows.size());
  std::vector<double> tmp(static_cast<size_t>(dim));
  for (size_t k = 0; k < rows.size(); ++k) {
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
}

void CheckInputs(const EmbeddingTable& table, const Cohort& cohort,
                 const ScoreNormOptions& options, const std::vector<float>* mean) {
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
    // Over the whole cohort: mean_j x.c_j = x.m1 and mean_j (x.c_j)^2 = x^T M2 x, with
    // m1 = mean c_j and M2 = mean c_j c_j^T; the imposter mean is |x| x.(mean of raw c_j).
    const torch::Tensor c64 = cht.to(torch::kDouble);
    const torch::Tensor m1 = c64.mean(0).to(dtype);
    const torch::Tensor m2 = torch::mm(c64.t(), c64).div_(static_cast<double>(c)).to(dtype);
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
        s.std = std::sqrt(std::max(pe2[r] - s.mean * s.mean, 0.0));
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
    if (options.bf16_preselect && d <= 1024) {
      // bf16 product for the candidates, fp32 dot products for the exact values.
      const torch::Tensor ch16_t = cht.to(torch::kBFloat16).t();
      const float cn_max = *std::max_element(cn_t.begin(), cn_t.end());
      // Inner products a_j |c_j| carry the cosine error times |c_j| <= cn_max, plus the float
      // product's own rounding.
      const float delta_ip = kBf16Delta * cn_max * (1 + 1e-5f) + 1e-6f * cn_max;
      ForEachBlock(u, options.block_rows, [&](int64_t r0, int64_t rows) {
        const torch::Tensor approx =
            torch::mm(rows_of_x(r0, rows).to(torch::kBFloat16), ch16_t).contiguous();
        const c10::BFloat16* pa = approx.data_ptr<c10::BFloat16>();
        thread_local std::unique_ptr<PreselectScratch> scratch;
        if (!scratch || static_cast<int64_t>(scratch->idx.size()) != c) {
          scratch = std::make_unique<PreselectScratch>(c);
        }
        const PreselectBlock b{pa,          x.data() + r0 * d, ch.data(), cn_t.data(),
                               xn.data() + r0, rows, c, d, n, options.imposter, kBf16Delta,
                               delta_ip,    stats.data() + r0};
#if defined(SPEAKERNET_X86_AVX512_DISPATCH)
        if (HasAvx512()) {
          PreselectRowsAvx512(b, *scratch);
          return;
        }
#endif
        PreselectRowsGeneric(b, *scratch);
      });
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
  return options.double_precision ? StatsImpl<double>(p.xd, p.norms, cohort, options, mean)
                                  : StatsImpl<float>(p.xf, p.norms, cohort, options, mean);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ReadUtt2Spk(const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, std::string>> out;
  const std::string utt2spk = data_dir + "/utt2spk", spk2utt = data_dir + "/spk2utt";
  if (fs::exists(utt2spk)) {
    for (const TextLine& line : ReadTextTable(utt2spk, 1, 1)) {
      out.emplace_back(line.key, line.fields[0]);
    }
  } else if (fs::exists(spk2utt)) {
    for (const TextLine& line : ReadTextTable(spk2utt, 1)) {
      for (const std::string& utt : line.fields) out.emplace_back(utt, line.key);
    }
  } else {
    SN_CHECK(false, "cohort data dir '{}' has neither utt2spk nor spk2utt", data_dir);
  }
  return out;
}

Cohort BuildCohort(const EmbeddingTable& table,
                   const std::vector<std::pair<std::string, std::string>>& utt2spk,
                   const std::string& source) {
  SN_CHECK(!utt2spk.empty(), "cohort {}: no utterances", source);
  const int64_t dim = table.dim();
  std::map<std::string, std::vector<size_t>> by_speaker;
  std::unordered_set<std::string> seen;
  for (const auto& [utt, spk] : utt2spk) {
    SN_CHECK(seen.insert(utt).second, "cohort {}: utterance '{}' is listed twice", source, utt);
    const int64_t i = table.IndexOf(utt);
    SN_CHECK(i >= 0, "cohort {}: no embedding for utterance '{}' (speaker '{}') in {}", source,
             utt, spk, table.source());
    by_speaker[spk].push_back(static_cast<size_t>(i));
  }
  Cohort cohort;
  cohort.dim = dim;
  cohort.source = source;
  cohort.vectors.reserve(by_speaker.size() * static_cast<size_t>(dim));
  std::vector<double> acc(static_cast<size_t>(dim));
  for (const auto& [spk, rows] : by_speaker) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t r : rows) {
      const std::vector<float>& e = table.Row(r);
      double sq = 0;
      for (int64_t j = 0; j < dim; ++j) sq += static_cast<double>(e[j]) * e[j];
      SN_CHECK(std::isfinite(sq), "cohort {}: embedding '{}' in {} is not finite", source,
               table.key(r), table.source());
      const double inv = 1.0 / std::max(std::sqrt(sq), kEps);
      for (int64_t j = 0; j < dim; ++j) acc[j] += e[j] * inv;
    }
    cohort.speakers.push_back(spk);
    for (int64_t j = 0; j < dim; ++j) {
      cohort.vectors.push_back(static_cast<float>(acc[j] / static_cast<double>(rows.size())));
    }
  }
  return cohort;
}

Cohort BuildCohortFromDataDir(const EmbeddingTable& table, const std::string& data_dir) {
  return BuildCohort(table, ReadUtt2Spk(data_dir), data_dir);
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

NormalizedScores ScoreNorm(const EmbeddingTable& table, const std::vector<Trial>& trials,
                           const Cohort& cohort, const ScoreNormOptions& options,
                           const std::vector<float>* mean) {
  CheckInputs(table, cohort, options, mean);
  // Map each trial side to a compact slot of the used table rows (as CosineScores).
  std::vector<int64_t> slot(table.size(), -1);
  std::vector<size_t> used;
  std::vector<std::pair<int64_t, int64_t>> pairs(trials.size());
  auto slot_of = [&](const std::string& id, size_t trial) -> int64_t {
    const int64_t i = table.IndexOf(id);
    SN_CHECK(i >= 0, "trial #{} ('{}' '{}'): no embedding for '{}' in {}", trial + 1,
             trials[trial].enroll, trials[trial].test, id, table.source());
    int64_t& s = slot[static_cast<size_t>(i)];
    if (s < 0) {
      s = static_cast<int64_t>(used.size());
      used.push_back(static_cast<size_t>(i));
    }
    return s;
  };
  const std::string* last_enroll = nullptr;
  int64_t last_slot = -1;
  for (size_t t = 0; t < trials.size(); ++t) {
    if (last_enroll == nullptr || *last_enroll != trials[t].enroll) {
      last_slot = slot_of(trials[t].enroll, t);
      last_enroll = &trials[t].enroll;
    }
    pairs[t] = {last_slot, slot_of(trials[t].test, t)};
  }
  Prepared p = PrepareRows(table, used, options, mean);
  const std::vector<CohortStats> stats = Stats(p, cohort, options, mean);

  const int64_t d = table.dim();
  NormalizedScores out;
  out.raw.resize(trials.size());
  out.scores.resize(trials.size());
  out.enroll_imposter.resize(trials.size());
  out.test_imposter.resize(trials.size());
  for (size_t t = 0; t < trials.size(); ++t) {
    const auto [e, s] = pairs[t];
    const double raw = options.double_precision
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
  return out;
}

}  // namespace speakernet
