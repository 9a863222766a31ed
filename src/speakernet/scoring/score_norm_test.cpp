#include "speakernet/scoring/score_norm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <random>

#include <torch/torch.h>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"

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
void ExpectPreselectionExact(const EmbeddingTable& table, const Cohort& cohort, int64_t top_n,
                             int64_t block_rows = 13) {
  std::vector<std::string> ids(table.keys().begin(), table.keys().end());
  ScoreNormOptions plain;
  plain.top_n = top_n;
  plain.int8_preselect = false;
  ScoreNormOptions fast = plain;
  fast.int8_preselect = true;
  fast.block_rows = block_rows;
  const std::vector<float> mean = MeanEmbedding(table);
  const auto a = ComputeCohortStats(table, ids, cohort, plain, &mean);
  const auto b = ComputeCohortStats(table, ids, cohort, fast, &mean);
  double worst_mean = 0, worst_std = 0, worst_imp = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst_mean = std::max(worst_mean, std::abs(a[i].mean - b[i].mean));
    worst_std = std::max(worst_std, std::abs(a[i].std - b[i].std));
    worst_imp = std::max(worst_imp, std::abs(a[i].imposter - b[i].imposter) /
                                        std::max(1.0, std::abs(a[i].imposter)));
  }
  // A few float32 ulps: the fp32 path's BLAS sums in another order than the rescoring's dot
  // products (cosines near 1, e.g. utterances equal to cohort vectors, differ by 1-2 ulps of 1).
  EXPECT_LE(worst_mean, 4e-7);
  EXPECT_LE(worst_std, 4e-7);
  EXPECT_LE(worst_imp, 2e-6);
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
  for (size_t r = 1; r < runs.size(); ++r) {
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
  ExpectNear(g.scores, h.scores, 1e-6, "float path, cached vs not");
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

}  // namespace
}  // namespace speakernet

