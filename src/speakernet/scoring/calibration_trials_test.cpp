#include "speakernet/scoring/calibration_trials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;

TEST(CalibrationTrials, ConditionsCountsClassesAndSpeakers) {
  std::vector<std::pair<std::string, std::string>> utt2spk;
  Durations dur;
  std::map<std::string, std::string> spk_of;
  // 30 speakers x 6 utterances of 1, 3, 4, 5, 7, 9 s (1 s is neither short nor long).
  const double lengths[] = {1, 3, 4, 5, 7, 9};
  for (int s = 0; s < 30; ++s) {
    for (int u = 0; u < 6; ++u) {
      const std::string id = "s" + std::to_string(s) + "-u" + std::to_string(u);
      utt2spk.push_back({id, "s" + std::to_string(s)});
      dur[id] = lengths[u];
      spk_of[id] = "s" + std::to_string(s);
    }
  }
  CalibrationTrialsOptions opt;
  opt.per_condition = 20;
  const std::vector<Trial> trials = MakeCalibrationTrials(utt2spk, dur, opt);
  ASSERT_EQ(trials.size(), 3u * 2 * 20);
  std::set<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i < trials.size(); ++i) {
    const Trial& t = trials[i];
    const int cond = static_cast<int>(i / 40);
    const bool target = (i % 40) < 20;
    EXPECT_EQ(t.target, target ? 1 : 0);
    EXPECT_EQ(spk_of[t.enroll] == spk_of[t.test], target) << i;
    EXPECT_NE(t.enroll, t.test);
    const double de = dur[t.enroll], dt = dur[t.test];
    EXPECT_GE(de, 2.0);
    EXPECT_GE(dt, 2.0);
    EXPECT_EQ(de >= 6, cond == 2) << i;
    EXPECT_EQ(dt >= 6, cond >= 1) << i;
    EXPECT_TRUE(pairs.insert({t.enroll, t.test}).second) << "repeated pair " << i;
  }
  // Targets of one condition come from distinct speakers.
  for (int c = 0; c < 3; ++c) {
    std::set<std::string> spk;
    for (int i = 0; i < 20; ++i) spk.insert(spk_of[trials[c * 40 + i].enroll]);
    EXPECT_EQ(spk.size(), 20u);
  }
  // Reproducible with the seed, different with another.
  const std::vector<Trial> again = MakeCalibrationTrials(utt2spk, dur, opt);
  EXPECT_EQ(again[5].enroll, trials[5].enroll);
  EXPECT_EQ(again[50].test, trials[50].test);
  opt.seed = 7;
  const std::vector<Trial> other = MakeCalibrationTrials(utt2spk, dur, opt);
  int same = 0;
  for (size_t i = 0; i < trials.size(); ++i) same += other[i].enroll == trials[i].enroll;
  EXPECT_LT(same, 20);
  // At most one target per speaker: 30 speakers cap the targets.
  opt.per_condition = 100;
  const std::vector<Trial> many = MakeCalibrationTrials(utt2spk, dur, opt);
  int targets = 0;
  for (const Trial& t : many) targets += t.target;
  EXPECT_EQ(targets, 3 * 30);
}

TEST(CalibrationTrials, MissingDurationIsAnError) {
  EXPECT_THAT(test::ErrorOf([] { MakeCalibrationTrials({{"a", "s"}}, {}); }),
              HasSubstr("no duration for utterance 'a'"));
}

}  // namespace
}  // namespace speakernet
