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

#include "speakernet/backend/int8_gemm.h"
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

#if defined(SPEAKERNET_X86_AVX512_DISPATCH)
// AVX-512 code, chosen at run time (the build targets baseline x86-64, where the dot products
// of the rescoring would run 4 floats wide). (GCC's auto-vectorisation of Dot's 8 partial sums
// shuffles more than it multiplies under AVX-512, hence the intrinsics.)
// Sum of the 16 lanes as a tree (depth 4 instead of a chain of 16 adds). Through memory: GCC
// 12's lane-extracting intrinsics trip -Wuninitialized.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))) inline float HorizontalSum(
    __m512 v) {
  alignas(64) float l[16];
  _mm512_store_ps(l, v);
  for (int w = 8; w >= 1; w /= 2) {
    for (int i = 0; i < w; ++i) l[i] += l[i + w];
  }
  return l[0];
}
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
  return HorizontalSum(_mm512_add_ps(acc0, acc1)) + tail;
}

// Four dot products of one cohort row c with the rows x + r_i * n (r_i = rows[i].first):
// eight independent FMA chains, where a single dot product waits on the FMA latency and its
// reduction (~33 ns each on this machine; four at a time ~24 ns each by perf shares, still well
// above what the loads need: not understood). Same summation order as DotAvx512, so a value
// does not depend on which of the two computed it.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))) inline void Dot4Avx512(
    const float* x, const std::pair<int32_t, int32_t>* rows, const float* c, int64_t n,
    float* out) {
  const float* a[4];
  for (int q = 0; q < 4; ++q) a[q] = x + static_cast<int64_t>(rows[q].first) * n;
  __m512 acc0[4], acc1[4];
  for (int q = 0; q < 4; ++q) acc0[q] = acc1[q] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 c0 = _mm512_loadu_ps(c + i), c1 = _mm512_loadu_ps(c + i + 16);
    for (int q = 0; q < 4; ++q) {
      acc0[q] = _mm512_fmadd_ps(_mm512_loadu_ps(a[q] + i), c0, acc0[q]);
      acc1[q] = _mm512_fmadd_ps(_mm512_loadu_ps(a[q] + i + 16), c1, acc1[q]);
    }
  }
  for (int q = 0; q < 4; ++q) {
    float tail = 0;
    for (int64_t k = i; k < n; ++k) tail += a[q][k] * c[k];
    out[q] = HorizontalSum(_mm512_add_ps(acc0[q], acc1[q])) + tail;
  }
}
bool HasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
  return has;
}
#endif  // SPEAKERNET_X86_AVX512_DISPATCH
// ---- AS-norm with int8 preselection (ScoreNormOptions::int8_preselect) ----
//
// Every vector v (a normalised utterance x or cohort vector c_j, both |v| <= 1 up to rounding)
// is quantised with its own scale s = max|v_k| / 127: q_k = round(v_k / s) in [-127, 127],
// v^ = s q, residual r = v - v^. The int8 product I = qx.qc_j is exact in int32 (oneDNN, VNNI),
// so s~_j = sx sc_j I_j is x^.c^_j up to two float roundings. Since
//   x.c_j = x^.c^_j + x^.rc_j + rx.c_j,
// Cauchy-Schwarz gives the rigorous per-pair bound
//   |x.c_j - s~_j| <= |x^| |rc_j| + |rx| |c_j| + 2.001 u |x^| |c^_j|          (u = 2^-24)
// and the fp32 dot product f_j that rescoring computes (and whose top-N we want) differs from
// x.c_j by at most (d + 20) u |x| |c_j| (8- or 32-lane partial sums, then a lane reduction).
// eps_j below is the sum of these, plus 1e-6 for the float arithmetic of the bounds themselves
// (all quantities are <= 4 in magnitude, each operation errs by <= 4 u). The norms are taken in
// double and rounded up. For the imposter selection w_j = f_j n_j (n_j = |c_j - m|, as the
// fp32 path multiplies) the approximation is s~_j n_j, with margin (eps_j + 1e-6) n_j.
//
// Per row, with upper bounds su_j = s~_j + eps_j and lower bounds lo_j = s~_j - eps_j:
//  1. t0 <= LB = N-th largest lo_j (from a sample, confirmed by counting; -inf when the
//     sample was unlucky), A = {j : su_j >= t0} (one vectorised pass);
//  2. P1 = the j in A with s~_j >= tau~ (tau~ = N-th largest s~_j; every s~_j >= tau~ is in A
//     since su_j >= s~_j >= tau~ >= LB >= t0), rescored exactly;
//  3. tau1 = N-th largest exact f_j over P1 <= tau (the true N-th largest f: at least N values
//     are >= tau1), T = max(tau1, t0); every j with f_j >= tau has su_j >= f_j >= tau >= T and
//     is in A, so rescoring P2 = {j in A : su_j >= T} \ P1 leaves every value >= tau rescored;
//  4. mean/std over the N largest rescored values: the exact top-N statistics, ties included.
// Against the "2 eps" rule (candidates s~_j >= tau~ - 2 eps) this keeps about half the band:
// measured about 300 + 175 rescored per row (eps ~ 0.013) on the bench's synthetic VoxCeleb1-E
// data (bench/backend_bench), |A| ~ 980.
struct Int8Cohort {
  int64_t c = 0, d = 0;
  std::vector<int8_t> q;           // [c, d]
  std::vector<int32_t> offset;     // 128 * sum_k q_jk: the rows are passed as u8 = qx + 128
  std::vector<float> scale;        // sc_j
  std::vector<float> residual;     // >= |rc_j|
  std::vector<float> norm;         // n_j = |c_j - m| (float, as the fp32 path)
  float hat_max = 0, len_max = 0;  // >= max_j |c^_j|, >= max_j |c_j|
};

// Quantises v[0..d) into q (int8, [-127, 127]); returns the scale and upper bounds of |v^|,
// |v - v^| and |v|.
struct QuantInfo {
  float scale, hat, residual, len;
};
inline float RoundUp(double v) {
  return std::nextafter(static_cast<float>(v * (1 + 1e-12)), std::numeric_limits<float>::max());
}
template <class Q>
QuantInfo Quantise(const float* v, int64_t d, Q* q, int add) {
  float m = 0;
  for (int64_t k = 0; k < d; ++k) m = std::max(m, std::abs(v[k]));
  const float s = m / 127;
  double hat = 0, res = 0, len = 0;
  for (int64_t k = 0; k < d; ++k) {
    const float qk = s > 0 ? std::min(127.0f, std::max(-127.0f, std::nearbyint(v[k] / s))) : 0;
    q[k] = static_cast<Q>(static_cast<int>(qk) + add);
    const double h = static_cast<double>(s) * qk;  // exact in double
    hat += h * h;
    res += (v[k] - h) * (v[k] - h);
    len += static_cast<double>(v[k]) * v[k];
  }
  return {s, RoundUp(std::sqrt(hat)), RoundUp(std::sqrt(res)), RoundUp(std::sqrt(len))};
}

Int8Cohort QuantiseCohort(const std::vector<float>& ch, const std::vector<float>& norms, int64_t c,
                          int64_t d) {
  Int8Cohort q;
  q.c = c;
  q.d = d;
  q.q.resize(static_cast<size_t>(c * d));
  q.offset.resize(static_cast<size_t>(c));
  q.scale.resize(static_cast<size_t>(c));
  q.residual.resize(static_cast<size_t>(c));
  q.norm = norms;
  for (int64_t j = 0; j < c; ++j) {
    int8_t* qj = q.q.data() + j * d;
    const QuantInfo info = Quantise(ch.data() + j * d, d, qj, 0);
    int32_t sum = 0;
    for (int64_t k = 0; k < d; ++k) sum += qj[k];
    q.offset[j] = 128 * sum;
    q.scale[j] = info.scale;
    q.residual[j] = info.residual;
    q.hat_max = std::max(q.hat_max, info.hat);
    q.len_max = std::max(q.len_max, info.len);
  }
  return q;
}

// Candidate lists of one row (indices, approximations, upper bounds), with room for a full
// 16-wide store past the end.
struct CandList {
  std::vector<int32_t> idx;
  std::vector<float> approx, upper;
  int64_t size = 0;
  explicit CandList(int64_t c)
      : idx(static_cast<size_t>(c + 16)),
        approx(static_cast<size_t>(c + 16)),
        upper(static_cast<size_t>(c + 16)) {}
};

// Per-thread scratch of the list building.
struct Int8Scratch {
  CandList a, b;  // cosine and imposter lists
  std::vector<float> sample, values, buf;
  std::vector<float> by_j;                         // exact values of one row by cohort index
  std::vector<int32_t> count;                      // cohort-order rescoring: bucket starts
  std::vector<std::pair<int32_t, int32_t>> order;  // (row, position in its pend list)
  explicit Int8Scratch(int64_t c)
      : a(c),
        b(c),
        sample(static_cast<size_t>(c)),
        values(static_cast<size_t>(c + 16)),
        buf(static_cast<size_t>(c + 16)),
        by_j(static_cast<size_t>(c)) {}
};

// What one row of a block carries between the phases.
struct RowWork {
  float t0 = 0, t0w = 0;
  std::vector<int32_t> a_idx, b_idx, p1, p1w, pend, all;  // all: every rescored j
  std::vector<float> a_up, b_up, pend_val, all_val;       // exact values of pend / all
};

// One row's inputs: the int8 products, the quantisation bounds and the fp32 row.
struct Int8Row {
  const int32_t* prod;  // [c]
  const float* x;       // [d], normalised
  float sx, ax, e;      // scale, >= |x^|, eps_j = ax * residual_j + e
};

#if defined(SPEAKERNET_X86_AVX512_DISPATCH)
#define SN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#else
#define SN_AVX512
#endif

// s~_j, eps_j of one cohort entry (scalar; the sampled entries).
inline void ApproxAt(const Int8Row& r, const Int8Cohort& q, int64_t j, float* s, float* e) {
  *s = r.sx * (q.scale[j] * static_cast<float>(r.prod[j] - q.offset[j]));
  *e = r.ax * q.residual[j] + r.e;
}

#if defined(SPEAKERNET_X86_AVX512_DISPATCH)
// Step 1's pass over a whole row: appends {j : su_j >= t0} to `a` and {j : wu_j >= t0w} to `b`
// (when imposter), and counts lo_j >= t0 and wlo_j >= t0w.
SN_AVX512 void BuildLists(const Int8Row& r, const Int8Cohort& q, float t0, float t0w, bool imposter,
                          CandList& a, CandList& b, int64_t* count_lo, int64_t* count_wlo) {
  const __m512 vsx = _mm512_set1_ps(r.sx), vax = _mm512_set1_ps(r.ax), ve = _mm512_set1_ps(r.e);
  const __m512 vt0 = _mm512_set1_ps(t0), vt0w = _mm512_set1_ps(t0w);
  const __m512 tiny = _mm512_set1_ps(1e-6f);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  int64_t na = 0, nb = 0, clo = 0, cwlo = 0;
  for (int64_t j = 0; j < q.c; j += 16) {
    const int64_t left = q.c - j;
    const __mmask16 live = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
    const __m512i prod = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(live, r.prod + j),
                                          _mm512_maskz_loadu_epi32(live, q.offset.data() + j));
    const __m512 s = _mm512_mul_ps(
        vsx,
        _mm512_mul_ps(_mm512_maskz_loadu_ps(live, q.scale.data() + j), _mm512_maskz_cvtepi32_ps(live, prod)));
    const __m512 e = _mm512_fmadd_ps(vax, _mm512_maskz_loadu_ps(live, q.residual.data() + j), ve);
    const __m512 su = _mm512_add_ps(s, e), lo = _mm512_sub_ps(s, e);
    const __m512i jj = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(j)), iota);
    clo += __builtin_popcount(_mm512_mask_cmp_ps_mask(live, lo, vt0, _CMP_GE_OQ));
    const __mmask16 ma = _mm512_mask_cmp_ps_mask(live, su, vt0, _CMP_GE_OQ);
    if (ma) {
      // Compress into a register, then a plain store (compress-to-memory is slow on Zen 4).
      _mm512_storeu_si512(a.idx.data() + na, _mm512_maskz_compress_epi32(ma, jj));
      _mm512_storeu_ps(a.approx.data() + na, _mm512_maskz_compress_ps(ma, s));
      _mm512_storeu_ps(a.upper.data() + na, _mm512_maskz_compress_ps(ma, su));
      na += __builtin_popcount(ma);
    }
    if (imposter) {
      const __m512 n = _mm512_maskz_loadu_ps(live, q.norm.data() + j);
      const __m512 w = _mm512_mul_ps(s, n);
      const __m512 ew = _mm512_mul_ps(_mm512_add_ps(e, tiny), n);
      const __m512 wu = _mm512_add_ps(w, ew), wlo = _mm512_sub_ps(w, ew);
      cwlo += __builtin_popcount(_mm512_mask_cmp_ps_mask(live, wlo, vt0w, _CMP_GE_OQ));
      const __mmask16 mb = _mm512_mask_cmp_ps_mask(live, wu, vt0w, _CMP_GE_OQ);
      if (mb) {
        _mm512_storeu_si512(b.idx.data() + nb, _mm512_maskz_compress_epi32(mb, jj));
        _mm512_storeu_ps(b.approx.data() + nb, _mm512_maskz_compress_ps(mb, w));
        _mm512_storeu_ps(b.upper.data() + nb, _mm512_maskz_compress_ps(mb, wu));
        nb += __builtin_popcount(mb);
      }
    }
  }
  a.size = na;
  b.size = nb;
  *count_lo = clo;
  *count_wlo = cwlo;
}

// Phase 1 of one row (steps 1-2): the lists A (and B) with their upper bounds, P1 (and P1w),
// and the entries to rescore (pend, marked in `done`).
SN_AVX512 __attribute__((flatten)) void Int8RowPhase1(const Int8Row& r, const Int8Cohort& q,
                                                      int64_t n, bool imposter, Int8Scratch& s,
                                                      RowWork& w, uint8_t* done) {
  const int64_t c = q.c;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  // Step 1: t0 / t0w from a sample of lower bounds (r-th largest of the sample, r a little
  // above the expected count of top-N members in it). The sample is 32 runs of 16 consecutive
  // entries spread over the row: a strided sample of single entries touched every cache line
  // of the row with scalar loads and cost more than the vectorised pass over the whole row.
  float t0 = -kInf, t0w = -kInf;
  constexpr int64_t kRuns = 32;
  if (n < c && c >= 4 * 16 * kRuns && n * 4 <= c) {
    const int64_t stride = (c / 16 / kRuns) * 16;
    const int64_t ns = kRuns * 16;
    const double expect = static_cast<double>(n) * ns / c;
    const int64_t rank =
        std::min<int64_t>(ns, static_cast<int64_t>(expect + 2 * std::sqrt(expect) + 3));
    float* lo = s.sample.data();
    float* wlo = s.buf.data();
    for (int64_t k = 0; k < kRuns; ++k) {
      for (int64_t i = 0; i < 16; ++i) {
        float sj, ej;
        const int64_t j = k * stride + i;
        ApproxAt(r, q, j, &sj, &ej);
        lo[k * 16 + i] = sj - ej;
        wlo[k * 16 + i] = sj * q.norm[j] - (ej + 1e-6f) * q.norm[j];
      }
    }
    t0 = KthLargest(lo, ns, rank).first;
    if (imposter) t0w = KthLargest(wlo, ns, rank).first;
  }
  int64_t count_lo = 0, count_wlo = 0;
  BuildLists(r, q, t0, t0w, imposter, s.a, s.b, &count_lo, &count_wlo);
  if (count_lo < n || (imposter && count_wlo < n)) {  // unlucky sample: keep every entry
    if (count_lo < n) t0 = -kInf;
    if (imposter && count_wlo < n) t0w = -kInf;
    BuildLists(r, q, t0, t0w, imposter, s.a, s.b, &count_lo, &count_wlo);
  }
  w.t0 = t0;
  w.t0w = t0w;
  w.pend.clear();
  w.all.clear();
  // Step 2: P1 = {j in A : s~_j >= tau~}; keep A's indices and upper bounds for step 3.
  auto take = [&](const CandList& l, std::vector<int32_t>& p1, std::vector<int32_t>& idx,
                  std::vector<float>& up) {
    const float tau = KthLargest(l.approx.data(), l.size, n).first;
    p1.resize(static_cast<size_t>(l.size));
    int64_t m = 0;
    for (int64_t i = 0; i < l.size; ++i) {
      p1[m] = l.idx[i];
      m += l.approx[i] >= tau ? 1 : 0;
    }
    p1.resize(static_cast<size_t>(m));
    idx.assign(l.idx.begin(), l.idx.begin() + l.size);
    up.assign(l.upper.begin(), l.upper.begin() + l.size);
    for (int32_t j : p1) {
      if (!done[j]) {
        done[j] = 1;
        w.pend.push_back(j);
      }
    }
  };
  take(s.a, w.p1, w.a_idx, w.a_up);
  if (imposter) take(s.b, w.p1w, w.b_idx, w.b_up);
  w.all = w.pend;
  w.pend_val.resize(w.pend.size());
}

// Phase 2 of one row (step 3), after P1's exact values are in ex: pend = P2 (and P2w).
SN_AVX512 __attribute__((flatten)) void Int8RowPhase2(const Int8Cohort& q, int64_t n, bool imposter,
                                                      Int8Scratch& s, RowWork& w, uint8_t* done) {
  w.all_val = w.pend_val;
  float* ex = s.by_j.data();
  for (size_t i = 0; i < w.all.size(); ++i) ex[w.all[i]] = w.all_val[i];
  w.pend.clear();
  auto extend = [&](const std::vector<int32_t>& p1, const std::vector<int32_t>& idx,
                    const std::vector<float>& up, float t_0, bool weighted) {
    float* v = s.values.data();
    for (size_t i = 0; i < p1.size(); ++i) {
      const int32_t j = p1[i];
      v[i] = weighted ? ex[j] * q.norm[j] : ex[j];
    }
    const float t = std::max(KthLargest(v, static_cast<int64_t>(p1.size()), n).first, t_0);
    // Branch-free (about half of A passes the test, unpredictably); a j in both A and B is
    // appended once, as `done` is set as it goes.
    const size_t at = w.pend.size();
    w.pend.resize(at + idx.size());
    int32_t* out = w.pend.data() + at;
    int64_t m = 0;
    for (size_t i = 0; i < idx.size(); ++i) {
      const int32_t j = idx[i];
      const bool take = (up[i] >= t) & !done[j];
      out[m] = j;
      done[j] |= static_cast<uint8_t>(take);
      m += take ? 1 : 0;
    }
    w.pend.resize(at + static_cast<size_t>(m));
  };
  extend(w.p1, w.a_idx, w.a_up, w.t0, false);
  if (imposter) extend(w.p1w, w.b_idx, w.b_up, w.t0w, true);
  w.all.insert(w.all.end(), w.pend.begin(), w.pend.end());
  w.pend_val.resize(w.pend.size());
}

// Step 4 of one row: statistics over the rescored values; clears the row's marks.
SN_AVX512 __attribute__((flatten)) void Int8RowFinish(const Int8Cohort& q, int64_t n, bool imposter,
                                                      Int8Scratch& s, RowWork& w, uint8_t* done,
                                                      double* mean, double* var, double* imp_mean) {
  w.all_val.insert(w.all_val.end(), w.pend_val.begin(), w.pend_val.end());
  const int64_t m = static_cast<int64_t>(w.all.size());
  const TopStats top = TopMeanVar(w.all_val.data(), m, n, s.buf.data());
  *mean = top.mean;
  *var = top.var;
  if (imposter) {
    float* v = s.values.data();
    for (int64_t i = 0; i < m; ++i) v[i] = w.all_val[i] * q.norm[w.all[i]];
    *imp_mean = TopMeanVar(v, m, n, s.buf.data()).mean;
  }
  for (int32_t j : w.all) done[j] = 0;
}

// Exact fp32 dot products for every (row, j) in the pend lists of rows [ra, rb) with j in
// [j0, j1), in cohort order: each cohort row is read once per block (from L3) and dotted with
// the block's rows that need it (in L2). Row by row, the 1 KB gathers from the 6 MB cohort made
// the rescoring memory-bound (no speed-up from a second thread).
SN_AVX512 void RescoreByCohort(std::vector<RowWork>& work, int64_t ra, int64_t rb, const float* x,
                               const float* ch, int64_t d, int64_t j0, int64_t j1, Int8Scratch& s) {
  const int64_t span = j1 - j0;
  s.count.assign(static_cast<size_t>(span + 1), 0);
  for (int64_t r = ra; r < rb; ++r) {
    for (int32_t j : work[r].pend) {
      if (j >= j0 && j < j1) ++s.count[j - j0 + 1];
    }
  }
  for (int64_t k = 0; k < span; ++k) s.count[k + 1] += s.count[k];
  s.order.resize(static_cast<size_t>(s.count[span]));
  std::vector<int32_t>& at = s.count;  // start of each bucket, advanced while filling
  for (int64_t r = ra; r < rb; ++r) {
    const std::vector<int32_t>& pend = work[r].pend;
    for (size_t k = 0; k < pend.size(); ++k) {
      const int32_t j = pend[k];
      if (j >= j0 && j < j1) {
        s.order[at[j - j0]++] = {static_cast<int32_t>(r), static_cast<int32_t>(k)};
      }
    }
  }
  // at[k] is now the end of bucket k (= start of bucket k + 1).
  int64_t from = 0;
  for (int64_t k = 0; k < span; ++k) {
    const int64_t to = at[k];
    const float* cj = ch + (j0 + k) * d;
    int64_t e = from;
    for (; e + 4 <= to; e += 4) {
      float out[4];
      Dot4Avx512(x, s.order.data() + e, cj, d, out);
      for (int i = 0; i < 4; ++i) {
        const auto [r, pos] = s.order[e + i];
        work[r].pend_val[pos] = out[i];
      }
    }
    for (; e < to; ++e) {
      const auto [r, pos] = s.order[e];
      work[r].pend_val[pos] = DotAvx512(x + static_cast<int64_t>(r) * d, cj, d);
    }
    from = to;
  }
}
#endif  // SPEAKERNET_X86_AVX512_DISPATCH

// Whether StatsImpl<float> takes the int8 path (AS-norm in float32 only).
bool UseInt8(const ScoreNormOptions& o, int64_t d) {
#if defined(SPEAKERNET_X86_AVX512_DISPATCH)
  return o.int8_preselect && o.method == ScoreNormMethod::kASNorm && !o.double_precision &&
         d <= 1024 && HasAvx512() && Int8GemmAvailable();
#else
  (void)o, (void)d;
  return false;
#endif
}

// AS-norm statistics of the normalised rows x ([u, d], norms xn) through the int8 path: per
// block of rows the int8 product (oneDNN, threaded by oneDNN itself, so outside any parallel
// region), then the per-row selection and rescoring in parallel over the block's rows.
// d <= 1024 keeps |I| < 2^24 (exact in float) and the u8 x s8 sums below 2^31.
void Int8Stats(const std::vector<float>& x, const std::vector<double>& xn,
               const std::vector<float>& ch, const std::vector<float>& cn, int64_t c, int64_t d,
               const ScoreNormOptions& o, std::vector<CohortStats>& stats) {
#if defined(SPEAKERNET_X86_AVX512_DISPATCH)
  const int64_t u = static_cast<int64_t>(xn.size());
  const Int8Cohort q = QuantiseCohort(ch, cn, c, d);
  constexpr double kU = 1.0 / (1 << 24);
  std::vector<uint8_t> qx(static_cast<size_t>(u * d));
  std::vector<Int8Row> rows(static_cast<size_t>(u));
  at::parallel_for(0, u, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const QuantInfo info = Quantise(x.data() + i * d, d, qx.data() + i * d, 128);
      // eps_j = ax |rc_j| + e: e bounds |rx| |c_j|, the fp32 dot's rounding, the two roundings
      // of s~ and the float arithmetic of the bounds (see the derivation above Int8Cohort).
      const double e = static_cast<double>(info.residual) * q.len_max +
                       (d + 20) * kU * 1.02 * info.len * q.len_max +
                       2.001 * kU * info.hat * q.hat_max + 1e-6;
      rows[static_cast<size_t>(i)] = {nullptr, x.data() + i * d, info.scale, info.hat, RoundUp(e)};
    }
  });
  const int64_t block = std::max<int64_t>(o.block_rows, 1);
  const int64_t n = o.top_n;
  const size_t cells = static_cast<size_t>(std::min(block, u) * c);
  std::vector<int32_t> prod(cells);
  std::vector<uint8_t> done(cells);  // rescored marks, cleared by Int8RowFinish
  std::vector<RowWork> work(static_cast<size_t>(std::min(block, u)));
  auto scratch_of = [c]() -> Int8Scratch& {
    thread_local std::unique_ptr<Int8Scratch> scratch;
    if (!scratch || static_cast<int64_t>(scratch->a.idx.size()) != c + 16) {
      scratch = std::make_unique<Int8Scratch>(c);
    }
    return *scratch;
  };
  // Per block: the product (threaded by oneDNN, so outside any parallel region), then one
  // parallel region in which each thread takes a contiguous share of the block's rows through
  // all steps, with its own cohort-order rescoring: one barrier per block instead of one per
  // step, and no row's data shared between threads.
  for (int64_t r0 = 0; r0 < u; r0 += block) {
    const int64_t nrows = std::min(block, u - r0);
    Int8GemmNT(nrows, c, d, qx.data() + r0 * d, q.q.data(), prod.data());
    const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), nrows));
    at::parallel_for(0, parts, 1, [&](int64_t pb, int64_t pe) {
      Int8Scratch& s = scratch_of();
      for (int64_t part = pb; part < pe; ++part) {
        const int64_t ra = nrows * part / parts, rb = nrows * (part + 1) / parts;
        for (int64_t r = ra; r < rb; ++r) {
          if (r + 1 < rb) {  // the next row's products (24 KB at C = 5994) into L2
            const char* next = reinterpret_cast<const char*>(prod.data() + (r + 1) * c);
            for (int64_t b = 0; b < c * 4; b += 64) __builtin_prefetch(next + b);
          }
          Int8Row row = rows[static_cast<size_t>(r0 + r)];
          row.prod = prod.data() + r * c;
          Int8RowPhase1(row, q, n, o.imposter, s, work[r], done.data() + r * c);
        }
        RescoreByCohort(work, ra, rb, x.data() + r0 * d, ch.data(), d, 0, c, s);
        for (int64_t r = ra; r < rb; ++r) {
          Int8RowPhase2(q, n, o.imposter, s, work[r], done.data() + r * c);
        }
        RescoreByCohort(work, ra, rb, x.data() + r0 * d, ch.data(), d, 0, c, s);
        for (int64_t r = ra; r < rb; ++r) {
          double mean = 0, var = 0, imp = 0;
          Int8RowFinish(q, n, o.imposter, s, work[r], done.data() + r * c, &mean, &var, &imp);
          CohortStats& st = stats[static_cast<size_t>(r0 + r)];
          st.mean = mean;
          st.std = std::sqrt(var);
          st.imposter = o.imposter ? xn[static_cast<size_t>(r0 + r)] * imp : 0.0;
        }
      }
    });
  }
#else
  (void)x, (void)xn, (void)ch, (void)cn, (void)c, (void)d, (void)o, (void)stats;
#endif
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
    if (UseInt8(options, d)) {
      Int8Stats(x, xn, ch, cn_t, c, d, options, stats);
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
    SN_CHECK(i >= 0, "cohort {}: no embedding for utterance '{}' (speaker '{}') in {}", source, utt,
             spk, table.source());
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
  // The hash lookups in parallel (about 0.25 s for 1.16M ids on one thread), then the slots in
  // trial order, so that a missing id is reported for the first trial that has one.
  const int64_t nt = static_cast<int64_t>(trials.size());
  std::vector<std::pair<int64_t, int64_t>> rows_of(trials.size());
  at::parallel_for(0, nt, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const bool same = t > begin && trials[t].enroll == trials[t - 1].enroll;
      rows_of[t] = {same ? rows_of[t - 1].first : table.IndexOf(trials[t].enroll),
                    table.IndexOf(trials[t].test)};
    }
  });
  auto slot_at = [&](int64_t i, const std::string& id, size_t trial) -> int64_t {
    if (i < 0) return slot_of(id, trial);  // throws, naming the trial
    int64_t& s = slot[static_cast<size_t>(i)];
    if (s < 0) {
      s = static_cast<int64_t>(used.size());
      used.push_back(static_cast<size_t>(i));
    }
    return s;
  };
  for (size_t t = 0; t < trials.size(); ++t) {
    pairs[t] = {slot_at(rows_of[t].first, trials[t].enroll, t),
                slot_at(rows_of[t].second, trials[t].test, t)};
  }
  Prepared p = PrepareRows(table, used, options, mean);
  const std::vector<CohortStats> stats = Stats(p, cohort, options, mean);

  const int64_t d = table.dim();
  NormalizedScores out;
  out.raw.resize(trials.size());
  out.scores.resize(trials.size());
  out.enroll_imposter.resize(trials.size());
  out.test_imposter.resize(trials.size());
  at::parallel_for(0, nt, 4096, [&](int64_t begin, int64_t end) {
    for (size_t t = static_cast<size_t>(begin); t < static_cast<size_t>(end); ++t) {
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
