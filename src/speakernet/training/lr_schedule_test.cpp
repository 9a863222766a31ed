#include "speakernet/training/lr_schedule.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

TEST(LrSchedule, ParsesEpochPositions) {
  EXPECT_EQ(ParseEpochPosition("0", 10), 0);
  EXPECT_EQ(ParseEpochPosition("1", 10), 10);
  EXPECT_EQ(ParseEpochPosition("1.5", 10), 15);
  EXPECT_EQ(ParseEpochPosition("0.20191", 20191), 20191);
  EXPECT_THROW(ParseEpochPosition("x", 10), Error);
  EXPECT_THROW(ParseEpochPosition("1.", 10), Error);
  EXPECT_THROW(ParseEpochPosition("-1", 10), Error);
}

TEST(LrSchedule, LinearWarmupThenMultiStep) {
  LrScheduleConfig c;  // multistep [15, 25, 35], gamma 0.1, warm-up 1 epoch
  const int64_t n = 10;
  // Warm-up over the first epoch: lr(g) = base * (g + 1) / W, W = 10 iterations.
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.02, 0, n, 40), 0.002);
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.02, 4, n, 40), 0.01);
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.02, 9, n, 40), 0.02);
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.02, 10, n, 40), 0.02);
  // Milestones multiply by gamma from the first iteration of epochs 15, 25 and 35.
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.02, 149, n, 40), 0.02);
  EXPECT_NEAR(LearningRate(c, 0.02, 150, n, 40), 0.002, 1e-15);
  EXPECT_NEAR(LearningRate(c, 0.02, 250, n, 40), 0.0002, 1e-15);
  EXPECT_NEAR(LearningRate(c, 0.02, 399, n, 40), 0.00002, 1e-15);
}

TEST(LrSchedule, ExponentialReachesFinalLr) {
  LrScheduleConfig c;
  c.name = "exponential";
  c.warmup_epoch = "0";
  c.final_lr = 1e-5;
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.02, 0, 10, 5), 0.02);
  EXPECT_NEAR(LearningRate(c, 0.02, 50, 10, 5), 1e-5, 1e-12);
  // Geometric mean half way.
  EXPECT_NEAR(LearningRate(c, 0.02, 25, 10, 5), std::sqrt(0.02 * 1e-5), 1e-12);
}

TEST(LrSchedule, ConstantWithoutWarmup) {
  LrScheduleConfig c;
  c.name = "constant";
  c.warmup_epoch = "0";
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.5, 0, 10, 5), 0.5);
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.5, 49, 10, 5), 0.5);
}

// One torch.optim.lr_scheduler run: `scheduler` stepped `steps` times from `base_lr`.
struct TorchJob {
  std::string scheduler;
  int64_t steps;
  double base_lr;
  std::vector<std::string> kwargs;
  std::string Line() const {
    std::string line = fmt::format("{} {} {:.17g}", scheduler, steps, base_lr);
    for (const auto& kw : kwargs) line += " " + kw;
    return line;
  }
};

const std::vector<double> kPlateauMetrics = {5,   4,   4.1, 4.2, 4.0, 3.9996, 3.5, 3.6,
                                             3.7, 3.8, 3.9, 3.2, 3.3, 3.3,    3.3, 3.3,
                                             3.3, 3.3, 3.3, 3.3, 3.3, 1.0};
struct PlateauCase {
  std::string metric, threshold_mode;
  double threshold;
  int64_t patience, cooldown;
};
const std::vector<PlateauCase> kPlateauCases = {{"valid_loss", "rel", 1e-4, 2, 0},
                                                {"valid_loss", "abs", 0.05, 1, 2},
                                                {"valid_accuracy", "rel", 1e-4, 1, 1}};

TorchJob PlateauJob(const PlateauCase& k) {
  std::string joined;
  for (double m : kPlateauMetrics) joined += (joined.empty() ? "" : ",") + fmt::format("{:.17g}", m);
  return {"ReduceLROnPlateau",
          static_cast<int64_t>(kPlateauMetrics.size()),
          0.02,
          {"metrics=" + joined, std::string("mode=") + (k.metric == "valid_loss" ? "min" : "max"),
           "threshold_mode=" + k.threshold_mode, fmt::format("threshold={:.17g}", k.threshold),
           fmt::format("patience={}", k.patience), fmt::format("cooldown={}", k.cooldown),
           "factor=0.5", "min_lr=0.002"}};
}

const TorchJob kIterMultiStep{"MultiStepLR", 54, 0.02, {"milestones=7,15,16,40", "gamma=0.3"}};
const TorchJob kStep{"StepLR", 9, 0.1, {"step_size=2", "gamma=0.9"}};
const TorchJob kCyclic2{
    "CyclicLR", 56, 0.002, {"base_lr=2e-8", "max_lr=0.002", "step_size_up=7", "mode=triangular2"}};
const TorchJob kCyclicTriangular{"CyclicLR",
                                 56,
                                 0.002,
                                 {"base_lr=2e-8", "max_lr=0.002", "step_size_up=7",
                                  "step_size_down=3", "mode=triangular"}};
const TorchJob kCyclicExpRange{"CyclicLR",
                               56,
                               0.002,
                               {"base_lr=2e-8", "max_lr=0.002", "step_size_up=7",
                                "step_size_down=3", "mode=exp_range", "gamma=0.97"}};
const TorchJob kOneCycleCos{"OneCycleLR", 50, 0.01, {"max_lr=0.01", "total_steps=50"}};
const TorchJob kOneCycleLinear{"OneCycleLR",
                               50,
                               0.01,
                               {"max_lr=0.05", "total_steps=50", "pct_start=0.25", "div_factor=10",
                                "final_div_factor=100", "anneal_strategy=linear"}};

// torch's learning rates for `job`. Every job of this file runs in one python3 process (torch's
// import dominates the time), on the first call.
std::vector<double> TorchLrs(const TorchJob& job) {
  static const std::map<std::string, std::vector<double>> tables = [] {
    std::vector<TorchJob> jobs = {kIterMultiStep, kStep,        kCyclic2,       kCyclicTriangular,
                                  kCyclicExpRange, kOneCycleCos, kOneCycleLinear};
    for (const auto& k : kPlateauCases) jobs.push_back(PlateauJob(k));
    test::ScratchDir dir("sn_lr_schedule_ref");
    std::ofstream(dir / "jobs.txt") << [&] {
      std::string all;
      for (const auto& j : jobs) all += j.Line() + "\n";
      return all;
    }();
    std::istringstream out(test::RunPython(
        test::SourcePath("src/speakernet/training/testdata/lr_schedule_reference.py"),
        {dir / "jobs.txt"}));
    std::map<std::string, std::vector<double>> result;
    for (const auto& j : jobs) {
      std::string line;
      std::getline(out, line);
      std::istringstream values(line);
      auto& lrs = result[j.Line()];
      for (double x; values >> x;) lrs.push_back(x);
      EXPECT_EQ(static_cast<int64_t>(lrs.size()), j.steps) << j.Line();
    }
    return result;
  }();
  const auto it = tables.find(job.Line());
  EXPECT_NE(it, tables.end()) << job.Line() << " is not in the batch of TorchLrs";
  return it == tables.end() ? std::vector<double>{} : it->second;
}

// Every iteration's lr against torch's table, to a relative 1e-12 (torch chains products where
// speakernet uses closed forms).
void ExpectMatches(const LrScheduleConfig& c, double base_lr, int64_t iters_per_epoch,
                   int64_t epochs, const std::vector<double>& ref, int64_t ref_every = 1) {
  ASSERT_EQ(static_cast<int64_t>(ref.size()) * ref_every, iters_per_epoch * epochs);
  for (int64_t g = 0; g < iters_per_epoch * epochs; ++g) {
    const double want = ref[static_cast<size_t>(g / ref_every)];
    EXPECT_NEAR(LearningRate(c, base_lr, g, iters_per_epoch, epochs), want, 1e-12 * want)
        << c.name << " iteration " << g;
  }
}

TEST(LrSchedule, IterMultiStepMatchesTorchMultiStepLR) {
  LrScheduleConfig c;
  c.name = "iter_multistep";
  c.warmup_epoch = "0";
  c.milestones = {7, 15, 16, 40};  // iterations; an epoch here is 9 iterations
  c.gamma = 0.3;
  ExpectMatches(c, 0.02, 9, 6, TorchLrs(kIterMultiStep));
}

// speaker-net's balanced/paired milestones (20191 x {15, 25, 35}) at their edges, by hand.
TEST(LrSchedule, IterMultiStepAtSpeakerNetMilestones) {
  LrScheduleConfig c;
  c.name = "iter_multistep";
  c.milestones = {302865, 504775, 706685};
  c.warmup_epoch = "0.20191";
  const int64_t n = 20191;
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.02, 0, n, 40), 0.02 / 20191);
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.02, 302864, n, 40), 0.02);
  EXPECT_NEAR(LearningRate(c, 0.02, 302865, n, 40), 0.002, 1e-15);
  EXPECT_NEAR(LearningRate(c, 0.02, 706685, n, 40), 0.00002, 1e-16);
}

TEST(LrSchedule, StepMatchesTorchStepLRPerEpoch) {
  LrScheduleConfig c;
  c.name = "step";
  c.warmup_epoch = "0";
  c.step.step_size = 2;
  c.step.gamma = 0.9;
  ExpectMatches(c, 0.1, 5, 9, TorchLrs(kStep), 5);
}

// speaker-net's ecapa-tdnn-c512_adam: base 2e-8, max 0.002, triangular2, here with a short
// half-cycle of 7 iterations so that 4 cycles (amplitude 1, 1/2, 1/4, 1/8) fit in the table;
// then triangular with a shorter falling half, and exp_range.
TEST(LrSchedule, CyclicMatchesTorchCyclicLR) {
  LrScheduleConfig c;
  c.name = "cyclic";
  c.warmup_epoch = "0";
  c.cyclic.base_lr = 2e-8;
  c.cyclic.max_lr = 0.002;
  c.cyclic.step_size_up = 7;
  c.cyclic.mode = "triangular2";
  ExpectMatches(c, 0.002, 8, 7, TorchLrs(kCyclic2));
  c.cyclic.step_size_down = 3;
  c.cyclic.mode = "triangular";
  ExpectMatches(c, 0.002, 8, 7, TorchLrs(kCyclicTriangular));
  c.cyclic.mode = "exp_range";
  c.cyclic.gamma = 0.97;
  ExpectMatches(c, 0.002, 8, 7, TorchLrs(kCyclicExpRange));
  // The full-size speaker-net schedule peaks at iteration 100955 and halves per cycle.
  c = LrScheduleConfig();
  c.name = "cyclic";
  c.warmup_epoch = "0";
  c.cyclic = {2e-8, 0.002, 100955, 0, "triangular2", 1.0};
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.002, 0, 20191, 40), 2e-8);
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.002, 100955, 20191, 40), 0.002);
  EXPECT_DOUBLE_EQ(LearningRate(c, 0.002, 3 * 100955, 20191, 40), 2e-8 + (0.002 - 2e-8) / 2);
}

TEST(LrSchedule, OneCycleMatchesTorchOneCycleLR) {
  LrScheduleConfig c;
  c.name = "onecycle";
  c.warmup_epoch = "0";
  ExpectMatches(c, 0.01, 10, 5, TorchLrs(kOneCycleCos));
  c.onecycle = {0.05, 0.25, 10, 100, "linear"};
  ExpectMatches(c, 0.01, 10, 5, TorchLrs(kOneCycleLinear));
}

// A metric sequence with improvements, plateaus, a cooldown and the min_lr floor, in both modes.
TEST(LrSchedule, ReduceOnPlateauMatchesTorch) {
  for (const PlateauCase& k : kPlateauCases) {
    ReduceOnPlateauConfig c;
    c.metric = k.metric;
    c.threshold_mode = k.threshold_mode;
    c.threshold = k.threshold;
    c.patience = k.patience;
    c.cooldown = k.cooldown;
    c.factor = 0.5;
    c.min_lr = 0.002;
    const std::vector<double> ref = TorchLrs(PlateauJob(k));
    ASSERT_EQ(ref.size(), kPlateauMetrics.size());
    ReduceOnPlateau plateau(c, 0.02);
    int reductions = 0;
    for (size_t i = 0; i < kPlateauMetrics.size(); ++i) {
      const double before = plateau.lr();
      plateau.Step(kPlateauMetrics[i], kPlateauMetrics[i]);
      reductions += plateau.lr() < before;
      EXPECT_NEAR(plateau.lr(), ref[i], 1e-15) << k.metric << " step " << i;
    }
    EXPECT_GE(reductions, 2) << k.metric;
    // The saved state restores the same future.
    ReduceOnPlateau copy(c, 1.0);
    copy.LoadState(plateau.State());
    plateau.Step(7.0, 0.1);
    copy.Step(7.0, 0.1);
    EXPECT_EQ(plateau.State(), copy.State());
  }
}

TEST(LrSchedule, ValidateNamesTheKey) {
  LrScheduleConfig c;
  c.name = "cosine";
  EXPECT_NE(test::ErrorOf([&] { c.Validate(); }).find("lr_schedule.name"), std::string::npos);
  c = LrScheduleConfig();
  c.cyclic.mode = "sine";
  EXPECT_NE(test::ErrorOf([&] { c.Validate(); }).find("lr_schedule.cyclic.mode"), std::string::npos);
  c = LrScheduleConfig();
  c.reduce_on_plateau.metric = "eer";
  EXPECT_NE(test::ErrorOf([&] { c.Validate(); }).find("lr_schedule.reduce_on_plateau.metric"),
            std::string::npos);
}

}  // namespace
}  // namespace speakernet
