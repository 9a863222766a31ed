#include "speakernet/scoring/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;

// 3 targets / 5 non-targets:
//   non-targets 0.1 0.3 0.5 0.6 0.9, targets 0.2 0.7 0.8
//   sorted:     0.1n 0.2t 0.3n 0.5n 0.6n 0.7t 0.8t 0.9n
// Operating points (FNR, FPR) after rejecting every score <= s:
//   start (0, 1)   0.1 (0, 4/5)   0.2 (1/3, 4/5)   0.3 (1/3, 3/5)   0.5 (1/3, 2/5)
//   0.6 (1/3, 1/5) 0.7 (2/3, 1/5) 0.8 (1, 1/5)     0.9 (1, 0)
// FNR - FPR first becomes >= 0 at 0.6: (x1, y1) = (2/5, 1/3), (x2, y2) = (1/5, 1/3).
//   denom = y2 - x2 - y1 + x1 = 1/5, a = (x1 - x2) / denom = 1, EER = x1 + a (y1 - x1) = 1/3.
//   Crossing at t = (x1 - y1) / denom = 1/3 of the way from 0.5 to 0.6: threshold 0.5 + 0.1/3.
// minDCF, normalised cost = (p FNR + (1 - p) FPR) / min(p, 1 - p):
//   p = 0.5:  FNR + FPR     = 1, 0.8, 1.133, 0.933, 0.733, 0.533, 0.867, 1.2, 1 → 8/15 at 0.6
//   p = 0.25: FNR + 3 FPR   = 3, 2.4, 2.733, 2.133, 1.533, 0.933, 1.267, 1.6, 1 → 14/15 at 0.6
//   p = 0.01: FNR + 99 FPR  → 1 at 0.9 (reject everything)
TEST(Metrics, HandComputedThreeTargetsFiveNonTargets) {
  const std::vector<double> scores = {0.1, 0.3, 0.5, 0.6, 0.9, 0.2, 0.7, 0.8};
  const std::vector<int> labels = {0, 0, 0, 0, 0, 1, 1, 1};
  DetMetrics m = ComputeMetrics(scores, labels, 0.5);
  EXPECT_NEAR(m.eer_percent, 100.0 / 3, 1e-12);
  EXPECT_NEAR(m.eer_threshold, 0.5 + 0.1 / 3, 1e-12);
  EXPECT_NEAR(m.min_dcf, 8.0 / 15, 1e-12);
  EXPECT_DOUBLE_EQ(m.min_dcf_threshold, 0.6);
  m = ComputeMetrics(scores, labels, 0.25);
  EXPECT_NEAR(m.min_dcf, 14.0 / 15, 1e-12);
  EXPECT_DOUBLE_EQ(m.min_dcf_threshold, 0.6);
  m = ComputeMetrics(scores, labels);  // p = 0.01
  EXPECT_NEAR(m.eer_percent, 100.0 / 3, 1e-12);
  EXPECT_NEAR(m.min_dcf, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.min_dcf_threshold, 0.9);
  // Unequal costs: c_miss = 1, c_fa = 2, p = 0.5 → (0.5 FNR + FPR) / 0.5 = FNR + 2 FPR:
  //   1: 2, 1.6, 1.933, 1.533, 1.133, 0.733, 1.067, 1.4, 1 → 11/15 at 0.6.
  m = ComputeMetrics(scores, labels, 0.5, 1, 2);
  EXPECT_NEAR(m.min_dcf, 11.0 / 15, 1e-12);
}

// 4 targets / 4 non-targets with overlap:
//   sorted 0.1n 0.2n 0.3n 0.4t 0.5t 0.6n 0.7t 0.8t
//   points: start (0,1) 0.1 (0,3/4) 0.2 (0,1/2) 0.3 (0,1/4) 0.4 (1/4,1/4) 0.5 (1/2,1/4)
//           0.6 (1/2,0) 0.7 (3/4,0) 0.8 (1,0)
// FNR - FPR reaches 0 exactly at 0.4 → EER = 1/4 (a = 0), threshold 0.4.
// p = 0.5: FNR + FPR = 1, .75, .5, .25, .5, .75, .5, .75, 1 → minDCF 0.25 at 0.3.
TEST(Metrics, HandComputedFourByFour) {
  const std::vector<double> scores = {0.4, 0.5, 0.7, 0.8, 0.1, 0.2, 0.3, 0.6};
  const std::vector<int> labels = {1, 1, 1, 1, 0, 0, 0, 0};
  const DetMetrics m = ComputeMetrics(scores, labels, 0.5);
  EXPECT_NEAR(m.eer_percent, 25.0, 1e-12);
  EXPECT_NEAR(m.eer_threshold, 0.4, 1e-12);
  EXPECT_NEAR(m.min_dcf, 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(m.min_dcf_threshold, 0.3);
}

TEST(Metrics, PerfectAndReversedSeparation) {
  const std::vector<double> scores = {0.9, 0.8, 0.95, 0.1, 0.2, 0.3, 0.4};
  const std::vector<int> labels = {1, 1, 1, 0, 0, 0, 0};
  DetMetrics m = ComputeMetrics(scores, labels);
  EXPECT_DOUBLE_EQ(m.eer_percent, 0.0);
  EXPECT_DOUBLE_EQ(m.min_dcf, 0.0);
  EXPECT_DOUBLE_EQ(m.min_dcf_threshold, 0.4);  // reject <= 0.4: no error at all
  std::vector<double> reversed(scores);
  for (double& s : reversed) s = -s;
  m = ComputeMetrics(reversed, labels);
  EXPECT_DOUBLE_EQ(m.eer_percent, 100.0);
  EXPECT_DOUBLE_EQ(m.min_dcf, 1.0);  // best is to reject everything: cost p·c_miss
}

// Ties: targets 0.5 0.5, non-targets 0.5 0.1. Tied scores move together:
//   start (0, 1), 0.1 (0, 1/2), 0.5 (1, 0).
//   x1 = 1/2, y1 = 0, x2 = 0, y2 = 1: denom = 3/2, a = 1/3, EER = 1/2 - 1/6 = 1/3.
//   p = 0.5: FNR + FPR = 1, 0.5, 1 → minDCF 0.5 at 0.1.
// All scores tied: start (0, 1) → (1, 0): a = 1/2, EER = 50 %, minDCF 1.
TEST(Metrics, TiesMoveTogetherAndOrderDoesNotMatter) {
  std::vector<double> scores = {0.5, 0.5, 0.5, 0.1};
  std::vector<int> labels = {1, 1, 0, 0};
  for (int perm = 0; perm < 4; ++perm) {
    const DetMetrics m = ComputeMetrics(scores, labels, 0.5);
    EXPECT_NEAR(m.eer_percent, 100.0 / 3, 1e-12);
    EXPECT_NEAR(m.min_dcf, 0.5, 1e-12);
    EXPECT_DOUBLE_EQ(m.min_dcf_threshold, 0.1);
    std::rotate(scores.begin(), scores.begin() + 1, scores.end());
    std::rotate(labels.begin(), labels.begin() + 1, labels.end());
  }
  const DetMetrics all = ComputeMetrics({1, 1, 1, 1, 1}, {1, 0, 1, 0, 0}, 0.5);
  EXPECT_DOUBLE_EQ(all.eer_percent, 50.0);
  EXPECT_DOUBLE_EQ(all.min_dcf, 1.0);
}

struct RandomTrials {
  std::vector<double> scores;
  std::vector<int> labels;
};

// Gaussian target/non-target scores; `decimals` >= 0 rounds them to create ties.
RandomTrials MakeRandom(size_t n, double target_fraction, unsigned seed, int decimals = -1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::bernoulli_distribution is_target(target_fraction);
  RandomTrials r;
  r.scores.resize(n);
  r.labels.resize(n);
  const double scale = decimals >= 0 ? std::pow(10.0, decimals) : 0;
  for (size_t i = 0; i < n; ++i) {
    r.labels[i] = is_target(rng) ? 1 : 0;
    double s = gauss(rng) * 0.1 + (r.labels[i] ? 0.55 : 0.1);
    if (decimals >= 0) s = std::round(s * scale) / scale;
    r.scores[i] = s;
  }
  return r;
}

// Property: a strictly increasing transform of the scores changes no rate, so EER and minDCF
// are unchanged (thresholds move with the transform).
TEST(Metrics, InvariantToMonotoneTransforms) {
  for (int decimals : {-1, 2}) {
    const RandomTrials r = MakeRandom(20000, 0.1, 7 + decimals, decimals);
    const DetMetrics base = ComputeMetrics(r.scores, r.labels);
    std::vector<double> t(r.scores.size());
    std::transform(r.scores.begin(), r.scores.end(), t.begin(),
                   [](double s) { return std::exp(3 * s) - 5; });
    const DetMetrics m = ComputeMetrics(t, r.labels);
    EXPECT_NEAR(m.eer_percent, base.eer_percent, 1e-9);
    EXPECT_NEAR(m.min_dcf, base.min_dcf, 1e-12);
    EXPECT_NEAR(m.min_dcf_threshold, std::exp(3 * base.min_dcf_threshold) - 5, 1e-9);
    EXPECT_NEAR(MinCllr(t, r.labels), MinCllr(r.scores, r.labels), 1e-12);
    EXPECT_GT(base.eer_percent, 0.1);
    EXPECT_LT(base.eer_percent, 20);
  }
}

// Independent reference: a NumPy transcription of spec §7.2 item 6 (argsort, per-element
// cumulative sums with the 1e-6 guards, sign change of FNR - FPR, normalised minDCF) on
// continuous (tie-free) random scores.
TEST(Metrics, MatchesNumpyTranscriptionOfTheSpec) {
  const RandomTrials r = MakeRandom(30000, 0.08, 42);
  test::ScratchDir dir("sn_metrics_numpy");
  {
    std::ofstream out(dir / "scores.txt");
    out.precision(17);
    for (size_t i = 0; i < r.scores.size(); ++i) out << r.scores[i] << " " << r.labels[i] << "\n";
  }
  {
    std::ofstream py(dir / "ref.py");
    py << R"PY(
import sys
import numpy as np
d = np.loadtxt(sys.argv[1])
s, lab = d[:, 0], d[:, 1]
for p in (0.01, 0.05):
    idx = np.argsort(s)
    l = lab[idx]
    nt, nn = l.sum(), (1 - l).sum()
    fnr = np.cumsum(l) / (nt + 1e-6)
    fpr = 1 - np.cumsum(1 - l) / (nn + 1e-6)
    i = int(np.argmax(fnr - fpr >= 0))
    x1, y1, x2, y2 = fpr[i - 1], fnr[i - 1], fpr[i], fnr[i]
    a = (x1 - x2) / (y2 - x2 - y1 + x1)
    eer = 100 * (x1 + a * (y1 - x1))
    dcf = np.min(fnr * p + fpr * (1 - p)) / min(p, 1 - p)
    print("%.12f %.12f" % (eer, dcf))
)PY";
  }
  std::istringstream ref(test::RunPython(dir / "ref.py", {dir / "scores.txt"}));
  for (double p : {0.01, 0.05}) {
    double eer = 0, dcf = 0;
    ref >> eer >> dcf;
    const DetMetrics m = ComputeMetrics(r.scores, r.labels, p);
    EXPECT_NEAR(m.eer_percent, eer, 1e-6) << "p=" << p;
    EXPECT_NEAR(m.min_dcf, dcf, 1e-6) << "p=" << p;
  }
}

// Scores as LLRs; Bayes threshold ln 99 ≈ 4.595 for p = 0.01.
//   targets 5, 3 → one miss (3 <= 4.595): P_miss = 1/2
//   non-targets 4.6, -1, 0 → one false alarm (4.6 > 4.595): P_fa = 1/3
//   actDCF = P_miss + 99 P_fa = 33.5.  p = 0.5 (threshold 0): P_miss 0, P_fa 1/3 → 1/3.
TEST(Metrics, ActualDcfHandComputed) {
  const std::vector<double> scores = {5, 3, 4.6, -1, 0};
  const std::vector<int> labels = {1, 1, 0, 0, 0};
  EXPECT_NEAR(ActualDcf(scores, labels), 33.5, 1e-12);
  EXPECT_NEAR(ActualDcf(scores, labels, 0.5), 1.0 / 3, 1e-12);
}

// Cllr of LLR 0 everywhere is 1 bit. Targets at ln 3 and non-targets at -ln 3 cost
// log2(1 + 1/3) each: Cllr = log2(4/3).
// MinCllr on targets {2, 0}, non-targets {1, -1}: sorted -1n 0t 1n 2t; PAV pools 0t and 1n
// (fractions 1 then 0 violate monotonicity) into one block of posterior 1/2; with prior 1/2 its
// LLR is 0, costing 1 bit for each of its two trials; the other blocks cost 0:
//   minCllr = (1/2 · 1 + 1/2 · 1) / 2 = 0.5.
TEST(Metrics, CllrAndMinCllrHandComputed) {
  EXPECT_NEAR(Cllr({0, 0, 0}, {1, 0, 0}), 1.0, 1e-12);
  const double l3 = std::log(3.0);
  EXPECT_NEAR(Cllr({l3, l3, -l3}, {1, 1, 0}), std::log2(4.0 / 3), 1e-12);
  EXPECT_NEAR(MinCllr({2, 0, 1, -1}, {1, 1, 0, 0}), 0.5, 1e-12);
  EXPECT_NEAR(MinCllr({1, 2, -1, -2}, {1, 1, 0, 0}), 0.0, 1e-12);
  EXPECT_NEAR(MinCllr({3, 3, 3, 3, 3}, {1, 0, 0, 1, 0}), 1.0, 1e-12);
  const RandomTrials r = MakeRandom(5000, 0.3, 3);
  std::vector<double> llr(r.scores);
  for (double& s : llr) s = 10 * s - 3;
  EXPECT_LE(MinCllr(llr, r.labels), Cllr(llr, r.labels) + 1e-12);
  EXPECT_GT(MinCllr(llr, r.labels), 0.0);
}

TEST(Metrics, ErrorsNameTheProblem) {
  EXPECT_THROW(ComputeMetrics({0.1, 0.2}, {1}), Error);
  try {
    ComputeMetrics({0.1, 0.2, 0.3}, {1, 0, -1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("trial #3"));
  }
  try {
    ComputeMetrics({0.1, 0.2}, {1, 1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("non-target"));
  }
  EXPECT_THROW(ComputeMetrics({0.1, NAN}, {1, 0}), Error);
  EXPECT_THROW(ComputeMetrics({0.1, 0.2}, {1, 0}, 1.0), Error);
}

}  // namespace
}  // namespace speakernet
