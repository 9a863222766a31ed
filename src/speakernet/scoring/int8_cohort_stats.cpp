#include "speakernet/scoring/int8_cohort_stats.h"

#include <ATen/Parallel.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SPEAKERNET_INT8_X86 1
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "speakernet/scoring/int8_gemm.h"
#include "speakernet/scoring/top_n.h"
#include "speakernet/common/error.h"

// ---- The method ----
//
// Every vector v (a normalised utterance x or cohort vector c_j, both |v| <= 1 up to rounding)
// is quantised with its own scale s = max|v_k| / 127: q_k = round(v_k / s) in [-127, 127],
// v^ = s q, residual r = v - v^. The int8 product I = qx.qc_j is exact in int32 (oneDNN, VNNI),
// so a_j = sx (sc_j I_j) is x^.c^_j up to two float roundings. Since
//   x.c_j = x^.c^_j + x^.rc_j + rx.c_j,
// Cauchy-Schwarz gives the rigorous per-pair bound
//   |x.c_j - a_j| <= |x^| |rc_j| + |rx| |c_j| + 2.001 u |x^| |c^_j|          (u = 2^-24)
// and the fp32 dot product f_j that rescoring computes (and whose top-N we want) differs from
// x.c_j by at most (d + 20) u |x| |c_j| (16-lane partial sums, then a 4-level lane reduction).
// eps_j below is the sum of these, plus 1e-6 for the float arithmetic of the bounds themselves
// (all quantities are <= 4 in magnitude, each operation errs by <= 4 u). The norms are taken in
// double and rounded up. For the imposter ordering w_j = f_j n_j (n_j = |c_j - m|, as the fp32
// path multiplies) the approximation is a_j n_j, with margin (eps_j + 1e-6) n_j.
//
// Per row, with up_j = a_j + eps_j and eps_max = max_j eps_j (tau = the N-th largest f_j):
//  1. t_s: a threshold from a sample of the a_j (a rank a little above the expected count of
//     top-N members in it); one vectorised pass keeps L = {j : up_j >= t_s - eps_max} and counts
//     a_j >= t_s. Fewer than N such (an unlucky sample, rare): t_s = -inf, L = everything.
//  2. t1 >= t_s with N <= #{a_j >= t1} <= N + 8 (bisection over L); P1 = {j : a_j >= t1}.
//     The N or more members of P1 have f_j >= a_j - eps_j >= t1 - eps_max =: t0, so tau >= t0.
//  3. P1 is rescored (exact f_j). tau1 = min over P1 of f_j <= tau (P1 holds >= N values);
//     T = max(tau1, t0). Every j with f_j >= tau has up_j >= f_j >= tau >= T >= t_s - eps_max,
//     so it is in L, and in P1 or in P2 = {j in L \ P1 : up_j >= T}, which is rescored next.
//  4. Mean / std over the N largest of the rescored values: the exact top-N statistics.
// The imposter ordering repeats 1-4 with w_j, its margins and its own lists.
//
// ---- The organisation ----
//
// The rows are processed in blocks of kBlockRows (512), each block by one thread from start to
// end (threads pull blocks from a shared counter: no barrier, so a thread the OS deschedules on
// a shared machine does not stall the other). Per 128 rows of the block: the int8 product
// ([128, C] int32, 3 MB at C = 5994, still in cache for the selection; oneDNN runs
// single-threaded inside the parallel region, ~7.4 us per row at C = 5994, d = 256 on Zen 4),
// then the per-row lists. Then two rescoring passes over the whole block in cohort tiles of
// kTile (512) vectors: the tile stays in L2 while every row of the block takes its candidates in
// it, with the row held in registers. Rescoring is bound by reading the cohort vectors (1 KB
// per dot product from L2; ~15-20 ns each, measured): with ~480 rescored per row at
// VoxCeleb1-E scale it takes about as long as the int8 product.
// Measured with build/bench/backend_bench 2 5 512 asnorm (VoxCeleb1-E scale, 2 Zen 4 cores):
// blocks of 128 rows and 256-vector tiles 1.97-2.15 s; 512-row blocks 1.94-1.99 s; tiles of
// 128 / 512 / 1024 / all: 2.01-2.08 / 1.86-1.88 / 1.86-2.03 / 2.14 s.

namespace speakernet {

#if defined(SPEAKERNET_INT8_X86)

namespace {

// GCC 12's own AVX-512 headers build unmasked intrinsics on _mm512_undefined_*(), which
// -Wmaybe-uninitialized reports at every use; the values are never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define SN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int64_t kBlockRows = 512;  // rows rescored together (the cohort is swept once each)
constexpr int64_t kGemmRows = 128;   // rows per int8 product (its 3 MB output stays in cache)
constexpr int64_t kTile = 512;      // cohort vectors per rescoring tile (512 KB at d = 256)
constexpr int64_t kSlack = 8;  // P1 may exceed N by this much (saves bisection steps)

bool HasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
  return has;
}

inline float RoundUp(double v) {
  return std::nextafter(static_cast<float>(v * (1 + 1e-12)), std::numeric_limits<float>::max());
}

SN_AVX512 inline __mmask16 LiveMask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

// Lane reductions through memory (a few per row; not on a hot path).
SN_AVX512 inline float LaneMax(__m512 v) {
  alignas(64) float l[16];
  _mm512_store_ps(l, v);
  return *std::max_element(l, l + 16);
}
SN_AVX512 inline float LaneMin(__m512 v) {
  alignas(64) float l[16];
  _mm512_store_ps(l, v);
  return *std::min_element(l, l + 16);
}
SN_AVX512 inline double LaneSum(__m512d v) {
  alignas(64) double l[8];
  _mm512_store_pd(l, v);
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

// Quantises v[0..d) into q (int8 values plus `add`: 128 for the u8 rows); returns the scale and
// upper bounds of |v^|, |v - v^| and |v|. The bounds come from the q and s actually stored (in
// double: s q_k is exact there), so any rounding of v / s would do.
struct QuantInfo {
  float scale, hat, residual, len;
};
SN_AVX512 QuantInfo Quantise(const float* v, int64_t d, uint8_t* q, int add) {
  __m512 mx = _mm512_setzero_ps();
  for (int64_t k = 0; k < d; k += 16) {
    mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_maskz_loadu_ps(LiveMask(d - k), v + k)));
  }
  const float s = LaneMax(mx) / 127;
  const __m512 vs = _mm512_set1_ps(s);
  const __m512d vsd = _mm512_set1_pd(static_cast<double>(s));
  const __m512 lim = _mm512_set1_ps(127.0f);
  __m512d hat = _mm512_setzero_pd(), res = hat, len = hat;
  for (int64_t k = 0; k < d; k += 16) {
    const __mmask16 live = LiveMask(d - k);
    const __m512 x = _mm512_maskz_loadu_ps(live, v + k);
    __m512 qf = _mm512_setzero_ps();
    if (s > 0) {
      qf = _mm512_roundscale_ps(_mm512_div_ps(x, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      qf = _mm512_min_ps(lim, _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), lim), qf));
    }
    const __m512i qi = _mm512_add_epi32(_mm512_cvtps_epi32(qf), _mm512_set1_epi32(add));
    _mm_mask_storeu_epi8(q + k, live, _mm512_cvtepi32_epi8(qi));
    for (int half = 0; half < 2; ++half) {
      const __m256 xs = half ? _mm512_extractf32x8_ps(x, 1) : _mm512_castps512_ps256(x);
      const __m256 qs = half ? _mm512_extractf32x8_ps(qf, 1) : _mm512_castps512_ps256(qf);
      const __m512d xd = _mm512_cvtps_pd(xs);
      const __m512d h = _mm512_mul_pd(vsd, _mm512_cvtps_pd(qs));  // exact in double
      const __m512d r = _mm512_sub_pd(xd, h);
      hat = _mm512_fmadd_pd(h, h, hat);
      res = _mm512_fmadd_pd(r, r, res);
      len = _mm512_fmadd_pd(xd, xd, len);
    }
  }
  return {s, RoundUp(std::sqrt(LaneSum(hat))), RoundUp(std::sqrt(LaneSum(res))),
          RoundUp(std::sqrt(LaneSum(len)))};
}

struct Int8Cohort {
  int64_t c = 0, d = 0, dp = 0;    // dp: d rounded up to a multiple of 16
  std::vector<int8_t> q;           // [c, d]
  std::vector<int32_t> offset;     // 128 * sum_k q_jk: the rows are passed as u8 = qx + 128
  std::vector<float> scale;        // sc_j
  std::vector<float> residual;     // >= |rc_j|
  std::vector<float> norm;         // n_j
  std::vector<float> padded;       // [c, dp] the fp32 vectors, zero-padded, for rescoring
  float hat_max = 0, len_max = 0, res_max = 0, norm_max = 0;
};

Int8Cohort QuantiseCohort(const float* ch, const float* cn, int64_t c, int64_t d) {
  Int8Cohort q;
  q.c = c;
  q.d = d;
  q.dp = (d + 15) / 16 * 16;
  q.q.resize(static_cast<size_t>(c * d));
  q.offset.resize(static_cast<size_t>(c));
  q.scale.resize(static_cast<size_t>(c));
  q.residual.resize(static_cast<size_t>(c));
  q.norm.assign(cn, cn + c);
  q.padded.assign(static_cast<size_t>(c * q.dp), 0.0f);
  for (int64_t j = 0; j < c; ++j) {
    int8_t* qj = q.q.data() + j * d;
    const QuantInfo info = Quantise(ch + j * d, d, reinterpret_cast<uint8_t*>(qj), 0);
    int32_t sum = 0;
    for (int64_t k = 0; k < d; ++k) sum += qj[k];
    q.offset[j] = 128 * sum;
    q.scale[j] = info.scale;
    q.residual[j] = info.residual;
    q.hat_max = std::max(q.hat_max, info.hat);
    q.len_max = std::max(q.len_max, info.len);
    q.res_max = std::max(q.res_max, info.residual);
    q.norm_max = std::max(q.norm_max, cn[j]);
    std::copy(ch + j * d, ch + (j + 1) * d, q.padded.data() + j * q.dp);
  }
  return q;
}

// One row's inputs: the int8 products and the bound terms (eps_j = ax * residual_j + e).
struct RowInput {
  const int32_t* prod;
  float sx, ax, e;
};

// A growable array without value-initialisation (the lists are rebuilt for every row).
template <class T>
struct Buf {
  std::unique_ptr<T[]> p;
  int64_t cap = 0, n = 0;
  void Reserve(int64_t k) {
    if (k > cap) {
      p.reset(new T[static_cast<size_t>(k)]);
      cap = k;
    }
  }
  T* data() { return p.get(); }
  const T* data() const { return p.get(); }
};

// One ordering's lists of one row (cosine: values f_j; imposter: f_j n_j).
struct Lists {
  float t1 = 0, t0 = 0;
  Buf<int32_t> resc[2];  // P1, P2: cohort indices, increasing
  Buf<float> val[2];     // their exact f_j
  Buf<int32_t> rest_j;   // L \ P1 with up_j >= t0: the candidates of P2
  Buf<float> rest_up;
};

struct RowWork {
  Lists cos, imp;
};

// Per-thread scratch (lists with room for a full row plus a 16-wide store).
struct Scratch {
  std::vector<int32_t> j, jw;
  std::vector<float> a, up, aw, upw, sample, samplew, values;
  std::vector<uint8_t> qx;
  std::vector<int32_t> prod;
  std::vector<RowInput> rows;
  std::vector<RowWork> work;
  Scratch(int64_t c, int64_t d)
      : j(static_cast<size_t>(c + 16)),
        jw(static_cast<size_t>(c + 16)),
        a(static_cast<size_t>(c + 16)),
        up(static_cast<size_t>(c + 16)),
        aw(static_cast<size_t>(c + 16)),
        upw(static_cast<size_t>(c + 16)),
        sample(512),
        samplew(512),
        values(static_cast<size_t>(2 * c + 32)),
        qx(static_cast<size_t>(kGemmRows * d)),
        prod(static_cast<size_t>(kGemmRows * c)),
        rows(static_cast<size_t>(kBlockRows)),
        work(static_cast<size_t>(kBlockRows)) {}
};

// a_j for 16 entries from j0; the same float operations everywhere.
SN_AVX512 inline __m512 Approx16(const RowInput& r, const Int8Cohort& q, int64_t j0,
                                 __mmask16 live) {
  const __m512i prod = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(live, r.prod + j0),
                                        _mm512_maskz_loadu_epi32(live, q.offset.data() + j0));
  return _mm512_mul_ps(_mm512_set1_ps(r.sx),
                       _mm512_mul_ps(_mm512_maskz_loadu_ps(live, q.scale.data() + j0),
                                     _mm512_maskz_cvtepi32_ps(live, prod)));
}

SN_AVX512 int64_t CountAtLeast(const float* v, int64_t m, float t) {
  const __m512 vt = _mm512_set1_ps(t);
  int64_t count = 0;
  for (int64_t i = 0; i < m; i += 16) {
    count += __builtin_popcount(_mm512_mask_cmp_ps_mask(
        LiveMask(m - i), _mm512_maskz_loadu_ps(LiveMask(m - i), v + i), vt, _CMP_GE_OQ));
  }
  return count;
}

SN_AVX512 float MaxOf(const float* v, int64_t m) {
  __m512 mx = _mm512_set1_ps(-kInf);
  for (int64_t i = 0; i < m; i += 16) {
    mx = _mm512_mask_max_ps(mx, LiveMask(m - i), mx, _mm512_maskz_loadu_ps(LiveMask(m - i), v + i));
  }
  return LaneMax(mx);
}
SN_AVX512 float MinOf(const float* v, int64_t m) {
  __m512 mn = _mm512_set1_ps(kInf);
  for (int64_t i = 0; i < m; i += 16) {
    mn = _mm512_mask_min_ps(mn, LiveMask(m - i), mn, _mm512_maskz_loadu_ps(LiveMask(m - i), v + i));
  }
  return LaneMin(mn);
}

// A threshold t >= lo with k <= #{v >= t} <= k + slack where possible (ties can keep more), by
// bisection; #{v >= lo} >= k is required.
SN_AVX512 float ApproxThreshold(const float* v, int64_t m, int64_t k, int64_t slack, float lo) {
  float hi = MaxOf(v, m);
  if (CountAtLeast(v, m, hi) >= k) return hi;
  for (int it = 0; it < 64; ++it) {
    const float mid = lo + (hi - lo) / 2;
    if (!(mid > lo && mid < hi)) break;
    const int64_t count = CountAtLeast(v, m, mid);
    if (count < k) {
      hi = mid;
    } else {
      lo = mid;
      if (count <= k + slack) break;
    }
  }
  return lo;
}

// Step 1's sample thresholds: a_j (w_j) values over 32 runs of 16 entries spread over the row
// (whole runs: single strided entries touched every cache line), and a threshold with about
// `rank` of them above it: a little above the expected count of top-N members. -inf when the
// row is too short for a sample to pay.
SN_AVX512 void SampleThresholds(const RowInput& r, const Int8Cohort& q, int64_t n, bool imposter,
                                Scratch& s, float* t_s, float* t_sw) {
  constexpr int64_t kRuns = 32;
  *t_s = *t_sw = -kInf;
  if (!(n < q.c && q.c >= 4 * 16 * kRuns && n * 4 <= q.c)) return;
  const int64_t stride = (q.c / 16 / kRuns) * 16;
  const int64_t ns = kRuns * 16;
  __m512 lo = _mm512_set1_ps(kInf), low = lo;
  for (int64_t k = 0; k < kRuns; ++k) {
    const int64_t j0 = k * stride;
    const __m512 a = Approx16(r, q, j0, 0xFFFF);
    _mm512_storeu_ps(s.sample.data() + k * 16, a);
    lo = _mm512_min_ps(lo, a);
    if (imposter) {
      const __m512 w = _mm512_mul_ps(a, _mm512_loadu_ps(q.norm.data() + j0));
      _mm512_storeu_ps(s.samplew.data() + k * 16, w);
      low = _mm512_min_ps(low, w);
    }
  }
  const double expect = static_cast<double>(n) * ns / q.c;
  const int64_t rank =
      std::min<int64_t>(ns, static_cast<int64_t>(expect + 1.5 * std::sqrt(expect) + 2));
  *t_s = ApproxThreshold(s.sample.data(), ns, rank, 4, LaneMin(lo));
  if (imposter) *t_sw = ApproxThreshold(s.samplew.data(), ns, rank, 4, LaneMin(low));
}

// Step 1's pass over the row: L = {j : up_j >= keep} (and Lw = {j : wup_j >= keepw}) into the
// scratch lists, and the counts of a_j >= t_s (w_j >= t_sw).
struct BuildCounts {
  int64_t n = 0, nw = 0, above = 0, abovew = 0;
};
SN_AVX512 BuildCounts BuildLists(const RowInput& r, const Int8Cohort& q, float keep, float t_s,
                                 bool imposter, float keepw, float t_sw, Scratch& s) {
  const __m512 vax = _mm512_set1_ps(r.ax), ve = _mm512_set1_ps(r.e);
  const __m512 vkeep = _mm512_set1_ps(keep), vts = _mm512_set1_ps(t_s);
  const __m512 vkeepw = _mm512_set1_ps(keepw), vtsw = _mm512_set1_ps(t_sw);
  const __m512 tiny = _mm512_set1_ps(1e-6f);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  // Local pointers and counters: through the vectors' data() and the returned struct the
  // compiler reloaded them after every store (a store-to-load chain per iteration).
  const float* residual = q.residual.data();
  const float* norm = q.norm.data();
  int32_t* lj = s.j.data();
  float* la = s.a.data();
  float* lup = s.up.data();
  int32_t* ljw = s.jw.data();
  float* law = s.aw.data();
  float* lupw = s.upw.data();
  int64_t n_a = 0, n_w = 0, above = 0, abovew = 0;
  for (int64_t j0 = 0; j0 < q.c; j0 += 16) {
    const __mmask16 live = LiveMask(q.c - j0);
    const __m512 a = Approx16(r, q, j0, live);
    const __m512 eps = _mm512_fmadd_ps(vax, _mm512_maskz_loadu_ps(live, residual + j0), ve);
    const __m512 up = _mm512_add_ps(a, eps);
    const __m512i jj = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(j0)), iota);
    above += __builtin_popcount(_mm512_mask_cmp_ps_mask(live, a, vts, _CMP_GE_OQ));
    const __mmask16 m = _mm512_mask_cmp_ps_mask(live, up, vkeep, _CMP_GE_OQ);
    if (m) {  // compress into a register, then a plain store (compress-to-memory is slow on Zen 4)
      _mm512_storeu_si512(lj + n_a, _mm512_maskz_compress_epi32(m, jj));
      _mm512_storeu_ps(la + n_a, _mm512_maskz_compress_ps(m, a));
      _mm512_storeu_ps(lup + n_a, _mm512_maskz_compress_ps(m, up));
      n_a += __builtin_popcount(m);
    }
    if (imposter) {
      const __m512 n = _mm512_maskz_loadu_ps(live, norm + j0);
      const __m512 w = _mm512_mul_ps(a, n);
      const __m512 wup = _mm512_fmadd_ps(_mm512_add_ps(eps, tiny), n, w);
      abovew += __builtin_popcount(_mm512_mask_cmp_ps_mask(live, w, vtsw, _CMP_GE_OQ));
      const __mmask16 mw = _mm512_mask_cmp_ps_mask(live, wup, vkeepw, _CMP_GE_OQ);
      if (mw) {
        _mm512_storeu_si512(ljw + n_w, _mm512_maskz_compress_epi32(mw, jj));
        _mm512_storeu_ps(law + n_w, _mm512_maskz_compress_ps(mw, w));
        _mm512_storeu_ps(lupw + n_w, _mm512_maskz_compress_ps(mw, wup));
        n_w += __builtin_popcount(mw);
      }
    }
  }
  BuildCounts bc;
  bc.n = n_a;
  bc.nw = n_w;
  bc.above = above;
  bc.abovew = abovew;
  return bc;
}

// Step 2 for one ordering, from a scratch list L (j, a, up; m entries): t1, t0, P1, and the
// candidates of P2 (the rest of L with up_j >= t0).
SN_AVX512 void TakeList(const int32_t* j, const float* a, const float* up, int64_t m, float t_s,
                        int64_t n, float margin_max, Lists& l) {
  // #{a_j >= t_s} >= n (checked), else the whole row is in L and its minimum will do.
  const float start = t_s > -kInf ? t_s : MinOf(a, m);
  l.t1 = ApproxThreshold(a, m, n, kSlack, start);
  l.t0 = l.t1 - margin_max;
  l.resc[0].Reserve(m + 16);
  l.rest_j.Reserve(m + 16);
  l.rest_up.Reserve(m + 16);
  const __m512 vt1 = _mm512_set1_ps(l.t1), vt0 = _mm512_set1_ps(l.t0);
  int64_t n1 = 0, nr = 0;
  for (int64_t i = 0; i < m; i += 16) {
    const __mmask16 live = LiveMask(m - i);
    const __m512i jj = _mm512_maskz_loadu_epi32(live, j + i);
    const __m512 av = _mm512_maskz_loadu_ps(live, a + i);
    const __m512 uv = _mm512_maskz_loadu_ps(live, up + i);
    const __mmask16 in1 = _mm512_mask_cmp_ps_mask(live, av, vt1, _CMP_GE_OQ);
    const __mmask16 rest = _mm512_mask_cmp_ps_mask(live & ~in1, uv, vt0, _CMP_GE_OQ);
    _mm512_storeu_si512(l.resc[0].data() + n1, _mm512_maskz_compress_epi32(in1, jj));
    n1 += __builtin_popcount(in1);
    _mm512_storeu_si512(l.rest_j.data() + nr, _mm512_maskz_compress_epi32(rest, jj));
    _mm512_storeu_ps(l.rest_up.data() + nr, _mm512_maskz_compress_ps(rest, uv));
    nr += __builtin_popcount(rest);
  }
  l.resc[0].n = n1;
  l.rest_j.n = l.rest_up.n = nr;
  l.val[0].Reserve(n1);
  l.val[0].n = n1;
  l.resc[1].n = l.val[1].n = 0;
}

// Steps 1-2 of one row.
SN_AVX512 void SelectRow(const RowInput& r, const Int8Cohort& q, int64_t n, bool imposter,
                         Scratch& s, RowWork& w) {
  const float eps_max = RoundUp(static_cast<double>(r.ax) * q.res_max + r.e);
  const float margin_w = RoundUp((static_cast<double>(eps_max) + 1e-6) * q.norm_max * (1 + 1e-6));
  float t_s, t_sw;
  SampleThresholds(r, q, n, imposter, s, &t_s, &t_sw);
  BuildCounts bc = BuildLists(r, q, t_s - eps_max, t_s, imposter, t_sw - margin_w, t_sw, s);
  if (bc.above < n || (imposter && bc.abovew < n)) {  // an unlucky sample: keep everything
    if (bc.above < n) t_s = -kInf;
    if (imposter && bc.abovew < n) t_sw = -kInf;
    bc = BuildLists(r, q, t_s - eps_max, t_s, imposter, t_sw - margin_w, t_sw, s);
  }
  TakeList(s.j.data(), s.a.data(), s.up.data(), bc.n, t_s, n, eps_max, w.cos);
  if (imposter) {
    TakeList(s.jw.data(), s.aw.data(), s.upw.data(), bc.nw, t_sw, n, margin_w, w.imp);
  }
}

// The exact values of list p as the ordering ranks them (times n_j for the imposter ordering).
SN_AVX512 void OrderedValues(const Lists& l, int p, const float* weight, float* out) {
  const int64_t m = l.val[p].n;
  if (!weight) {
    std::copy(l.val[p].data(), l.val[p].data() + m, out);
    return;
  }
  for (int64_t i = 0; i < m; ++i) out[i] = l.val[p].data()[i] * weight[l.resc[p].data()[i]];
}

// Step 3's P2 for one ordering, once P1's exact values are in.
SN_AVX512 void ExtendList(const float* weight, Scratch& s, Lists& l) {
  float* v = s.values.data();
  OrderedValues(l, 0, weight, v);
  const float tau1 = MinOf(v, l.val[0].n);
  const __m512 vt = _mm512_set1_ps(std::max(tau1, l.t0));
  const int64_t m = l.rest_j.n;
  l.resc[1].Reserve(m + 16);
  int64_t n2 = 0;
  for (int64_t i = 0; i < m; i += 16) {
    const __mmask16 live = LiveMask(m - i);
    const __mmask16 take = _mm512_mask_cmp_ps_mask(
        live, _mm512_maskz_loadu_ps(live, l.rest_up.data() + i), vt, _CMP_GE_OQ);
    _mm512_storeu_si512(l.resc[1].data() + n2,
                        _mm512_maskz_compress_epi32(take, _mm512_maskz_loadu_epi32(live, l.rest_j.data() + i)));
    n2 += __builtin_popcount(take);
  }
  l.resc[1].n = n2;
  l.val[1].Reserve(n2);
  l.val[1].n = n2;
}

// Step 4 for one ordering: the top-n statistics of P1 and P2's exact values.
SN_AVX512 __attribute__((flatten)) top_n::TopStats ListStats(const Lists& l, const float* weight,
                                                              int64_t n, Scratch& s) {
  float* v = s.values.data();
  OrderedValues(l, 0, weight, v);
  OrderedValues(l, 1, weight, v + l.val[0].n);
  const int64_t m = l.val[0].n + l.val[1].n;
  return top_n::TopMeanVar(v, m, n, v + m);
}

// Sum of the 16 lanes, as a fixed tree of full-width shuffles and adds (the same order for every
// dot product).
SN_AVX512 inline float LaneSum(__m512 v) {
  constexpr __mmask16 kAll = 0xFFFF;
  v = _mm512_add_ps(v, _mm512_mask_shuffle_f32x4(v, kAll, v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_mask_shuffle_f32x4(v, kAll, v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_add_ps(v, _mm512_mask_permute_ps(v, kAll, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_mask_permute_ps(v, kAll, v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(v);
}

// Exact dot products of one row x (d floats) with the cohort vectors idx[0..m) (rows of the
// padded cohort, dp floats), KC 16-float chunks held in registers; four at a time for four
// independent FMA chains. Every value is summed in the same order (lane-wise over the chunks,
// then LaneSum), whichever loop computes it.
template <int KC>
SN_AVX512 void RowDots(const float* x, int64_t d, const float* ch, int64_t dp, const int32_t* idx,
                       int64_t m, float* out) {
  __m512 xr[KC];
  for (int k = 0; k < KC; ++k) xr[k] = _mm512_maskz_loadu_ps(LiveMask(d - 16 * k), x + 16 * k);
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) {
    const float* c0 = ch + static_cast<int64_t>(idx[i]) * dp;
    const float* c1 = ch + static_cast<int64_t>(idx[i + 1]) * dp;
    const float* c2 = ch + static_cast<int64_t>(idx[i + 2]) * dp;
    const float* c3 = ch + static_cast<int64_t>(idx[i + 3]) * dp;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int k = 0; k < KC; ++k) {
      a0 = _mm512_fmadd_ps(xr[k], _mm512_loadu_ps(c0 + 16 * k), a0);
      a1 = _mm512_fmadd_ps(xr[k], _mm512_loadu_ps(c1 + 16 * k), a1);
      a2 = _mm512_fmadd_ps(xr[k], _mm512_loadu_ps(c2 + 16 * k), a2);
      a3 = _mm512_fmadd_ps(xr[k], _mm512_loadu_ps(c3 + 16 * k), a3);
    }
    out[i] = LaneSum(a0);
    out[i + 1] = LaneSum(a1);
    out[i + 2] = LaneSum(a2);
    out[i + 3] = LaneSum(a3);
  }
  for (; i < m; ++i) {
    const float* c0 = ch + static_cast<int64_t>(idx[i]) * dp;
    __m512 a0 = _mm512_setzero_ps();
    for (int k = 0; k < KC; ++k) a0 = _mm512_fmadd_ps(xr[k], _mm512_loadu_ps(c0 + 16 * k), a0);
    out[i] = LaneSum(a0);
  }
}

// The same for d > 256 (the row does not fit in registers): same summation order.
SN_AVX512 void RowDotsLong(const float* x, int64_t d, const float* ch, int64_t dp,
                           const int32_t* idx, int64_t m, float* out) {
  const int64_t kc = dp / 16;
  for (int64_t i = 0; i < m; ++i) {
    const float* c0 = ch + static_cast<int64_t>(idx[i]) * dp;
    __m512 a0 = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; ++k) {
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(LiveMask(d - 16 * k), x + 16 * k),
                           _mm512_loadu_ps(c0 + 16 * k), a0);
    }
    out[i] = LaneSum(a0);
  }
}

using RowDotsFn = void (*)(const float*, int64_t, const float*, int64_t, const int32_t*, int64_t,
                           float*);
template <int... K>
RowDotsFn PickRowDots(int64_t kc, std::integer_sequence<int, K...>) {
  RowDotsFn fn = RowDotsLong;
  ((kc == K + 1 ? (fn = RowDots<K + 1>, 0) : 0), ...);
  return fn;
}

// One rescoring list: the row, its cohort indices (increasing), where the values go.
struct Job {
  const float* x;
  const int32_t* idx;
  int64_t m;
  float* out;
  int64_t pos = 0;
};

// Rescores every job, cohort tile by cohort tile: the tile's vectors stay in L2 while each row
// takes its candidates in it.
void RescoreJobs(std::vector<Job>& jobs, const Int8Cohort& q, RowDotsFn dots) {
  for (int64_t start = 0; start < q.c; start += kTile) {
    const int32_t end = static_cast<int32_t>(std::min(q.c, start + kTile));
    for (Job& jb : jobs) {
      int64_t e = jb.pos;
      while (e < jb.m && jb.idx[e] < end) ++e;
      if (e > jb.pos) dots(jb.x, q.d, q.padded.data(), q.dp, jb.idx + jb.pos, e - jb.pos, jb.out + jb.pos);
      jb.pos = e;
    }
  }
}

void AddJobs(std::vector<Job>& jobs, const float* x, Lists& l, int phase) {
  jobs.push_back({x, l.resc[phase].data(), l.resc[phase].n, l.val[phase].data()});
}

// One block of rows [r0, r0 + rows) from quantisation to statistics.
void ProcessBlock(const float* x, const double* xn, int64_t r0, int64_t rows, const Int8Cohort& q,
                  int64_t n, bool imposter, RowDotsFn dots, Scratch& s, CohortStats* stats) {
  constexpr double kU = 1.0 / (1 << 24);
  const int64_t c = q.c, d = q.d;
  for (int64_t g0 = 0; g0 < rows; g0 += kGemmRows) {
    const int64_t g = std::min(kGemmRows, rows - g0);
    for (int64_t r = 0; r < g; ++r) {
      const float* xr = x + (r0 + g0 + r) * d;
      const QuantInfo info = Quantise(xr, d, s.qx.data() + r * d, 128);
      // eps_j = ax |rc_j| + e: e bounds |rx| |c_j|, the fp32 dot's rounding, the two roundings
      // of a_j and the float arithmetic of the bounds (see the derivation at the top).
      const double e = static_cast<double>(info.residual) * q.len_max +
                       (d + 20) * kU * 1.02 * info.len * q.len_max +
                       2.001 * kU * info.hat * q.hat_max + 1e-6;
      s.rows[r] = {s.prod.data() + r * c, info.scale, info.hat, RoundUp(e)};
    }
    Int8GemmNT(g, c, d, s.qx.data(), q.q.data(), s.prod.data());
    for (int64_t r = 0; r < g; ++r) {
      if (r + 1 < g) {  // the next row's products (24 KB at C = 5994) into L2 meanwhile
        const char* next = reinterpret_cast<const char*>(s.rows[r + 1].prod);
        for (int64_t b = 0; b < c * 4; b += 64) __builtin_prefetch(next + b);
      }
      SelectRow(s.rows[r], q, n, imposter, s, s.work[g0 + r]);
    }
  }
  std::vector<Job> jobs;
  for (int phase = 0; phase < 2; ++phase) {
    jobs.clear();
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + (r0 + r) * d;
      if (phase == 1) {
        ExtendList(nullptr, s, s.work[r].cos);
        if (imposter) ExtendList(q.norm.data(), s, s.work[r].imp);
      }
      AddJobs(jobs, xr, s.work[r].cos, phase);
      if (imposter) AddJobs(jobs, xr, s.work[r].imp, phase);
    }
    RescoreJobs(jobs, q, dots);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const top_n::TopStats top = ListStats(s.work[r].cos, nullptr, n, s);
    CohortStats& st = stats[r0 + r];
    st.mean = top.mean;
    st.std = std::sqrt(top.var);
    st.imposter = imposter ? xn[r0 + r] * ListStats(s.work[r].imp, q.norm.data(), n, s).mean : 0.0;
  }
}

}  // namespace

bool Int8CohortStatsAvailable(int64_t d) {
  return d <= 1024 && HasAvx512() && Int8GemmAvailable();
}

void Int8CohortStats(const float* x, const double* xn, int64_t u, const float* ch,
                     const float* cn, int64_t c, int64_t d, int64_t top_n, bool imposter,
                     CohortStats* stats) {
  SN_CHECK(Int8CohortStatsAvailable(d), "int8 cohort statistics unavailable (d = {}): {}", d,
           Int8GemmDescription());
  SN_CHECK(top_n >= 1 && top_n <= c, "int8 cohort statistics: top-N {} outside [1, {}]", top_n,
           c);
  if (u == 0) return;
  const Int8Cohort q = QuantiseCohort(ch, cn, c, d);
  const RowDotsFn dots = PickRowDots(q.dp / 16, std::make_integer_sequence<int, 16>());
  const int64_t blocks = (u + kBlockRows - 1) / kBlockRows;
  std::atomic<int64_t> next{0};
  const int64_t workers = std::min<int64_t>(at::get_num_threads(), blocks);
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    Scratch s(c, d);
    for (int64_t b = next++; b < blocks; b = next++) {
      const int64_t r0 = b * kBlockRows;
      ProcessBlock(x, xn, r0, std::min(kBlockRows, u - r0), q, top_n, imposter, dots, s, stats);
    }
  });
}

#else  // not x86-64

bool Int8CohortStatsAvailable(int64_t) { return false; }

void Int8CohortStats(const float*, const double*, int64_t, const float*, const float*, int64_t,
                     int64_t d, int64_t, bool, CohortStats*) {
  SN_CHECK(false, "int8 cohort statistics need an x86-64 CPU with AVX-512 (d = {})", d);
}

#endif

}  // namespace speakernet
