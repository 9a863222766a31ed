#include "speakernet/training/lr_schedule.h"

#include <gtest/gtest.h>

#include "speakernet/common/error.h"

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

}  // namespace
}  // namespace speakernet
