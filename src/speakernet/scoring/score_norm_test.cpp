#include "speakernet/scoring/score_norm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <random>

#include <torch/torch.h>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"
#include "speakernet/scoring/int8_cohort_stats.h"
#include "speakernet/scoring/metrics.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;
using Vec = std::vector<double>;

using test::ErrorOf;

std::vector<float> RandomVec(std::mt19937& rng, int64_t dim, float offset = 0.3f) {
  std::normal_distribution<float> gauss(offset, 1.0f);
  std::vector<float> v(static_cast<size_t>(dim));
  for (float& x : v) x = gauss(rng);
  return v;
}

EmbeddingTable RandomTable(size_t n, int64_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  EmbeddingTable t;
  for (size_t i = 0; i < n; ++i) t.Add("u" + std::to_string(i), RandomVec(rng, dim));
  return t;
}

Cohort RandomCohort(size_t n, int64_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  Cohort c;
  c.dim = dim;
  c.source = "<random>";
  for (size_t i = 0; i < n; ++i) {
    c.speakers.push_back("c" + std::to_string(i));
    const std::vector<float> v = RandomVec(rng, dim, 0.2f);
    c.vectors.insert(c.vectors.end(), v.begin(), v.end());
  }
  return c;
}

std::vector<Trial> RandomTrials(size_t n, size_t utts, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, utts - 1);
  std::vector<Trial> trials;
  for (size_t i = 0; i < n; ++i) {
    trials.push_back({"u" + std::to_string(pick(rng)), "u" + std::to_string(pick(rng)), -1});
  }
  return trials;
}

// ---- Naive reference, written independently of score_norm.cpp: double precision, one trial
// at a time, full sort of the cohort scores.
Vec Sub(const std::vector<float>& a, const std::vector<float>* m) {
  Vec v(a.size());
  for (size_t i = 0; i < a.size(); ++i) v[i] = a[i] - (m ? (*m)[i] : 0.0);
  return v;
}
double DotD(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
double CosD(const Vec& a, const Vec& b) {
  return DotD(a, b) / (std::max(std::sqrt(DotD(a, a)), 1e-8) * std::max(std::sqrt(DotD(b, b)), 1e-8));
}
struct RefStats {
  double mean, std, imposter;
};
RefStats NaiveStats(const Vec& x, const std::vector<Vec>& cohort, size_t n) {
  Vec cos, ip;
  for (const Vec& c : cohort) {
    cos.push_back(CosD(x, c));
    ip.push_back(DotD(x, c));
  }
  std::sort(cos.begin(), cos.end(), std::greater<double>());
  std::sort(ip.begin(), ip.end(), std::greater<double>());
  double mean = 0, imp = 0;
  for (size_t i = 0; i < n; ++i) {
    mean += cos[i];
    imp += ip[i];
  }
  mean /= n;
  imp /= n;
  double var = 0;
  for (size_t i = 0; i < n; ++i) var += (cos[i] - mean) * (cos[i] - mean);
  return {mean, std::sqrt(var / n), imp};
}
struct RefScores {
  Vec raw, norm, enroll_imp, test_imp;
};
// subtract_from_cohort = false models the mistake of leaving the cohort un-centred.
RefScores NaiveScoreNorm(const EmbeddingTable& table, const std::vector<Trial>& trials,
                         const Cohort& cohort, size_t n, const std::vector<float>* mean,
                         bool subtract_from_cohort = true) {
  std::vector<Vec> cv;
  for (size_t j = 0; j < cohort.size(); ++j) {
    std::vector<float> row(cohort.Row(j), cohort.Row(j) + cohort.dim);
    cv.push_back(Sub(row, subtract_from_cohort ? mean : nullptr));
  }
  RefScores r;
  for (const Trial& t : trials) {
    const Vec e = Sub(table.Get(t.enroll), mean), s = Sub(table.Get(t.test), mean);
    const double raw = CosD(e, s);
    const RefStats se = NaiveStats(e, cv, n), st = NaiveStats(s, cv, n);
    r.raw.push_back(raw);
    r.norm.push_back(0.5 * ((raw - se.mean) / se.std + (raw - st.mean) / st.std));
    r.enroll_imp.push_back(se.imposter);
    r.test_imp.push_back(st.imposter);
  }
  return r;
}

// Largest |a - b| (divided by max(1, |b|) when `relative`) must not exceed tol.
void ExpectNear(const Vec& a, const Vec& b, double tol, const char* what, bool relative = false) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = std::abs(a[i] - b[i]) / (relative ? std::max(1.0, std::abs(b[i])) : 1.0);
    if (e > worst) {
      worst = e;
      wi = i;
    }
  }
  EXPECT_LE(worst, tol) << what << " at trial " << wi << ": " << a[wi] << " vs " << b[wi];
}

void CheckAgainstNaive(size_t utts, int64_t dim, size_t cohort_size, int64_t top_n,
                       ScoreNormMethod method, bool with_mean, bool double_precision,
                       double tol, int64_t block_rows = 1024) {
  const EmbeddingTable table = RandomTable(utts, dim, 11);
  const Cohort cohort = RandomCohort(cohort_size, dim, 12);
  const std::vector<Trial> trials = RandomTrials(300, utts, 13);
  std::vector<float> mean;
  if (with_mean) mean = MeanEmbedding(table);
  const std::vector<float>* m = with_mean ? &mean : nullptr;
  ScoreNormOptions o;
  o.method = method;
  o.top_n = top_n;
  o.double_precision = double_precision;
  o.block_rows = block_rows;
  const NormalizedScores got = ScoreNorm(table, trials, cohort, o, m);
  const size_t n = method == ScoreNormMethod::kSNorm ? cohort_size : static_cast<size_t>(top_n);
  const RefScores want = NaiveScoreNorm(table, trials, cohort, n, m);
  ExpectNear(got.raw, want.raw, tol, "raw cosine");
  ExpectNear(got.scores, want.norm, tol, "normalised score");
  ExpectNear(got.enroll_imposter, want.enroll_imp, tol * 10, "enroll imposter");
  ExpectNear(got.test_imposter, want.test_imp, tol * 10, "test imposter");
}

TEST(ScoreNorm, ASNormMatchesNaiveReferenceSmallCohort) {
  // Cohort below the sampling threshold: the plain selection path.
  CheckAgainstNaive(80, 16, 40, 10, ScoreNormMethod::kASNorm, false, true, 1e-6);
  CheckAgainstNaive(80, 16, 40, 10, ScoreNormMethod::kASNorm, true, true, 1e-6);
}

TEST(ScoreNorm, ASNormMatchesNaiveReferenceLargeCohort) {
  // Cohort of 1500: the sampled-threshold selection path; blocks of 7 rows (uneven last block).
  CheckAgainstNaive(60, 24, 1500, 50, ScoreNormMethod::kASNorm, true, true, 1e-6, 7);
  CheckAgainstNaive(60, 24, 1500, 300, ScoreNormMethod::kASNorm, true, true, 1e-6);
}

TEST(ScoreNorm, ASNormFloatPathIsCloseToNaiveReference) {
  CheckAgainstNaive(60, 24, 1500, 300, ScoreNormMethod::kASNorm, true, false, 2e-4);
}

// The int8 preselection (default where oneDNN has VNNI) must give the exact top-N statistics:
// the same numbers as the plain fp32 path (which preselects nothing) up to fp32 summation order,
// at VoxCeleb-like sizes (256-d, 5994 cohort speakers, top-300), and in adversarial cases:
// thousands of cosines within the int8 error bound of the N-th largest, exact ties across the
// N-th place, tiny dimensions (large relative quantisation error), top-N near the cohort size.
// With the error bound scaled by 0.3 (a manual check) the small-dimension cases fail by 5e-6.
// `with_mean` defaults to the table's mean (a cohort given in the raw space has it subtracted).
void ExpectPreselectionExact(const EmbeddingTable& table, const Cohort& cohort, int64_t top_n,
                             int64_t block_rows = 13,
                             const std::vector<float>* with_mean = nullptr) {
  std::vector<std::string> ids(table.keys().begin(), table.keys().end());
  ScoreNormOptions plain;
  plain.top_n = top_n;
  plain.int8_preselect = false;
  ScoreNormOptions fast = plain;
  fast.int8_preselect = true;
  fast.block_rows = block_rows;
  const std::vector<float> mean = with_mean ? *with_mean : MeanEmbedding(table);
  const auto a = ComputeCohortStats(table, ids, cohort, plain, &mean);
  const auto b = ComputeCohortStats(table, ids, cohort, fast, &mean);
  // The imposter measure (|x| times the mean of the top-N |c_j| cos_j) reaches ~180 with
  // un-centred cohorts, where the fp32 path's own rounding (cosines from a float GEMM, times
  // |c_j| in float) is up to ~1.5e-6 relative: both float paths are compared with the
  // double-precision path, the truth, and the int8 path must be within float rounding of it:
  // 4e-6, or twice the fp32 path's own error (measured on an Intel AVX-512 VNNI VM, where this
  // path runs: int8 2.1e-6, fp32 1.5e-6; a wrongly selected cohort member would be off by its
  // score gap / N, usually far more).
  ScoreNormOptions exact = plain;
  exact.double_precision = true;
  const auto r = ComputeCohortStats(table, ids, cohort, exact, &mean);
  double worst_mean = 0, worst_std = 0, worst_imp = 0, fp32_imp = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst_mean = std::max(worst_mean, std::abs(a[i].mean - b[i].mean));
    worst_std = std::max(worst_std, std::abs(a[i].std - b[i].std));
    const double scale = std::max(1.0, std::abs(r[i].imposter));
    worst_imp = std::max(worst_imp, std::abs(b[i].imposter - r[i].imposter) / scale);
    fp32_imp = std::max(fp32_imp, std::abs(a[i].imposter - r[i].imposter) / scale);
  }
  // A few float32 ulps: the fp32 path's BLAS sums in another order than the rescoring's dot
  // products (cosines near 1, e.g. utterances equal to cohort vectors, differ by 1-2 ulps of 1).
  EXPECT_LE(worst_mean, 4e-7);
  EXPECT_LE(worst_std, 4e-7);
  EXPECT_LE(worst_imp, std::max(4e-6, 2 * fp32_imp)) << "fp32 path's error: " << fp32_imp;
}

Cohort ClusteredCohort(int64_t size, int64_t dim, int directions, float spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> tiny(0.0f, spread);
  std::vector<std::vector<float>> dirs;
  for (int k = 0; k < directions; ++k) dirs.push_back(RandomVec(rng, dim, 0.2f));
  Cohort cohort;
  cohort.dim = dim;
  for (int64_t i = 0; i < size; ++i) {
    cohort.speakers.push_back("c" + std::to_string(i));
    for (float v : dirs[static_cast<size_t>(i % directions)]) {
      cohort.vectors.push_back(v + (spread > 0 ? tiny(rng) : 0.0f));
    }
  }
  return cohort;
}

TEST(ScoreNorm, Int8PreselectionIsExactAtVoxCelebSizes) {
  ExpectPreselectionExact(RandomTable(400, 256, 21), RandomCohort(5994, 256, 22), 300);
  ExpectPreselectionExact(RandomTable(300, 256, 23), RandomCohort(5994, 256, 24), 300, 256);
}

TEST(ScoreNorm, Int8PreselectionIsExactWithNearTiedCohort) {
  // 20 directions, each with 300 copies perturbed by ~1e-3: thousands of cosines within the
  // int8 error bound (~0.014) of the 300-th largest.
  const Cohort cohort = ClusteredCohort(6000, 256, 20, 1e-3f, 41);
  ExpectPreselectionExact(RandomTable(200, 256, 42), cohort, 300);
  ExpectPreselectionExact(RandomTable(50, 256, 43), cohort, 1000);
  // Perturbations of 1e-5: differences far below the int8 resolution.
  ExpectPreselectionExact(RandomTable(100, 256, 44), ClusteredCohort(3000, 256, 7, 1e-5f, 45),
                          300);
}

TEST(ScoreNorm, Int8PreselectionIsExactWithExactTiesAtTheNthPlace) {
  // Exact duplicates (7 copies of each of 700 vectors): N = 300 cuts through a group of equal
  // values, so the top-N set is not unique but its statistics are.
  ExpectPreselectionExact(RandomTable(150, 64, 46), ClusteredCohort(4900, 64, 700, 0, 47), 300);
  // Utterances equal to cohort vectors (cosine 1 with several copies).
  const Cohort cohort = ClusteredCohort(2100, 32, 300, 0, 48);
  EmbeddingTable table;
  for (int i = 0; i < 60; ++i) {
    table.Add("u" + std::to_string(i),
              std::vector<float>(cohort.Row(static_cast<size_t>(i)), cohort.Row(i) + 32));
  }
  ExpectPreselectionExact(table, cohort, 10);
  ExpectPreselectionExact(table, cohort, 2000);
}

TEST(ScoreNorm, Int8PreselectionIsExactInSmallDimensionsAndLargeN) {
  ExpectPreselectionExact(RandomTable(100, 3, 51), RandomCohort(3000, 3, 52), 300);
  ExpectPreselectionExact(RandomTable(100, 17, 53), RandomCohort(2500, 17, 54), 2400);
  ExpectPreselectionExact(RandomTable(50, 256, 55), RandomCohort(5994, 256, 56), 5994);
  ExpectPreselectionExact(RandomTable(50, 256, 57), RandomCohort(100, 256, 58), 1);
}

// Several 512-row blocks shared by 1, 2 or 3 threads (each thread runs its own blocks, pulled
// from a counter): the statistics must not depend on which thread did a block, and stay exact.
TEST(ScoreNorm, Int8PreselectionIsThreadCountIndependent) {
  const EmbeddingTable table = RandomTable(1300, 64, 61);
  const Cohort cohort = RandomCohort(2500, 64, 62);
  const std::vector<std::string> ids(table.keys().begin(), table.keys().end());
  const std::vector<float> mean = MeanEmbedding(table);
  ScoreNormOptions o;
  o.top_n = 200;
  const int threads = at::get_num_threads();
  std::vector<std::vector<CohortStats>> runs;
  for (int t : {1, 2, 3}) {
    at::set_num_threads(t);
    runs.push_back(ComputeCohortStats(table, ids, cohort, o, &mean));
  }
  at::set_num_threads(threads);
  // Bit-identical on the int8 path only: without VNNI the fp32 path's BLAS product may sum in
  // another order with another thread count.
  for (size_t r = 1; r < runs.size() && Int8CohortStatsAvailable(64); ++r) {
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_EQ(runs[r][i].mean, runs[0][i].mean) << "row " << i << ", run " << r;
      ASSERT_EQ(runs[r][i].std, runs[0][i].std) << "row " << i << ", run " << r;
      ASSERT_EQ(runs[r][i].imposter, runs[0][i].imposter) << "row " << i << ", run " << r;
    }
  }
  at::set_num_threads(2);
  ExpectPreselectionExact(table, cohort, 200);
  at::set_num_threads(threads);
}

TEST(ScoreNorm, SNormMatchesNaiveReference) {
  CheckAgainstNaive(80, 16, 40, 0, ScoreNormMethod::kSNorm, true, true, 1e-6);
  CheckAgainstNaive(60, 24, 1500, 0, ScoreNormMethod::kSNorm, false, true, 1e-6, 5);
  CheckAgainstNaive(60, 24, 1500, 0, ScoreNormMethod::kSNorm, true, false, 2e-4);
}

TEST(ScoreNorm, TiesAtTheTopNBoundary) {
  // 1500 cohort vectors, only 5 distinct (300 copies each): the N-th largest cosine sits inside
  // a run of equal values, on the sampled path (N = 350) and the plain one (N = 1200 > C / 4).
  std::mt19937 rng(31);
  std::vector<std::vector<float>> distinct;
  for (int k = 0; k < 5; ++k) distinct.push_back(RandomVec(rng, 6));
  Cohort cohort;
  cohort.dim = 6;
  for (int i = 0; i < 1500; ++i) {
    cohort.speakers.push_back("c" + std::to_string(i));
    const std::vector<float>& v = distinct[static_cast<size_t>(i % 5)];
    cohort.vectors.insert(cohort.vectors.end(), v.begin(), v.end());
  }
  const EmbeddingTable table = RandomTable(20, 6, 32);
  const std::vector<Trial> trials = RandomTrials(40, 20, 33);
  for (int64_t n : {350, 1200}) {
    ScoreNormOptions o;
    o.top_n = n;
    o.double_precision = true;
    const NormalizedScores got = ScoreNorm(table, trials, cohort, o);
    const RefScores want = NaiveScoreNorm(table, trials, cohort, static_cast<size_t>(n), nullptr);
    // Near-equal top cosines make sigma tiny (scores ~1e5), hence the relative comparison.
    ExpectNear(got.scores, want.norm, 1e-9, "ties: normalised score", true);
    ExpectNear(got.enroll_imposter, want.enroll_imp, 1e-9, "ties: imposter");
  }
}

TEST(ScoreNorm, ASNormWithTopNEqualToCohortIsSNorm) {
  const EmbeddingTable table = RandomTable(30, 8, 3);
  const Cohort cohort = RandomCohort(25, 8, 4);
  const std::vector<Trial> trials = RandomTrials(50, 30, 5);
  ScoreNormOptions as, s;
  as.top_n = 25;
  as.double_precision = s.double_precision = true;
  s.method = ScoreNormMethod::kSNorm;
  ExpectNear(ScoreNorm(table, trials, cohort, as).scores,
             ScoreNorm(table, trials, cohort, s).scores, 1e-9, "top-N = C vs S-norm");
}

TEST(ScoreNorm, SubmeanIsAppliedToTheCohortToo) {
  const EmbeddingTable table = RandomTable(40, 8, 21);
  const Cohort cohort = RandomCohort(30, 8, 22);
  const std::vector<Trial> trials = RandomTrials(60, 40, 23);
  std::vector<float> mean(8, 0.5f);
  ScoreNormOptions o;
  o.top_n = 10;
  o.double_precision = true;
  const NormalizedScores got = ScoreNorm(table, trials, cohort, o, &mean);
  ExpectNear(got.scores, NaiveScoreNorm(table, trials, cohort, 10, &mean, true).norm, 1e-9,
             "cohort centred");
  const Vec uncentred = NaiveScoreNorm(table, trials, cohort, 10, &mean, false).norm;
  double diff = 0;
  for (size_t i = 0; i < uncentred.size(); ++i) diff += std::abs(uncentred[i] - got.scores[i]);
  EXPECT_GT(diff / uncentred.size(), 1e-3) << "an un-centred cohort should give other scores";
}

TEST(ScoreNorm, ComputeCohortStatsByHand) {
  // x = (1, 0); cohort (after m = 0) at angles 0, 90 and 180 degrees with norms 2, 1, 3:
  // cosines 1, 0, -1; inner products 2, 0, -3.
  EmbeddingTable table;
  table.Add("x", {1, 0});
  Cohort c;
  c.dim = 2;
  c.speakers = {"a", "b", "c"};
  c.vectors = {2, 0, 0, 1, -3, 0};
  ScoreNormOptions o;
  o.top_n = 2;
  o.double_precision = true;
  CohortStats s = ComputeCohortStats(table, {"x"}, c, o)[0];
  EXPECT_NEAR(s.mean, 0.5, 1e-12);      // top-2 cosines {1, 0}
  EXPECT_NEAR(s.std, 0.5, 1e-12);       // population std of {1, 0}
  EXPECT_NEAR(s.imposter, 1.0, 1e-12);  // top-2 inner products {2, 0}
  o.method = ScoreNormMethod::kSNorm;
  s = ComputeCohortStats(table, {"x"}, c, o)[0];
  EXPECT_NEAR(s.mean, 0.0, 1e-12);
  EXPECT_NEAR(s.std, std::sqrt(2.0 / 3.0), 1e-12);
  EXPECT_NEAR(s.imposter, -1.0 / 3.0, 1e-12);
}

// The cache must give the scores of uncached calls (each list on its own, against the naive
// reference), compute only the utterances it lacks, and start afresh when the inputs change.
TEST(ScoreNorm, StatsCacheReusesSharedUtterancesAndResetsOnOtherInputs) {
  const EmbeddingTable table = RandomTable(60, 16, 81);
  const Cohort cohort = RandomCohort(40, 16, 82);
  const std::vector<float> mean = MeanEmbedding(table);
  const std::vector<Trial> first = RandomTrials(50, 30, 83);   // utterances u0..u29
  const std::vector<Trial> second = RandomTrials(50, 60, 84);  // u0..u59, partly shared
  ScoreNormOptions o;
  o.top_n = 7;
  o.double_precision = true;
  CohortStatsCache cache;
  const NormalizedScores a = ScoreNorm(table, first, cohort, o, &mean, &cache);
  const size_t after_first = cache.size();
  EXPECT_GT(after_first, 0u);
  EXPECT_LE(after_first, 30u);
  const NormalizedScores b = ScoreNorm(table, second, cohort, o, &mean, &cache);
  EXPECT_GT(cache.size(), after_first);
  EXPECT_LE(cache.size(), 60u);
  ExpectNear(a.scores, NaiveScoreNorm(table, first, cohort, 7, &mean, true).norm, 1e-9, "first");
  const RefScores ref = NaiveScoreNorm(table, second, cohort, 7, &mean, true);
  ExpectNear(b.scores, ref.norm, 1e-9, "second, partly from the cache");
  ExpectNear(b.test_imposter, ref.test_imp, 1e-9, "imposter, partly from the cache");
  // Other options: statistics for top-12 must not come from the top-7 cache.
  o.top_n = 12;
  const NormalizedScores c = ScoreNorm(table, second, cohort, o, &mean, &cache);
  ExpectNear(c.scores, NaiveScoreNorm(table, second, cohort, 12, &mean, true).norm, 1e-9,
             "top-12 after a top-7 cache");
  // Another table of the same size: nothing may be reused.
  const EmbeddingTable other = RandomTable(60, 16, 85);
  const std::vector<float> other_mean = MeanEmbedding(other);
  const NormalizedScores e = ScoreNorm(other, second, cohort, o, &other_mean, &cache);
  ExpectNear(e.scores, NaiveScoreNorm(other, second, cohort, 12, &other_mean, true).norm, 1e-9,
             "another table");
  // The float path (int8 preselection where available): cached = uncached.
  ScoreNormOptions f;
  f.top_n = 7;
  CohortStatsCache fcache;
  ScoreNorm(table, first, cohort, f, &mean, &fcache);
  const NormalizedScores g = ScoreNorm(table, second, cohort, f, &mean, &fcache);
  const NormalizedScores h = ScoreNorm(table, second, cohort, f, &mean);
  // A few float ulps of |score| ~ 10: on the fp32 path (no VNNI) BLAS may sum a row in another
  // order when it sits elsewhere in the product.
  ExpectNear(g.scores, h.scores, 1e-6, "float path, cached vs not", true);
}

TEST(Cohort, AveragesL2NormalisedEmbeddingsBySpeaker) {
  EmbeddingTable t;
  t.Add("a1", {3, 4});    // -> (0.6, 0.8)
  t.Add("a2", {0, 2});    // -> (0, 1)
  t.Add("b1", {-5, 0});   // -> (-1, 0)
  t.Add("x", {100, 100});  // not in the cohort list: ignored
  const Cohort c = BuildCohort(t, {{"b1", "B"}, {"a2", "A"}, {"a1", "A"}});
  ASSERT_EQ(c.speakers, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(c.dim, 2);
  ASSERT_EQ(c.vectors.size(), 4u);
  EXPECT_NEAR(c.vectors[0], 0.3, 1e-7);
  EXPECT_NEAR(c.vectors[1], 0.9, 1e-7);
  EXPECT_NEAR(c.vectors[2], -1.0, 1e-7);
  EXPECT_NEAR(c.vectors[3], 0.0, 1e-7);
}

TEST(Cohort, ReadsUtt2SpkOrSpk2Utt) {
  test::ScratchDir dir("score_norm_cohort");
  EmbeddingTable t;
  t.Add("a1", {3, 4});
  t.Add("a2", {0, 2});
  t.Add("b1", {-5, 0});
  std::ofstream(dir / "spk2utt") << "A a1 a2\nB b1\n";
  Cohort c = BuildCohortFromDataDir(t, dir.str());
  ASSERT_EQ(c.speakers.size(), 2u);
  EXPECT_NEAR(c.vectors[1], 0.9, 1e-7);
  std::ofstream(dir / "utt2spk") << "a1 A\nb1 B\n";  // utt2spk wins when both exist
  c = BuildCohortFromDataDir(t, dir.str());
  EXPECT_NEAR(c.vectors[0], 0.6, 1e-7);
  EXPECT_NEAR(c.vectors[1], 0.8, 1e-7);
  test::ScratchDir empty("score_norm_cohort_empty");
  EXPECT_THAT(ErrorOf([&] { BuildCohortFromDataDir(t, empty.str()); }),
              HasSubstr("neither utt2spk nor spk2utt"));
}

TEST(ScoreNormErrors, MissingCohortEmbedding) {
  EmbeddingTable t;
  t.Add("a1", {1, 0});
  const std::string err = ErrorOf([&] { BuildCohort(t, {{"a1", "A"}, {"b7", "B"}}, "vox2dev"); });
  EXPECT_THAT(err, HasSubstr("b7"));
  EXPECT_THAT(err, HasSubstr("'B'"));
  EXPECT_THAT(err, HasSubstr("vox2dev"));
}

TEST(ScoreNormErrors, TopNLargerThanCohortIsAnError) {
  const EmbeddingTable table = RandomTable(5, 4, 1);
  const Cohort cohort = RandomCohort(10, 4, 2);
  ScoreNormOptions o;
  o.top_n = 11;
  const std::string err = ErrorOf([&] { ScoreNorm(table, RandomTrials(3, 5, 3), cohort, o); });
  EXPECT_THAT(err, HasSubstr("top-N = 11"));
  EXPECT_THAT(err, HasSubstr("[1, 10]"));
  o.top_n = 0;
  EXPECT_THAT(ErrorOf([&] { ScoreNorm(table, RandomTrials(3, 5, 3), cohort, o); }),
              HasSubstr("top-N = 0"));
  o.method = ScoreNormMethod::kSNorm;  // S-norm ignores top-N
  EXPECT_EQ(ScoreNorm(table, RandomTrials(3, 5, 3), cohort, o).scores.size(), 3u);
}

TEST(ScoreNormErrors, DimensionsAndMissingTrialIds) {
  const EmbeddingTable table = RandomTable(5, 4, 1);
  ScoreNormOptions o;
  o.top_n = 3;
  EXPECT_THAT(ErrorOf([&] { ScoreNorm(table, RandomTrials(3, 5, 3), RandomCohort(10, 6, 2), o); }),
              HasSubstr("dimension 6"));
  std::vector<Trial> trials = {{"u0", "nope", -1}};
  EXPECT_THAT(ErrorOf([&] { ScoreNorm(table, trials, RandomCohort(10, 4, 2), o); }),
              HasSubstr("trial #1 ('u0' 'nope'): no embedding for 'nope'"));
  EXPECT_THAT(ErrorOf([] { ParseScoreNormMethod("znorm"); }), HasSubstr("znorm"));
}

// ---- Issue 15: the submean vector and the cohort (spec §10.2 item 4). Embeddings with a common
// offset (|m| ~ 17 >> 1): e = m0 + c_speaker + noise.
struct OffsetSet {
  EmbeddingTable table;
  std::vector<std::pair<std::string, std::string>> utt2spk;
};

OffsetSet MakeOffsetSet(const std::string& prefix, int speakers, int utts, int64_t dim,
                        float offset, float noise, std::mt19937& rng) {
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  OffsetSet set;
  for (int s = 0; s < speakers; ++s) {
    std::vector<float> centre(static_cast<size_t>(dim));
    for (float& v : centre) v = gauss(rng);
    const std::string spk = prefix + "s" + std::to_string(s);
    for (int u = 0; u < utts; ++u) {
      std::vector<float> e(static_cast<size_t>(dim));
      for (int64_t j = 0; j < dim; ++j) e[j] = offset + centre[j] + noise * gauss(rng);
      const std::string utt = spk + "u" + std::to_string(u);
      set.table.Add(utt, std::move(e));
      set.utt2spk.emplace_back(utt, spk);
    }
  }
  return set;
}

// Direct reference of a cohort, written without BuildCohort: per speaker, the mean over its
// utterances of unit(e - m) (per_utterance), or speaker-net's mean of unit(e), rounded to float
// (its spk_xvector file), minus m in float32 arithmetic (as torch does it). Final vectors, for
// NaiveScoreNorm(..., subtract_from_cohort = false).
Cohort DirectCohort(const OffsetSet& set, const std::vector<float>* m, bool per_utterance) {
  std::map<std::string, std::vector<Vec>> units;
  for (const auto& [utt, spk] : set.utt2spk) {
    Vec v = Sub(set.table.Get(utt), per_utterance ? m : nullptr);
    const double norm = std::sqrt(DotD(v, v));
    for (double& x : v) x /= norm;
    units[spk].push_back(v);
  }
  Cohort c;
  c.dim = set.table.dim();
  c.source = "<direct>";
  for (const auto& [spk, vs] : units) {
    c.speakers.push_back(spk);
    for (int64_t j = 0; j < c.dim; ++j) {
      double acc = 0;
      for (const Vec& v : vs) acc += v[static_cast<size_t>(j)];
      const float avg = static_cast<float>(acc / static_cast<double>(vs.size()));
      c.vectors.push_back(per_utterance ? avg : avg - (*m)[static_cast<size_t>(j)]);
    }
  }
  return c;
}

std::vector<Trial> AllPairs(const OffsetSet& set) {
  std::vector<Trial> trials;
  for (size_t a = 0; a < set.utt2spk.size(); ++a) {
    for (size_t b = a + 1; b < set.utt2spk.size(); ++b) {
      const bool target = set.utt2spk[a].second == set.utt2spk[b].second;
      trials.push_back({set.utt2spk[a].first, set.utt2spk[b].first, target ? 1 : 0});
    }
  }
  return trials;
}

double EerOf(const std::vector<double>& scores, const std::vector<Trial>& trials) {
  std::vector<int> labels;
  for (const Trial& t : trials) labels.push_back(t.target);
  return ComputeMetrics(scores, labels).eer_percent;
}

// Mean pairwise cosine of the cohort vectors as scored (m subtracted from a raw-space cohort).
double MeanPairwiseCosine(const Cohort& c, const std::vector<float>* m) {
  std::vector<Vec> u;
  for (size_t i = 0; i < c.size(); ++i) {
    u.push_back(Sub(std::vector<float>(c.Row(i), c.Row(i) + c.dim), c.mean_applied ? nullptr : m));
  }
  double sum = 0;
  for (size_t i = 0; i < u.size(); ++i) {
    for (size_t j = i + 1; j < u.size(); ++j) sum += CosD(u[i], u[j]);
  }
  return sum / (0.5 * static_cast<double>(u.size() * (u.size() - 1)));
}

TEST(CohortMean, BuildCohortCentresEachUtteranceOrFollowsSpeakerNet) {
  // m = (1, 1): a1 - m = (3, 4) -> (0.6, 0.8); a2 - m = (0, 2) -> (0, 1); b1 - m = (-5, 0).
  EmbeddingTable t;
  t.Add("a1", {4, 5});
  t.Add("a2", {1, 3});
  t.Add("b1", {-4, 1});
  const std::vector<float> m = {1, 1};
  const std::vector<std::pair<std::string, std::string>> u2s = {
      {"a1", "A"}, {"a2", "A"}, {"b1", "B"}};
  const Cohort per = BuildCohort(t, u2s, "c", &m);
  EXPECT_TRUE(per.mean_applied);
  EXPECT_EQ(per.built_mean, m);
  EXPECT_NEAR(per.vectors[0], 0.3, 1e-7);
  EXPECT_NEAR(per.vectors[1], 0.9, 1e-7);
  EXPECT_NEAR(per.vectors[2], -1.0, 1e-7);
  EXPECT_NEAR(per.vectors[3], 0.0, 1e-7);
  // speaker-net: mean of unit(e) minus m: A = ((4, 5)/sqrt 41 + (1, 3)/sqrt 10)/2 - (1, 1).
  const Cohort sn = BuildCohort(t, u2s, "c", &m, CohortMean::kSpeakerNet);
  EXPECT_NEAR(sn.vectors[0], (4 / std::sqrt(41.0) + 1 / std::sqrt(10.0)) / 2 - 1, 1e-7);
  EXPECT_NEAR(sn.vectors[1], (5 / std::sqrt(41.0) + 3 / std::sqrt(10.0)) / 2 - 1, 1e-7);
  EXPECT_NEAR(sn.vectors[2], -4 / std::sqrt(17.0) - 1, 1e-7);
  EXPECT_NEAR(sn.vectors[3], 1 / std::sqrt(17.0) - 1, 1e-7);
  EXPECT_EQ(ParseCohortMean("speaker-net"), CohortMean::kSpeakerNet);
  EXPECT_EQ(ParseCohortMean("per-utterance"), CohortMean::kPerUtterance);
  EXPECT_THAT(ErrorOf([] { ParseCohortMean("raw"); }), HasSubstr("'raw'"));
}

// Both forms' scores equal a direct reference of their definition, for AS-norm and S-norm,
// scores and imposter measure: double precision to 1e-9 (relative), the float path (int8
// preselection where available) to 1e-4 of a normalised score divided by sigma ~ 0.05.
// speaker-net's collapsed cohort makes sigma ~ 1e-4 (scores in the hundreds): its float scores
// carry the float32 rounding of the cosines times 1/sigma, up to 1e-3 of max(1, |score|).
TEST(CohortMean, BothFormsMatchDirectReferenceWithOffsetEmbeddings) {
  std::mt19937 rng(151);
  const OffsetSet cohort_set = MakeOffsetSet("c", 60, 4, 32, 3.0f, 1.0f, rng);
  const OffsetSet eval = MakeOffsetSet("e", 10, 4, 32, 3.0f, 1.0f, rng);
  const std::vector<float> m = MeanEmbedding(cohort_set.table);
  const std::vector<Trial> trials = AllPairs(eval);
  for (const bool per_utterance : {true, false}) {
    const Cohort cohort =
        BuildCohort(cohort_set.table, cohort_set.utt2spk, "c", &m,
                    per_utterance ? CohortMean::kPerUtterance : CohortMean::kSpeakerNet);
    const Cohort direct = DirectCohort(cohort_set, &m, per_utterance);
    for (const ScoreNormMethod method : {ScoreNormMethod::kASNorm, ScoreNormMethod::kSNorm}) {
      const size_t n = method == ScoreNormMethod::kASNorm ? 10 : 60;
      const RefScores want =
          NaiveScoreNorm(eval.table, trials, direct, n, &m, /*subtract_from_cohort=*/false);
      ScoreNormOptions o;
      o.method = method;
      o.top_n = 10;
      o.double_precision = true;
      const NormalizedScores got = ScoreNorm(eval.table, trials, cohort, o, &m);
      const std::string what = std::string(per_utterance ? "per-utterance" : "speaker-net") +
                               (method == ScoreNormMethod::kASNorm ? " asnorm" : " snorm");
      ExpectNear(got.scores, want.norm, 1e-9, what.c_str(), true);
      ExpectNear(got.enroll_imposter, want.enroll_imp, 1e-9, (what + " imposter").c_str(), true);
      o.double_precision = false;
      const NormalizedScores f = ScoreNorm(eval.table, trials, cohort, o, &m);
      const double tol = per_utterance ? 1e-4 : 1e-3;
      ExpectNear(f.scores, want.norm, tol, (what + " float").c_str(), !per_utterance);
      ExpectNear(f.test_imposter, want.test_imp, 1e-5, (what + " float imposter").c_str(), true);
    }
  }
}

// The failure the default fixes: with |m| >> 1 speaker-net's cohort collapses towards -m (mean
// pairwise cosine ~1) and AS-norm loses several EER points against submean cosine; the
// per-utterance form keeps the cohort spread out and AS-norm does not degrade the EER.
TEST(CohortMean, PerUtteranceASNormDoesNotDegradeEerWithOffsetEmbeddings) {
  std::mt19937 rng(152);
  const OffsetSet cohort_set = MakeOffsetSet("c", 60, 4, 32, 3.0f, 1.0f, rng);
  const OffsetSet eval = MakeOffsetSet("e", 30, 8, 32, 3.0f, 1.0f, rng);
  const std::vector<float> m = MeanEmbedding(cohort_set.table);
  const std::vector<Trial> trials = AllPairs(eval);
  ScoreNormOptions o;
  o.top_n = 10;
  const Cohort per = BuildCohort(cohort_set.table, cohort_set.utt2spk, "c", &m);
  const Cohort sn =
      BuildCohort(cohort_set.table, cohort_set.utt2spk, "c", &m, CohortMean::kSpeakerNet);
  const NormalizedScores a = ScoreNorm(eval.table, trials, per, o, &m);
  const NormalizedScores b = ScoreNorm(eval.table, trials, sn, o, &m);
  const double eer_cos = EerOf(a.raw, trials), eer_per = EerOf(a.scores, trials),
               eer_sn = EerOf(b.scores, trials);
  std::printf("EER submean cosine %.2f%%, AS-norm per-utterance %.2f%%, speaker-net %.2f%%\n",
              eer_cos, eer_per, eer_sn);
  EXPECT_LE(eer_per, eer_cos + 1.0);
  EXPECT_GE(eer_sn, eer_cos + 3.0);
  EXPECT_LT(std::abs(MeanPairwiseCosine(per, &m)), 0.1);
  EXPECT_GT(MeanPairwiseCosine(sn, &m), 0.9);
  // Without a mean both forms are the same cohort.
  const Cohort p0 = BuildCohort(cohort_set.table, cohort_set.utt2spk, "c");
  const Cohort s0 =
      BuildCohort(cohort_set.table, cohort_set.utt2spk, "c", nullptr, CohortMean::kSpeakerNet);
  EXPECT_EQ(p0.vectors, s0.vectors);
}

TEST(CohortMean, Int8PreselectionIsExactInBothForms) {
  std::mt19937 rng(153);
  const OffsetSet cohort_set = MakeOffsetSet("c", 5994, 2, 256, 3.0f, 1.0f, rng);
  const OffsetSet eval = MakeOffsetSet("e", 100, 3, 256, 3.0f, 1.0f, rng);
  const std::vector<float> m = MeanEmbedding(cohort_set.table);
  for (const CohortMean form : {CohortMean::kPerUtterance, CohortMean::kSpeakerNet}) {
    const Cohort cohort = BuildCohort(cohort_set.table, cohort_set.utt2spk, "c", &m, form);
    ExpectPreselectionExact(eval.table, cohort, 300, 13, &m);
    ExpectPreselectionExact(eval.table, cohort, 10, 64, &m);
  }
}

TEST(CohortMean, ScoringWithAnotherMeanThanTheCohortsIsAnError) {
  std::mt19937 rng(154);
  const OffsetSet set = MakeOffsetSet("c", 12, 2, 8, 3.0f, 1.0f, rng);
  const std::vector<float> m = MeanEmbedding(set.table);
  const std::vector<Trial> trials = AllPairs(set);
  ScoreNormOptions o;
  o.top_n = 3;
  const Cohort plain = BuildCohort(set.table, set.utt2spk, "cohort vox2dev");
  EXPECT_THAT(ErrorOf([&] { ScoreNorm(set.table, trials, plain, o, &m); }),
              HasSubstr("cohort vox2dev was built without the mean"));
  std::vector<float> other = m;
  other[0] += 1;
  const Cohort centred = BuildCohort(set.table, set.utt2spk, "cohort vox2dev", &other);
  EXPECT_THAT(ErrorOf([&] { ScoreNorm(set.table, trials, centred, o, &m); }),
              HasSubstr("built with another mean"));
}

}  // namespace
}  // namespace speakernet
