#include "speakernet/data/data_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A ramp whose samples are k/32768, so reads can be compared exactly.
std::vector<float> Ramp(int n, int start = 0) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = float((start + i) % 30000 - 15000) / 32768.0f;
  return x;
}

class DataDirTest : public ::testing::Test {
 protected:
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::string Wav(const std::string& name, int samples, int start = 0) {
    WriteWav(dir_ / name, Ramp(samples, start), 16000);
    return dir_ / name;
  }
  // Three utterances, two speakers, wav.scp deliberately not in speaker order.
  void WriteBasic() {
    Write("wav.scp", "b1 " + Wav("b1.wav", 16000) + "\na1 " + Wav("a1.wav", 8000) + "\nb2 " +
                         Wav("b2.wav", 24000) + "\n");
    Write("utt2spk", "b1 spkB\na1 spkA\nb2 spkB\n");
  }
  std::string LoadError() {
    try {
      DataDir::Load(dir_.str());
    } catch (const Error& e) {
      return e.what();
    }
    return "<no error>";
  }
  std::string At(const std::string& file, int line) {
    return dir_ / file + ":" + std::to_string(line);
  }

  test::ScratchDir dir_{"data_dir_test"};
};

TEST_F(DataDirTest, LoadsUtterancesAndSortedSpeakers) {
  WriteBasic();
  DataDir d = DataDir::Load(dir_.str());
  EXPECT_EQ(d.dir(), dir_.str());
  ASSERT_EQ(d.NumUtterances(), 3);
  EXPECT_EQ(d.utterances()[0].id, "b1");
  EXPECT_EQ(d.utterances()[1].id, "a1");
  EXPECT_EQ(d.utterances()[1].wav, dir_ / "a1.wav");
  EXPECT_EQ(d.utterances()[1].recording, "a1");
  EXPECT_FALSE(d.utterances()[1].IsSegment());
  EXPECT_THAT(d.speakers(), ElementsAre("spkA", "spkB"));
  EXPECT_EQ(d.SpeakerIndex("spkA"), 0);
  EXPECT_EQ(d.SpeakerIndex("spkB"), 1);
  EXPECT_THROW(d.SpeakerIndex("nobody"), Error);
  EXPECT_EQ(d.Find("b2").speaker, "spkB");
  EXPECT_THROW(d.Find("zz"), Error);
  EXPECT_TRUE(d.HasSpeakerLabels());
  const auto s2u = d.Spk2Utt();
  EXPECT_THAT(s2u.at("spkB"), ElementsAre("b1", "b2"));
  EXPECT_THAT(s2u.at("spkA"), ElementsAre("a1"));
}

TEST_F(DataDirTest, EnsureDurationsProbesFilesAndPipes) {
  WriteBasic();
  Write("wav.scp", "b1 " + dir_ / "b1.wav" + "\na1 cat " + dir_ / "a1.wav" + " |\nb2 " +
                       dir_ / "b2.wav" + "\n");
  DataDir d = DataDir::Load(dir_.str());
  EXPECT_EQ(d.Find("a1").wav, "cat " + dir_ / "a1.wav" + " |");
  EXPECT_EQ(d.Find("a1").duration, -1);
  EXPECT_THROW(UtteranceSamples(d.Find("a1"), 16000), Error);
  d.EnsureDurations();
  EXPECT_DOUBLE_EQ(d.Find("b1").duration, 1.0);
  EXPECT_DOUBLE_EQ(d.Find("a1").duration, 0.5);
  EXPECT_DOUBLE_EQ(d.Find("b2").duration, 1.5);
  EXPECT_EQ(UtteranceSamples(d.Find("b2"), 16000), 24000);
  EXPECT_EQ(LoadUtteranceAudio(d.Find("a1"), 16000), Ramp(8000));
}

TEST_F(DataDirTest, Utt2DurIsReadNotProbed) {
  WriteBasic();
  Write("utt2dur", "a1 0.25\nb1 1.0\nb2 1.5\n");
  DataDir d = DataDir::Load(dir_.str());
  EXPECT_DOUBLE_EQ(d.Find("a1").duration, 0.25);  // not the real 0.5: the table wins
  d.EnsureDurations();
  EXPECT_DOUBLE_EQ(d.Find("a1").duration, 0.25);
}

TEST_F(DataDirTest, WithoutUtt2SpkEachUtteranceIsItsOwnSpeaker) {
  WriteBasic();
  std::filesystem::remove(dir_ / "utt2spk");
  DataDir d = DataDir::Load(dir_.str());
  EXPECT_FALSE(d.HasSpeakerLabels());
  EXPECT_THAT(d.speakers(), ElementsAre("a1", "b1", "b2"));
  EXPECT_EQ(d.Find("b2").speaker, "b2");
}

TEST_F(DataDirTest, Spk2UttAloneGivesTheSpeakers) {
  WriteBasic();
  std::filesystem::remove(dir_ / "utt2spk");
  Write("spk2utt", "spkA a1\nspkB b1 b2\n");
  DataDir d = DataDir::Load(dir_.str());
  EXPECT_TRUE(d.HasSpeakerLabels());
  EXPECT_EQ(d.Find("b1").speaker, "spkB");
}

TEST_F(DataDirTest, AgreeingSpk2UttIsAccepted) {
  WriteBasic();
  Write("spk2utt", "spkA a1\nspkB b2 b1\n");
  EXPECT_EQ(DataDir::Load(dir_.str()).speakers().size(), 2u);
}

TEST_F(DataDirTest, SegmentsAreSlicesOfRecordings) {
  Write("wav.scp",
        "rec1 " + Wav("rec1.wav", 48000) + "\nrec2 " + Wav("rec2.wav", 16000, 777) + "\n");
  Write("segments", "s1 rec1 0.5 1.25\ns2 rec2 0 1.0\ns3 rec1 2.0 3.0\n");
  Write("utt2spk", "s1 x\ns2 y\ns3 x\n");
  DataDir d = DataDir::Load(dir_.str());
  ASSERT_EQ(d.NumUtterances(), 3);
  const Utterance& s1 = d.Find("s1");
  EXPECT_TRUE(s1.IsSegment());
  EXPECT_EQ(s1.recording, "rec1");
  EXPECT_EQ(s1.wav, dir_ / "rec1.wav");
  EXPECT_DOUBLE_EQ(s1.duration, 0.75);
  EXPECT_EQ(UtteranceSamples(s1, 16000), 12000);
  const auto rec = Ramp(48000);
  EXPECT_EQ(LoadUtteranceAudio(s1, 16000),
            std::vector<float>(rec.begin() + 8000, rec.begin() + 20000));
  EXPECT_EQ(LoadUtteranceAudio(s1, 16000, 100, 50),
            std::vector<float>(rec.begin() + 8100, rec.begin() + 8150));
  EXPECT_EQ(LoadUtteranceAudio(d.Find("s2"), 16000), Ramp(16000, 777));
  EXPECT_EQ(LoadUtteranceAudio(d.Find("s3"), 16000).size(), 16000u);
  // Reading past the segment end is refused even though the recording is longer.
  try {
    LoadUtteranceAudio(s1, 16000, 11990, 20);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("s1"));
  }
}

TEST_F(DataDirTest, LoadUtteranceAudioErrorsNameTheUtterance) {
  WriteBasic();
  DataDir d = DataDir::Load(dir_.str());
  std::filesystem::remove(dir_ / "a1.wav");
  try {
    LoadUtteranceAudio(d.Find("a1"), 16000);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("utterance a1"));
    EXPECT_THAT(e.what(), HasSubstr(dir_ / "a1.wav"));
  }
}

// ---- Validation errors: every message names file:line. -------------------------------------

TEST_F(DataDirTest, MissingWavScp) {
  Write("utt2spk", "a x\n");
  EXPECT_THAT(LoadError(), HasSubstr(dir_ / "wav.scp"));
}

TEST_F(DataDirTest, DuplicateWavScpId) {
  WriteBasic();
  Write("wav.scp",
        "a1 " + dir_ / "a1.wav" + "\nb1 " + dir_ / "b1.wav" + "\na1 " + dir_ / "b2.wav" + "\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("wav.scp", 3) + ": duplicate id 'a1' (first on line 1)"));
}

TEST_F(DataDirTest, MalformedWavScpLines) {
  WriteBasic();
  Write("wav.scp", "a1 " + dir_ / "a1.wav" + "\nb1\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("wav.scp", 2)));
  Write("wav.scp", "a1 " + dir_ / "a1.wav" + " 0 100\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("wav.scp", 1)));
}

TEST_F(DataDirTest, MissingAudioFile) {
  WriteBasic();
  Write("wav.scp",
        "b1 " + dir_ / "b1.wav" + "\na1 " + dir_ / "nope.wav" + "\nb2 " + dir_ / "b2.wav" + "\n");
  const auto err = LoadError();
  EXPECT_THAT(err, HasSubstr(At("wav.scp", 2)));
  EXPECT_THAT(err, HasSubstr(dir_ / "nope.wav"));
}

TEST_F(DataDirTest, Utt2SpkUnknownUtterance) {
  WriteBasic();
  Write("utt2spk", "b1 spkB\na1 spkA\nzz spkA\nb2 spkB\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2spk", 3) + ": utterance 'zz'"));
}

TEST_F(DataDirTest, UtteranceMissingFromUtt2Spk) {
  WriteBasic();
  Write("utt2spk", "b1 spkB\nb2 spkB\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("wav.scp", 2) + ": utterance 'a1' has no entry"));
}

TEST_F(DataDirTest, DuplicateAndMalformedUtt2Spk) {
  WriteBasic();
  Write("utt2spk", "b1 spkB\nb1 spkA\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2spk", 2)));
  Write("utt2spk", "b1 spkB extra\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2spk", 1)));
}

TEST_F(DataDirTest, Spk2UttDisagreesWithUtt2Spk) {
  WriteBasic();
  Write("spk2utt", "spkA a1 b2\nspkB b1\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("spk2utt", 1) + ": utterance 'b2' is listed under"));
  Write("spk2utt", "spkA a1\nspkB b1\n");  // b2 left out
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2spk", 3) + ": utterance 'b2'"));
  Write("spk2utt", "spkA a1\nspkB b1 b2 b1\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("spk2utt", 2) + ": utterance 'b1' is already listed"));
}

TEST_F(DataDirTest, SegmentErrors) {
  Write("wav.scp", "rec1 " + Wav("rec1.wav", 16000) + "\n");
  Write("segments", "s1 rec1 0 0.5\ns2 rec9 0 0.5\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("segments", 2) + ": unknown recording 'rec9'"));
  Write("segments", "s1 rec1 0.5 0.5\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("segments", 1)));
  Write("segments", "s1 rec1 0.7 0.5\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("segments", 1)));
  Write("segments", "s1 rec1 0 0.5\ns2 rec1 zero 0.5\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("segments", 2) + ": bad start time 'zero'"));
  Write("segments", "s1 rec1 0 0.5\ns1 rec1 0 0.5\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("segments", 2) + ": duplicate id 's1'"));
  Write("segments", "s1 rec1 0\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("segments", 1)));
  // utt2spk refers to segment ids, not recordings.
  Write("segments", "s1 rec1 0 0.5\n");
  Write("utt2spk", "rec1 x\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2spk", 1) + ": utterance 'rec1' is not in segments"));
}

TEST_F(DataDirTest, Utt2DurErrors) {
  WriteBasic();
  Write("utt2dur", "a1 0.5\nzz 1.0\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2dur", 2) + ": utterance 'zz'"));
  Write("utt2dur", "a1 long\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2dur", 1) + ": bad duration 'long'"));
  Write("utt2dur", "a1 -1\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2dur", 1)));
}

TEST_F(DataDirTest, EnsureDurationsErrorNamesUtterance) {
  WriteBasic();
  Write("wav.scp", "b1 " + dir_ / "b1.wav" + "\na1 false |\nb2 " + dir_ / "b2.wav" + "\n");
  DataDir d = DataDir::Load(dir_.str());
  try {
    d.EnsureDurations();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("utterance a1"));
  }
}

}  // namespace
}  // namespace speakernet
