#include "speakernet/scoring/qmf_calibration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include <ATen/Parallel.h>

#include "speakernet/scoring/metrics.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;
using test::ErrorOf;
using Vec = std::vector<double>;

// Synthetic trials whose score offset depends on the shorter duration q (seconds): the score is
// s = z + 0.3 (q - 10) with z ~ N(+1, 1) for targets and N(-1, 1) for non-targets, so the true
// LLR is 2 z = 2 s - 0.6 q + 6, exactly linear in (s, q). A duration-blind calibration cannot
// undo the offset; QMF can.
struct Synthetic {
  Vec score, dur_short, dur_long;
  std::vector<int> labels;
};

Synthetic MakeSynthetic(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dur(2.0, 20.0);
  std::normal_distribution<double> gauss(0.0, 1.0);
  Synthetic s;
  for (size_t t = 0; t < n; ++t) {
    const int label = t % 2 == 0;
    const double a = dur(rng), b = dur(rng), q = std::min(a, b);
    const double z = (label ? 1.0 : -1.0) + gauss(rng);
    s.score.push_back(z + 0.3 * (q - 10.0));
    s.dur_short.push_back(q);
    s.dur_long.push_back(std::max(a, b));
    s.labels.push_back(label);
  }
  return s;
}

QualityFeatures DurFeatures(const Synthetic& s) {
  return {{"duration_short", "duration_long"}, {s.dur_short, s.dur_long}};
}

TEST(QmfCalibration, DurationDependentOffsetIsLearnedAndImprovesCllrAndMinDcf) {
  const Synthetic train = MakeSynthetic(30000, 1), eval = MakeSynthetic(30000, 2);
  const Calibrator qmf = TrainCalibrator({train.score}, DurFeatures(train), train.labels);
  // True model: w = 2, b = 6, v = (-0.6, 0); 30k trials pin it to a few hundredths.
  EXPECT_NEAR(qmf.weights[0], 2.0, 0.1);
  EXPECT_NEAR(qmf.bias, 6.0, 0.3);
  EXPECT_NEAR(qmf.quality_weights[0], -0.6, 0.03);
  EXPECT_NEAR(qmf.quality_weights[1], 0.0, 0.03);
  const Calibrator linear = TrainCalibrator({train.score}, {}, train.labels);

  const Vec llr_qmf = qmf.Apply({eval.score}, DurFeatures(eval));
  const Vec llr_lin = linear.Apply({eval.score}, {});
  Vec oracle(eval.score.size());
  for (size_t t = 0; t < oracle.size(); ++t) oracle[t] = 2 * eval.score[t] - 0.6 * eval.dur_short[t] + 6;
  const double cllr_qmf = Cllr(llr_qmf, eval.labels), cllr_lin = Cllr(llr_lin, eval.labels);
  EXPECT_LT(cllr_qmf, cllr_lin - 0.05) << "QMF should beat duration-blind calibration";
  EXPECT_NEAR(cllr_qmf, Cllr(oracle, eval.labels), 0.005);
  const double dcf_raw = ComputeMetrics(eval.score, eval.labels).min_dcf;
  const double dcf_qmf = ComputeMetrics(llr_qmf, eval.labels).min_dcf;
  EXPECT_LT(dcf_qmf, dcf_raw - 0.02);
  EXPECT_LT(ComputeMetrics(llr_qmf, eval.labels).eer_percent,
            ComputeMetrics(eval.score, eval.labels).eer_percent - 1.0);
  // Calibrated: actDCF close to minDCF.
  EXPECT_LT(ActualDcf(llr_qmf, eval.labels), dcf_qmf + 0.05);
}

TEST(QmfCalibration, FusionWeighsTwoSystemsAndBeatsEach) {
  std::mt19937 rng(5);
  std::normal_distribution<double> gauss(0.0, 1.0);
  const size_t n = 20000;
  Vec s1, s2;
  std::vector<int> labels;
  for (size_t t = 0; t < n; ++t) {
    const int label = t % 3 == 0;
    const double mu = label ? 1.0 : -1.0;
    s1.push_back(mu + gauss(rng));          // LLR 2 s1
    s2.push_back(3.0 * (mu + 2.0 * gauss(rng)));  // noisier, other scale
    labels.push_back(label);
  }
  // Independent noises: LLR = 2 s1 + 2 (s2/3)/4 = 2 s1 + s2/6.
  const Calibrator fused = TrainCalibrator({s1, s2}, {}, labels);
  EXPECT_NEAR(fused.weights[0], 2.0, 0.1);
  EXPECT_NEAR(fused.weights[1], 1.0 / 6.0, 0.02);
  EXPECT_NEAR(fused.bias, 0.0, 0.1);
  const Vec llr = fused.Apply({s1, s2}, {});
  const double c_fused = Cllr(llr, labels);
  EXPECT_LT(c_fused, Cllr(TrainCalibrator({s1}, {}, labels).Apply({s1}, {}), labels) - 0.01);
  EXPECT_LT(c_fused, Cllr(TrainCalibrator({s2}, {}, labels).Apply({s2}, {}), labels) - 0.01);
}

// The optimum of the Cllr objective from an independent implementation: Newton's method on the
// weighted logistic loss in numpy (Debian python3), to machine precision.
TEST(QmfCalibration, MatchesNumpyNewtonOptimum) {
  const Synthetic s = MakeSynthetic(3000, 7);
  std::mt19937 rng(3);
  std::normal_distribution<double> gauss(0.0, 1.0);
  Vec emb;  // a third, irrelevant feature
  for (size_t t = 0; t < s.score.size(); ++t) emb.push_back(10 + gauss(rng));
  QualityFeatures q = DurFeatures(s);
  q.names.push_back("noise");
  q.columns.push_back(emb);
  test::ScratchDir dir("qmf_newton");
  {
    std::ofstream f(dir / "data.txt");
    f.precision(17);
    for (size_t t = 0; t < s.score.size(); ++t) {
      f << s.labels[t] << ' ' << s.score[t] << ' ' << s.dur_short[t] << ' ' << s.dur_long[t]
        << ' ' << emb[t] << '\n';
    }
  }
  {
    std::ofstream py(dir / "newton.py");
    py << R"(import sys, numpy as np
d = np.loadtxt(sys.argv[1]); y = d[:, 0]; X = np.column_stack([d[:, 1], np.ones(len(y)), d[:, 2:]])
# Cllr = 0.5 (mean_tar softplus(-l) + mean_non softplus(l)) / ln2 = sum_i c_i logloss_i
c = np.where(y == 1, 0.5 / (y == 1).sum(), 0.5 / (y == 0).sum()) / np.log(2)
th = np.zeros(X.shape[1]); th[0] = 1.0
for _ in range(50):
    p = 1 / (1 + np.exp(-(X @ th)))
    g = X.T @ (c * (p - y)); H = (X * (c * p * (1 - p))[:, None]).T @ X
    th = th - np.linalg.solve(H, g)
l = X @ th
loss = (c * (np.logaddexp(0, l) - y * l)).sum()
print(' '.join('%.17g' % v for v in list(th) + [loss]))
)";
  }
  std::istringstream out(test::RunPython(dir / "newton.py", {dir / "data.txt"}));
  Vec ref(6);
  for (double& v : ref) out >> v;
  // Tight convergence (line search) must reach the optimum itself.
  CalibrationOptions tight;
  tight.lr = 1;
  tight.line_search = true;
  tight.tolerance = 1e-12;
  const Calibrator cal = TrainCalibrator({s.score}, q, s.labels, tight);
  EXPECT_NEAR(cal.weights[0], ref[0], 1e-4);
  EXPECT_NEAR(cal.bias, ref[1], 1e-3);
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(cal.quality_weights[j], ref[2 + j], 1e-4) << j;
  EXPECT_NEAR(cal.loss, ref[5], 1e-9);
  // speaker-net's settings (lr 0.01, stop at 1e-6 improvement) stop near it.
  const Calibrator def = TrainCalibrator({s.score}, q, s.labels);
  EXPECT_NEAR(def.loss, ref[5], 2e-4);
  EXPECT_GE(def.loss, ref[5] - 1e-12);
}

// The plain-C++ LBFGS (default) is a transcription of torch.optim.LBFGS without line search:
// the same iterates as torch::optim::LBFGS itself, step for step.
TEST(QmfCalibration, PlainLbfgsFollowsTorchLbfgs) {
  const Synthetic s = MakeSynthetic(4000, 9);
  for (int64_t steps : {1, 3, 100}) {
    CalibrationOptions plain;
    plain.max_steps = steps;
    CalibrationOptions ref = plain;
    ref.torch_lbfgs = true;
    const Calibrator a = TrainCalibrator({s.score}, DurFeatures(s), s.labels, plain);
    const Calibrator b = TrainCalibrator({s.score}, DurFeatures(s), s.labels, ref);
    EXPECT_EQ(a.steps, b.steps) << steps;
    EXPECT_NEAR(a.weights[0], b.weights[0], 1e-9 * std::max(1.0, std::abs(b.weights[0])));
    EXPECT_NEAR(a.bias, b.bias, 1e-9 * std::max(1.0, std::abs(b.bias)));
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(a.quality_weights[j], b.quality_weights[j], 1e-9);
    EXPECT_NEAR(a.loss, b.loss, 1e-12);
  }
}

// The loss and gradient pass cuts the trials into fixed blocks whose sums are added in block
// order: the fit is bit-identical whatever the number of threads, and its loss is the Cllr of
// the fitted model computed independently (metrics.cpp).
TEST(QmfCalibration, FitIsBitIdenticalForOneAndTwoThreadsAndItsLossIsTheCllr) {
  const Synthetic s = MakeSynthetic(30000, 4);  // 15 blocks: the parallel path
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const Calibrator one = TrainCalibrator({s.score}, DurFeatures(s), s.labels);
  const Calibrator again = TrainCalibrator({s.score}, DurFeatures(s), s.labels);
  at::set_num_threads(2);
  const Calibrator two = TrainCalibrator({s.score}, DurFeatures(s), s.labels);
  at::set_num_threads(threads);
  for (const Calibrator* c : {&again, &two}) {
    EXPECT_EQ(c->steps, one.steps);
    EXPECT_EQ(c->loss, one.loss);
    EXPECT_EQ(c->weights, one.weights);
    EXPECT_EQ(c->bias, one.bias);
    EXPECT_EQ(c->quality_weights, one.quality_weights);
  }
  const double cllr = Cllr(one.Apply({s.score}, DurFeatures(s)), s.labels);
  EXPECT_NEAR(one.loss, cllr, 1e-12 * cllr);
  // Large |llr| (softplus above torch's threshold 20, exp far below 1) through the same pass.
  Vec big;
  for (double v : s.score) big.push_back(40 * v);
  CalibrationOptions few;
  few.max_steps = 2;
  const Calibrator wide = TrainCalibrator({big}, DurFeatures(s), s.labels, few);
  const double cllr_wide = Cllr(wide.Apply({big}, DurFeatures(s)), s.labels);
  EXPECT_NEAR(wide.loss, cllr_wide, 1e-12 * cllr_wide);
}

TEST(QmfCalibration, QualityFeaturesFromDurationsEmbeddingsAndImposter) {
  const std::vector<Trial> trials = {{"a", "b", 1}, {"b", "c", 0}};
  const QualityFeatures d = DurationQuality(trials, {{"a", 3.0}, {"b", 7.5}, {"c", 2.0}}, "x");
  EXPECT_EQ(d.columns[0], (Vec{3.0, 2.0}));
  EXPECT_EQ(d.columns[1], (Vec{7.5, 7.5}));
  EXPECT_THAT(ErrorOf([&] { DurationQuality(trials, {{"a", 3.0}, {"b", 1.0}}, "dur.txt"); }),
              HasSubstr("no duration for 'c' in dur.txt"));

  EmbeddingTable table;
  table.Add("a", {3, 4});   // norm 5; minus mean (1, 0): (2, 4) -> sqrt 20
  table.Add("b", {1, 0});   // norm 1; minus mean: 0
  table.Add("c", {0, 12});  // norm 12; minus mean: sqrt 145
  const QualityFeatures e = EmbeddingQuality(table, trials);
  EXPECT_EQ(e.columns[0], (Vec{1.0, 1.0}));
  EXPECT_EQ(e.columns[1], (Vec{5.0, 12.0}));
  const std::vector<float> mean = {1, 0};
  const QualityFeatures em = EmbeddingQuality(table, trials, &mean);
  EXPECT_DOUBLE_EQ(em.columns[0][0], 0.0);
  EXPECT_DOUBLE_EQ(em.columns[1][0], std::sqrt(20.0));
  EXPECT_DOUBLE_EQ(em.columns[1][1], std::sqrt(145.0));

  NormalizedScores ns;
  ns.enroll_imposter = {0.2, 0.9};
  ns.test_imposter = {0.5, 0.1};
  const QualityFeatures im = ImposterQuality(ns);
  EXPECT_EQ(im.columns[0], (Vec{0.5, 0.9}));
  EXPECT_EQ(im.columns[1], (Vec{0.2, 0.1}));

  EXPECT_EQ(ParseQualityMeasures("duration, imposter"),
            (std::vector<std::string>{"duration", "imposter"}));
  EXPECT_THAT(ErrorOf([] { ParseQualityMeasures("duration snr"); }), HasSubstr("'snr'"));
  EXPECT_THAT(ErrorOf([] { ParseQualityMeasures("duration duration"); }),
              HasSubstr("listed twice"));
}

TEST(QmfCalibration, QualityAndUtt2DurFilesRoundTripAndErrorsNameTheLine) {
  test::ScratchDir dir("qmf_files");
  const std::vector<Trial> trials = {{"a", "b", 1}, {"b", "c", 0}};
  QualityFeatures q{{"x", "y"}, {{1.5, -2.25}, {3.0, 4.125}}};
  WriteQuality(dir / "q.qual", trials, q);
  const std::vector<Trial> reversed = {trials[1], trials[0]};
  const QualityFeatures r = ReadQuality(dir / "q.qual", reversed);
  EXPECT_EQ(r.columns[0], (Vec{-2.25, 1.5}));
  EXPECT_EQ(r.columns[1], (Vec{4.125, 3.0}));
  {
    std::ofstream f(dir / "bad.qual");
    f << "a b 1 2\nb c 3\n";
  }
  EXPECT_THAT(ErrorOf([&] { ReadQuality(dir / "bad.qual", trials); }), HasSubstr("bad.qual:2"));
  {
    std::ofstream f(dir / "utt2dur");
    f << "a 3.5\nb 2\nc x\n";
  }
  EXPECT_THAT(ErrorOf([&] { ReadUtt2Dur(dir / "utt2dur"); }), HasSubstr("utt2dur:3"));
}

TEST(QmfCalibration, RejectsBadInputs) {
  EXPECT_THAT(ErrorOf([] { TrainCalibrator({{1.0, 2.0}}, {}, {1, 1}); }),
              HasSubstr("target and non-target"));
  EXPECT_THAT(ErrorOf([] { TrainCalibrator({{1.0, NAN}}, {}, {1, 0}); }), HasSubstr("#2"));
  EXPECT_THAT(ErrorOf([] { TrainCalibrator({{1.0, 2.0, 3.0}}, {}, {1, 0}); }),
              HasSubstr("3 scores for 2 trials"));
  const Calibrator c = TrainCalibrator({{1.0, -1.0, 0.5, -0.2}}, {}, {1, 0, 0, 1});
  EXPECT_THAT(ErrorOf([&] { c.Apply({{1.0}, {2.0}}, {}); }), HasSubstr("1 systems, got 2"));
}

}  // namespace
}  // namespace speakernet
