// Top-N selection helpers shared by the AS-norm paths (score_norm.cpp, int8_cohort_stats.cpp):
// the k-th largest of an array by bisection with branch-free counts, and the mean and variance
// of the n largest values, ties included. Internal to the scoring layer.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

namespace speakernet {
namespace top_n {

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

}  // namespace top_n
}  // namespace speakernet
