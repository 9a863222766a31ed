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

// Regression (fuzz/data_dir_fuzzer): a path too long to exist threw
// std::filesystem::filesystem_error (ENAMETOOLONG) instead of the missing-file Error.
TEST_F(DataDirTest, PathTooLongToExistIsAMissingFileError) {
  const std::string name(300, 'x');
  for (const std::string& spec : {name, name + " 0 10", "sox " + name + " -t wav - |"}) {
    Write("wav.scp", "u1 " + spec + "\n");
    EXPECT_THAT(LoadError(), HasSubstr("does not exist")) << spec;
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
  // Two or four fields after the id are neither `path` nor `path start end`.
  Write("wav.scp", "a1 " + dir_ / "a1.wav" + " 100\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("wav.scp", 1) + ": recording 'a1': expected `id path`"));
  Write("wav.scp", "a1 " + dir_ / "a1.wav" + " 0 100 200\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("wav.scp", 1) + ": recording 'a1': expected `id path`"));
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

TEST_F(DataDirTest, Utt2LangGivesEveryUtteranceItsLanguage) {
  WriteBasic();
  DataDir without = DataDir::Load(dir_.str());
  EXPECT_FALSE(without.HasLanguages());
  EXPECT_EQ(without.Find("a1").language, "");
  Write("utt2lang", "a1 en\nb2 de\nb1 en\n");
  DataDir d = DataDir::Load(dir_.str());
  EXPECT_TRUE(d.HasLanguages());
  EXPECT_EQ(d.Find("a1").language, "en");
  EXPECT_EQ(d.Find("b1").language, "en");
  EXPECT_EQ(d.Find("b2").language, "de");
}

TEST_F(DataDirTest, Utt2LangErrorsNameFileAndLine) {
  WriteBasic();
  Write("utt2lang", "a1 en\nzz de\nb1 en\nb2 en\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2lang", 2) + ": utterance 'zz' is not in wav.scp"));
  Write("utt2lang", "a1 en\nb2 de\nb1 en\na1 fr\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2lang", 4) + ": duplicate id 'a1' (first on line 1)"));
  Write("utt2lang", "b1 en\nb2 de\n");  // a1 (wav.scp line 2) missing
  EXPECT_THAT(LoadError(), HasSubstr(At("wav.scp", 2) + ": utterance 'a1' has no entry in " +
                                     dir_ / "utt2lang"));
  Write("utt2lang", "a1 en\nb1\nb2 de\n");  // no language
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2lang", 2)));
  Write("utt2lang", "a1 en\nb1 en us\nb2 de\n");  // two words
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2lang", 2)));
}

// ---- speaker-net's `path start end` and `sox f1 f2 ... -t wav - |` wav.scp forms ----------

TEST_F(DataDirTest, SampleRangeIsThatSliceOfTheFile) {
  const std::string rec = Wav("rec.wav", 48000);  // sample i is Ramp's value for i
  Write("wav.scp", "r1 " + rec + " 1000 17000\nr2 " + rec + " 0 48000\nr3 " + rec +
                       " 47999 48000\nwhole " + rec + "\n");
  DataDir d = DataDir::Load(dir_.str());
  const Utterance& r1 = d.Find("r1");
  EXPECT_EQ(r1.wav, rec + " 1000 17000");
  EXPECT_FALSE(r1.IsSegment());
  EXPECT_DOUBLE_EQ(r1.duration, 1.0);  // from the header read at load, no probing needed
  EXPECT_DOUBLE_EQ(d.Find("r3").duration, 1.0 / 16000);
  EXPECT_EQ(d.Find("whole").duration, -1);
  EXPECT_EQ(UtteranceSamples(r1, 16000), 16000);
  EXPECT_EQ(UtteranceSamples(d.Find("r2"), 16000), 48000);
  // Bit-exact against the values written (Ramp(n, start) is samples [start, start + n)).
  EXPECT_EQ(LoadUtteranceAudio(r1, 16000), Ramp(16000, 1000));
  EXPECT_EQ(LoadUtteranceAudio(r1, 16000, 500, 100), Ramp(100, 1500));
  EXPECT_EQ(LoadUtteranceAudio(d.Find("r2"), 16000), Ramp(48000));
  EXPECT_EQ(LoadUtteranceAudio(d.Find("r3"), 16000), Ramp(1, 47999));
  // Reads stay inside the range: its end is the utterance's end, not the file's.
  EXPECT_THAT(test::ErrorOf([&] { LoadUtteranceAudio(r1, 16000, 15990, 20); }),
              HasSubstr("utterance r1"));
  d.EnsureDurations();
  EXPECT_DOUBLE_EQ(d.Find("whole").duration, 3.0);
  EXPECT_DOUBLE_EQ(r1.duration, 1.0);
}

TEST_F(DataDirTest, SampleRangeCountsTheFilesOwnRateAndResamplesLikeAPreCutFile) {
  // An 8 kHz file read at 16 kHz: [4000, 12000) are 8 kHz samples (1 s), and the utterance is
  // the same as a file holding only those samples, resampled.
  WriteWav(dir_ / "r8k.wav", Ramp(16000), 8000);
  WriteWav(dir_ / "cut8k.wav", Ramp(8000, 4000), 8000);
  Write("wav.scp", "r " + dir_ / "r8k.wav" + " 4000 12000\n");
  DataDir d = DataDir::Load(dir_.str());
  EXPECT_DOUBLE_EQ(d.Find("r").duration, 1.0);
  EXPECT_EQ(UtteranceSamples(d.Find("r"), 16000), 16000);
  const auto got = LoadUtteranceAudio(d.Find("r"), 16000);
  EXPECT_EQ(got.size(), 16000u);
  EXPECT_EQ(got, ReadAudio(dir_ / "cut8k.wav", 16000));
  EXPECT_EQ(LoadUtteranceAudio(d.Find("r"), 8000), Ramp(8000, 4000));
}

TEST_F(DataDirTest, SampleRangeErrorsNameTheLineAndTheProblem) {
  const std::string rec = Wav("rec.wav", 1000);
  const std::string ok = "ok " + rec + " 0 10\n";
  auto error_for = [&](const std::string& range) {
    Write("wav.scp", ok + "bad " + rec + " " + range + "\n");
    return LoadError();
  };
  const std::string line2 = At("wav.scp", 2) + ": recording 'bad': ";
  EXPECT_THAT(error_for("1.5 20"), HasSubstr(line2));
  EXPECT_THAT(error_for("1.5 20"), HasSubstr("start '1.5' is not an integer sample index"));
  EXPECT_THAT(error_for("0 2s"), HasSubstr("end '2s' is not an integer sample index"));
  EXPECT_THAT(error_for("-3 20"), HasSubstr("start sample index -3 is negative"));
  EXPECT_THAT(error_for("20 10"), HasSubstr("end sample 10 is not after start sample 20"));
  EXPECT_THAT(error_for("10 10"), HasSubstr("end sample 10 is not after start sample 10"));
  EXPECT_THAT(error_for("0 1001"), HasSubstr(line2));
  EXPECT_THAT(error_for("0 1001"),
              HasSubstr("sample range [0, 1001) ends beyond the end of " + rec + " (1000 samples"));
  Write("wav.scp", "bad " + dir_ / "gone.wav" + " 0 10\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("wav.scp", 1) + ": recording 'bad': audio file '" +
                                     dir_ / "gone.wav" + "' does not exist"));
  // The whole range [0, length) is fine.
  Write("wav.scp", ok + "bad " + rec + " 0 1000\n");
  EXPECT_EQ(DataDir::Load(dir_.str()).NumUtterances(), 2);
}

TEST_F(DataDirTest, SampleRangeKeepsItsExactLengthOverUtt2Dur) {
  const std::string rec = Wav("rec.wav", 48000);
  Write("wav.scp", "r1 " + rec + " 1000 17000\nwhole " + rec + "\n");
  Write("utt2dur", "r1 1.004\nwhole 3.0\n");  // rounded, as utt2dur files often are
  DataDir d = DataDir::Load(dir_.str());
  EXPECT_DOUBLE_EQ(d.Find("r1").duration, 1.0);
  EXPECT_EQ(UtteranceSamples(d.Find("r1"), 16000), 16000);
  Write("utt2dur", "whole 3.0\nr1 1.5\n");  // stale: the range is 1 s
  EXPECT_THAT(LoadError(), HasSubstr(At("utt2dur", 2) + ": duration 1.5 of 'r1' disagrees with "
                                                         "its sample range"));
}

TEST_F(DataDirTest, SegmentsOfASampleRangeAreAnError) {
  Write("wav.scp", "rec1 " + Wav("rec1.wav", 48000) + "\nrec2 " + dir_ / "rec1.wav" +
                       " 100 20000\n");
  Write("segments", "s1 rec1 0.5 1.25\ns2 rec2 0 1.0\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("segments", 2) + ": recording 'rec2' is a sample range"));
  EXPECT_THAT(LoadError(), HasSubstr(At("wav.scp", 2)));
  Write("segments", "s1 rec1 0.5 1.25\n");  // segments of plain recordings only: fine
  EXPECT_EQ(DataDir::Load(dir_.str()).NumUtterances(), 1);
}

TEST_F(DataDirTest, SoxMultiFileEntryIsTheFilesConcatenated) {
  const std::string a = Wav("a.wav", 8000), b = Wav("b.wav", 12000, 5000), c = Wav("c.wav", 3);
  Write("wav.scp", "u sox " + a + " " + b + " " + c + " -t wav - |\nsingle sox " + b +
                       " -t wav - |\n");
  DataDir d = DataDir::Load(dir_.str());
  const Utterance& u = d.Find("u");
  EXPECT_EQ(u.wav, "sox " + a + " " + b + " " + c + " -t wav - |");
  std::vector<float> expected = Ramp(8000);
  for (const auto& part : {Ramp(12000, 5000), Ramp(3)}) {
    expected.insert(expected.end(), part.begin(), part.end());
  }
  d.EnsureDurations();  // the training loader's path to the length of a pipe entry
  EXPECT_DOUBLE_EQ(u.duration, 20003.0 / 16000);
  EXPECT_EQ(UtteranceSamples(u, 16000), 20003);
  EXPECT_EQ(LoadUtteranceAudio(u, 16000), expected);
  // A chunk across the a|b and b|c boundaries.
  EXPECT_EQ(LoadUtteranceAudio(u, 16000, 7990, 12012),
            std::vector<float>(expected.begin() + 7990, expected.end() - 1));
  EXPECT_EQ(LoadUtteranceAudio(d.Find("single"), 16000), Ramp(12000, 5000));
}

TEST_F(DataDirTest, SoxMultiFileErrors) {
  const std::string a = Wav("a.wav", 800);
  Write("wav.scp", "ok " + a + "\nu sox " + a + " " + dir_ / "gone.wav" + " -t wav - |\n");
  EXPECT_THAT(LoadError(), HasSubstr(At("wav.scp", 2) + ": recording 'u': audio file '" +
                                     dir_ / "gone.wav" + "' (in its sox file list) does not exist"));
  // Files at different rates cannot be concatenated (sox refuses too).
  WriteWav(dir_ / "a8k.wav", Ramp(400), 8000);
  Write("wav.scp", "u sox " + a + " " + dir_ / "a8k.wav" + " -t wav - |\n");
  DataDir d = DataDir::Load(dir_.str());
  const std::string err = test::ErrorOf([&] { d.EnsureDurations(); });
  EXPECT_THAT(err, HasSubstr("utterance u"));
  EXPECT_THAT(err, HasSubstr("must share rate and channel count"));
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
