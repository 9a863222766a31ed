// WaveAugmenter: the chain draws its corruptions with speaker-net's effective probabilities
// (spec §1.4 table: clean 24.4 %, noise 24.4 %, babble 12.2 %, reverb 19.5 %, reverb+noise
// 19.5 %; speed 1/3 each), pools are walked without replacement, and PadOrTruncate follows
// speaker-net's _pad_or_truncate.
#include "speakernet/data/wave_augmenter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

class WaveAugmenterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(9);
    std::normal_distribution<float> g(0.f, 0.1f);
    for (const char* sub : {"noise", "speech", "rir", "point"}) {
      std::filesystem::create_directories(dir_ / sub);
      for (int i = 0; i < 5; ++i) {
        std::vector<float> x(std::string(sub) == "rir" ? 50 : 700);
        for (auto& v : x) v = g(rng);
        x[0] = 0.9f;
        WriteWav(dir_ / (std::string(sub) + "/" + std::to_string(i) + ".wav"), x, 1000);
      }
    }
  }
  AugmentConfig Chain() {
    AugmentConfig c;
    c.mode = "chain";
    c.noise_sets = {dir_ / "noise"};
    c.babble_sets = {dir_ / "speech"};
    c.reverb_sets = {dir_ / "rir"};
    c.real_reverb_sets = {dir_ / "rir"};
    c.point_noise_sets = {dir_ / "point"};
    c.preload = true;
    return c;
  }
  test::ScratchDir dir_{"wave_augmenter_test"};
};

TEST_F(WaveAugmenterTest, ChainDrawsTheSpecProbabilities) {
  const WaveAugmenter aug(Chain(), 1000);
  const auto pools = aug.ForEpoch(1, 0);
  std::map<int, int> kinds;
  std::map<double, int> speeds;
  const int n = 6000;
  std::mt19937_64 rng(5);
  for (int i = 0; i < n; ++i) {
    std::vector<float> x(300, 0.1f);
    const AugmentDraw d = aug.Apply(x, pools, i, rng);
    ++kinds[d.kind];
    ++speeds[d.speed];
    EXPECT_EQ(d.label_offset, d.speed == 1.0 ? 0 : d.speed < 1.0 ? 1 : 2);
    // Speed changes the length to round(300 / s) (sox), corruption keeps it.
    EXPECT_EQ(x.size(), size_t(std::llround(300 / d.speed)));
  }
  // Spec §1.4: weights [1, 1, 0.5, 0.8, 0.8] / 4.1.
  const double expected[5] = {0.244, 0.244, 0.122, 0.195, 0.195};
  for (int k = 0; k < 5; ++k) {
    EXPECT_NEAR(kinds[k] / double(n), expected[k], 0.025) << "kind " << k;
  }
  for (double s : {0.9, 1.0, 1.1}) EXPECT_NEAR(speeds[s] / double(n), 1.0 / 3, 0.025) << s;
}

TEST_F(WaveAugmenterTest, PoolsAreEpochPermutations) {
  const WaveAugmenter aug(Chain(), 1000);
  const auto a = aug.ForEpoch(1, 0), again = aug.ForEpoch(1, 0), b = aug.ForEpoch(1, 1);
  ASSERT_EQ(a.perms.size(), 5u);
  bool any_differs = false;
  for (size_t p = 0; p < a.perms.size(); ++p) {
    std::vector<int64_t> sorted = a.perms[p];
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int64_t>{0, 1, 2, 3, 4}));  // every entry once per cycle
    EXPECT_EQ(a.perms[p], again.perms[p]);
    any_differs |= a.perms[p] != b.perms[p];
  }
  EXPECT_TRUE(any_differs);
}

TEST_F(WaveAugmenterTest, OnlyTheCleanEntryLeavesTheSignalUntouched) {
  AugmentConfig c = Chain();
  c.mode = "random";
  c.clean_weight = 1;
  c.noise_weight = c.babble_weight = c.reverb_weight = c.reverb_noise_weight = 0;
  const WaveAugmenter clean(c, 1000);
  std::mt19937_64 rng(1);
  std::vector<float> x(300);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(0.1 * i));
  const std::vector<float> orig = x;
  EXPECT_EQ(clean.Apply(x, clean.ForEpoch(1, 0), 0, rng).kind, 0);
  EXPECT_EQ(x, orig);
  c.clean_weight = 0;
  c.noise_weight = 1;
  const WaveAugmenter noisy(c, 1000);
  EXPECT_EQ(noisy.Apply(x, noisy.ForEpoch(1, 0), 0, rng).kind, 1);
  EXPECT_NE(x, orig);
}

// speaker-net _pad_or_truncate: longer -> a contiguous crop; shorter -> k whole copies and a
// contiguous piece of length r = length % n starting at p in [0, n - r].
TEST(PadOrTruncate, CropsOrWrapsLikeSpeakerNet) {
  std::vector<float> x(7);
  for (int i = 0; i < 7; ++i) x[i] = float(i);
  std::mt19937_64 rng(3);
  std::set<float> starts;
  for (int t = 0; t < 200; ++t) {
    const auto y = PadOrTruncate(x, 4, rng);
    ASSERT_EQ(y.size(), 4u);
    for (int i = 1; i < 4; ++i) ASSERT_EQ(y[i], y[0] + float(i));
    starts.insert(y[0]);
  }
  EXPECT_EQ(starts, (std::set<float>{0, 1, 2, 3}));  // every start in [0, 7 - 4]
  std::set<float> pieces;
  for (int t = 0; t < 200; ++t) {
    const auto y = PadOrTruncate(x, 17, rng);  // k = 2, r = 3
    ASSERT_EQ(y.size(), 17u);
    for (int i = 0; i < 14; ++i) ASSERT_EQ(y[i], float(i % 7));
    for (int i = 1; i < 3; ++i) ASSERT_EQ(y[14 + i], y[14] + float(i));
    pieces.insert(y[14]);
  }
  EXPECT_EQ(pieces, (std::set<float>{0, 1, 2, 3, 4}));  // p in [0, 7 - 3]
  EXPECT_EQ(PadOrTruncate(x, 7, rng), x);
}

}  // namespace
}  // namespace speakernet
