#include "speakernet/losses/margin_scheduler.h"

#include <gtest/gtest.h>

#include "speakernet/common/config.h"
#include "speakernet/common/error.h"

namespace speakernet {
namespace {

constexpr int64_t kN = 20191;  // iterations per epoch in the spec's table

// Margin fraction 1 / (1 + lambda) at P0 + offset, with P0 = N (increase_start_epoch "1").
double FractionAt(const MarginScheduleConfig& c, int64_t offset) {
  const int64_t pos = kN + offset;  // pos = epoch * N + iter + 1
  const int64_t epoch = (pos - 1) / kN, iter = (pos - 1) % kN;
  return 1.0 / (1.0 + MarginLambda(c, epoch, iter, kN));
}

TEST(MarginScheduler, MatchesSpecTable) {
  const MarginScheduleConfig c;
  // Spec §4.2 (percent, one decimal): 0.1, 3.1, 19.6, 50.6, 75.8, 94.4, 99.4. The formula gives
  // 19.549 % at +20k (243 / 1243), which the table rounds up; hence the 6e-4 tolerance.
  EXPECT_NEAR(FractionAt(c, 0), 0.001, 5e-4);
  EXPECT_NEAR(FractionAt(c, 10000), 0.031, 5e-4);
  EXPECT_NEAR(FractionAt(c, 20000), 0.196, 6e-4);
  EXPECT_NEAR(FractionAt(c, 30000), 0.506, 5e-4);
  EXPECT_NEAR(FractionAt(c, 40000), 0.758, 5e-4);
  EXPECT_NEAR(FractionAt(c, 60000), 0.944, 5e-4);
  EXPECT_NEAR(FractionAt(c, 100000), 0.994, 5e-4);
  // Hand-derived: lambda = 1000 * (1 + 1e-4 * d)^-5 = 1000 / 32, 1000 / 243, 1000 / 1024.
  EXPECT_DOUBLE_EQ(FractionAt(c, 0), 1.0 / 1001.0);
  EXPECT_DOUBLE_EQ(FractionAt(c, 10000), 32.0 / 1032.0);
  EXPECT_DOUBLE_EQ(FractionAt(c, 20000), 243.0 / 1243.0);
  EXPECT_DOUBLE_EQ(FractionAt(c, 30000), 1024.0 / 2024.0);
  EXPECT_DOUBLE_EQ(MarginLambda(c, 1, 9999, kN), 31.25);
}

TEST(MarginScheduler, BeforeStartIsLambdaB) {
  const MarginScheduleConfig c;
  EXPECT_DOUBLE_EQ(MarginLambda(c, 0, 0, kN), 1000.0);
  EXPECT_DOUBLE_EQ(MarginLambda(c, 0, kN - 2, kN), 1000.0);  // pos = N - 1 < P0
  EXPECT_DOUBLE_EQ(MarginLambda(c, 0, kN - 1, kN), 1000.0);  // pos = P0: (1 + 0)^-5
}

TEST(MarginScheduler, EpochDotIterationStart) {
  MarginScheduleConfig c;
  c.increase_start_epoch = "0.20191";
  EXPECT_EQ(MarginStartPosition(c, kN), 20191);
  c.increase_start_epoch = "2.15";
  EXPECT_EQ(MarginStartPosition(c, 100), 215);
  // pos = 215 + 10000 reaches lambda = 31.25.
  EXPECT_DOUBLE_EQ(MarginLambda(c, 102, 14, 100), 31.25);
}

TEST(MarginScheduler, FloorAndDisabled) {
  MarginScheduleConfig c;
  c.lambda_0 = 0.5;
  EXPECT_DOUBLE_EQ(MarginLambda(c, 100, 0, kN), 0.5);
  c.enabled = false;
  EXPECT_DOUBLE_EQ(MarginLambda(c, 0, 0, kN), 0.0);
}

TEST(MarginScheduler, RejectsMalformedStart) {
  MarginScheduleConfig c;
  for (const char* bad : {"", "a", "1.", ".5", "1.2.3", "-1", "1e3"}) {
    c.increase_start_epoch = bad;
    EXPECT_THROW(c.Validate(), Error) << bad;
  }
  ReadConfig(YAML::Load("{increase_start_epoch: '0.20191', alpha: 5}"), c);
  EXPECT_EQ(c.increase_start_epoch, "0.20191");
}

}  // namespace
}  // namespace speakernet
