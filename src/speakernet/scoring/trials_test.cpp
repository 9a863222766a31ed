#include "speakernet/scoring/trials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string ErrorOf(const std::string& path) {
  try {
    ReadTrials(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Trials, ReadsVoxCelebKaldiAndUnlabelledFormats) {
  test::ScratchDir dir("sn_trials");
  WriteText(dir / "vox.txt",
            "1 id10270/x6uYqmx31kE/00001.wav id10270/8jEAjG6SegY/00008.wav\n"
            "0 id10270/x6uYqmx31kE/00001.wav id10300/ize_eiCFEg0/00003.wav\n");
  auto t = ReadTrials(dir / "vox.txt");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].enroll, "id10270/x6uYqmx31kE/00001.wav");
  EXPECT_EQ(t[0].test, "id10270/8jEAjG6SegY/00008.wav");
  EXPECT_EQ(t[0].target, 1);
  EXPECT_EQ(t[1].target, 0);

  WriteText(dir / "kaldi.txt",
            "id10270-x6uYqmx31kE-00001 id10270-8jEAjG6SegY-00008 target\n\n"
            "  id10270-x6uYqmx31kE-00001\tid10300-ize_eiCFEg0-00003   nontarget  \r\n");
  t = ReadTrials(dir / "kaldi.txt");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].enroll, "id10270-x6uYqmx31kE-00001");
  EXPECT_EQ(t[0].target, 1);
  EXPECT_EQ(t[1].test, "id10300-ize_eiCFEg0-00003");
  EXPECT_EQ(t[1].target, 0);

  WriteText(dir / "plain.txt", "a b\nc d\n1 x target\n");
  t = ReadTrials(dir / "plain.txt");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].target, -1);
  EXPECT_EQ(t[1].enroll, "c");
  // A Kaldi label in the third column wins over a 0/1 first column.
  EXPECT_EQ(t[2].enroll, "1");
  EXPECT_EQ(t[2].target, 1);
  const TrialCounts c = CountTrials(t);
  EXPECT_EQ(c.target, 1u);
  EXPECT_EQ(c.nontarget, 0u);
  EXPECT_EQ(c.unknown, 2u);
}

TEST(Trials, ErrorsNameFileAndLine) {
  test::ScratchDir dir("sn_trials_err");
  WriteText(dir / "bad_label.txt", "a b target\n2 a b\n");
  EXPECT_THAT(ErrorOf(dir / "bad_label.txt"), HasSubstr((dir / "bad_label.txt") + ":2"));
  WriteText(dir / "one_col.txt", "a b\n\nlonely\n");
  EXPECT_THAT(ErrorOf(dir / "one_col.txt"), HasSubstr((dir / "one_col.txt") + ":3"));
  WriteText(dir / "four_col.txt", "1 a b c\n");
  EXPECT_THAT(ErrorOf(dir / "four_col.txt"), HasSubstr((dir / "four_col.txt") + ":1"));
  EXPECT_THAT(ErrorOf(dir / "missing.txt"), HasSubstr("missing.txt"));
}

TEST(Trials, LabelsOfALabelledListAndErrorsOfAnUnlabelledOne) {
  const std::vector<Trial> labelled = {{"a", "b", 1}, {"a", "c", 0}, {"b", "c", 0}};
  EXPECT_EQ(TrialLabels(labelled, "t.txt"), (std::vector<int>{1, 0, 0}));
  EXPECT_TRUE(CountTrials(labelled).FullyLabelled());
  EXPECT_FALSE(CountTrials({{"a", "b", 1}, {"a", "c", 1}}).FullyLabelled());  // no non-target
  EXPECT_FALSE(CountTrials({{"a", "b", 1}, {"a", "c", 0}, {"b", "c", -1}}).FullyLabelled());
  const std::vector<Trial> partly = {{"a", "b", 1}, {"a", "c", -1}};
  try {
    TrialLabels(partly, "t.txt");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("t.txt: trial #2 ('a' 'c') has no target/nontarget label"));
  }
  EXPECT_THROW(TrialLabels({}, "empty.txt"), Error);
}

}  // namespace
}  // namespace speakernet
