#include "speakernet/audio/audio_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;

constexpr double kPi = 3.14159265358979323846;

void Shell(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

// A deterministic int16 pattern that covers both extremes and a spread of values.
std::vector<int16_t> Int16Pattern(int n, int seed) {
  std::vector<int16_t> x(n);
  uint32_t state = 2463534242u + seed;
  for (int i = 0; i < n; ++i) {
    state ^= state << 13, state ^= state >> 17, state ^= state << 5;
    x[i] = static_cast<int16_t>(state & 0xffff);
  }
  x[0] = -32768;
  x[1] = 32767;
  x[2] = 0;
  return x;
}

// Expected decoding of an int16 pattern: x / 32768, computed here independently.
std::vector<float> Scaled(const std::vector<int16_t>& x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(x[i] / 32768.0);
  return y;
}

void WriteRaw(const std::string& path, const std::vector<int16_t>& x) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(int16_t));
}

// Converts raw little-endian int16 (interleaved) to any container sox writes.
void SoxFromRaw(const std::string& raw, int rate, int channels, const std::string& out) {
  Shell("sox -t raw -r " + std::to_string(rate) + " -e signed -b 16 -c " +
        std::to_string(channels) + " -L '" + raw + "' '" + out + "'");
}

// Frequency (1 Hz grid in [lo, hi]) with the largest DFT magnitude over x[from, to).
int PeakFrequency(const std::vector<float>& x, int rate, int lo, int hi, size_t from, size_t to) {
  int best = lo;
  double best_mag = -1;
  for (int f = lo; f <= hi; ++f) {
    double re = 0, im = 0;
    for (size_t i = from; i < to; ++i) {
      const double phase = 2 * kPi * f * double(i) / rate;
      re += x[i] * std::cos(phase);
      im += x[i] * std::sin(phase);
    }
    if (re * re + im * im > best_mag) best_mag = re * re + im * im, best = f;
  }
  return best;
}

using test::ErrorOf;

TEST(AudioReader, SoxWavAndFlacDecodeToInt16Over32768) {
  test::ScratchDir dir("audio_sox_pcm");
  const auto pattern = Int16Pattern(5000, 1);
  WriteRaw(dir / "p.raw", pattern);
  for (const char* name : {"p.wav", "p.flac"}) {
    SoxFromRaw(dir / "p.raw", 16000, 1, dir / name);
    const AudioInfo info = ProbeAudio(dir / name);
    EXPECT_EQ(info.sample_rate, 16000);
    EXPECT_EQ(info.channels, 1);
    EXPECT_EQ(info.frames, 5000);
    EXPECT_EQ(ReadAudio(dir / name), Scaled(pattern)) << name;
  }
}

TEST(AudioReader, WriteWavRoundTripsBitExactly) {
  test::ScratchDir dir("audio_write");
  const auto expected = Scaled(Int16Pattern(3000, 2));
  WriteWav(dir / "w.wav", expected, 16000);
  EXPECT_EQ(ReadAudio(dir / "w.wav"), expected);
  // sox reads back the same samples: the file is a plain 16-bit PCM wav.
  Shell("sox '" + dir / "w.wav" + "' -t raw -e signed -b 16 -L '" + dir / "w.raw" + "'");
  std::ifstream raw(dir / "w.raw", std::ios::binary);
  std::vector<int16_t> back(3000);
  raw.read(reinterpret_cast<char*>(back.data()), 6000);
  EXPECT_EQ(Scaled(back), expected);
}

TEST(AudioReader, WriteWavClipsOutOfRange) {
  test::ScratchDir dir("audio_clip");
  WriteWav(dir / "c.wav", {2.0f, -2.0f, 0.5f}, 8000);
  EXPECT_EQ(ReadAudio(dir / "c.wav", 8000), (std::vector<float>{32767 / 32768.0f, -1.0f, 0.5f}));
}

TEST(AudioReader, RangedReadEqualsSliceOfFullRead) {
  test::ScratchDir dir("audio_range");
  WriteRaw(dir / "p.raw", Int16Pattern(20000, 3));
  SoxFromRaw(dir / "p.raw", 16000, 1, dir / "p.wav");
  SoxFromRaw(dir / "p.raw", 16000, 1, dir / "p.flac");
  for (const char* name : {"p.wav", "p.flac"}) {
    const auto full = ReadAudio(dir / name);
    for (auto [off, num] :
         {std::pair<int64_t, int64_t>{0, 10}, {12345, 4000}, {19990, 10}, {7000, -1}, {20000, 0}}) {
      const auto part = ReadAudio(dir / name, 16000, off, num);
      const int64_t n = num < 0 ? 20000 - off : num;
      EXPECT_EQ(part, std::vector<float>(full.begin() + off, full.begin() + off + n))
          << name << " " << off << " " << num;
    }
  }
}

TEST(AudioReader, RangeBeyondEndIsAnErrorNamingTheFile) {
  test::ScratchDir dir("audio_range_err");
  WriteWav(dir / "s.wav", std::vector<float>(100, 0.1f), 16000);
  EXPECT_THAT(ErrorOf([&] { ReadAudio(dir / "s.wav", 16000, 50, 51); }), HasSubstr(dir / "s.wav"));
  EXPECT_THAT(ErrorOf([&] { ReadAudio(dir / "s.wav", 16000, 101); }), HasSubstr(dir / "s.wav"));
  EXPECT_THAT(ErrorOf([&] { ReadAudio(dir / "s.wav", 16000, -1, 5); }), HasSubstr(dir / "s.wav"));
}

TEST(AudioReader, PipeSpecEqualsFileRead) {
  test::ScratchDir dir("audio_pipe");
  WriteRaw(dir / "p.raw", Int16Pattern(9000, 4));
  SoxFromRaw(dir / "p.raw", 16000, 1, dir / "p.wav");
  const auto file = ReadAudio(dir / "p.wav");
  EXPECT_TRUE(IsPipeSpec("cat x.wav |"));
  EXPECT_TRUE(IsPipeSpec("cat x.wav|  "));
  EXPECT_FALSE(IsPipeSpec("x.wav"));
  const std::string cat = "cat " + dir / "p.wav" + " |";
  EXPECT_EQ(ReadAudio(cat), file);
  EXPECT_EQ(ProbeAudio(cat).frames, 9000);
  EXPECT_EQ(ReadAudio(cat, 16000, 100, 50),
            std::vector<float>(file.begin() + 100, file.begin() + 150));
  // sox writing to stdout, and a concatenation as in multi-file wav.scp entries.
  EXPECT_EQ(ReadAudio("sox " + dir / "p.wav" + " -t wav - |"), file);
  auto twice = file;
  twice.insert(twice.end(), file.begin(), file.end());
  EXPECT_EQ(ReadAudio("sox " + dir / "p.wav" + " " + dir / "p.wav" + " -t wav - |"), twice);
}

TEST(AudioReader, FailingPipeIsAnError) {
  EXPECT_THAT(ErrorOf([] { ReadAudio("false |"); }), HasSubstr("false |"));
  EXPECT_THAT(ErrorOf([] { ReadAudio("cat /nonexistent/x.wav |"); }),
              HasSubstr("/nonexistent/x.wav"));
  EXPECT_THAT(ErrorOf([] { ReadAudio("echo not audio |"); }), HasSubstr("echo not audio"));
}

TEST(AudioReader, MissingAndCorruptFilesNameThePath) {
  test::ScratchDir dir("audio_bad");
  EXPECT_THAT(ErrorOf([&] { ReadAudio(dir / "missing.wav"); }), HasSubstr(dir / "missing.wav"));
  EXPECT_THAT(ErrorOf([&] { ProbeAudio(dir / "missing.wav"); }), HasSubstr(dir / "missing.wav"));
  std::ofstream(dir / "garbage.wav") << "this is not a RIFF file at all, just some text";
  EXPECT_THAT(ErrorOf([&] { ReadAudio(dir / "garbage.wav"); }), HasSubstr(dir / "garbage.wav"));
  // A wav cut in the middle of its data: the header promises more samples than exist.
  WriteWav(dir / "full.wav", std::vector<float>(1000, 0.25f), 16000);
  std::ifstream in(dir / "full.wav", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(dir / "cut.wav", std::ios::binary) << bytes.substr(0, 44 + 600);
  const std::string cut = dir / "cut.wav";
  const std::string err = ErrorOf([&] { const auto x = ReadAudio(cut, 16000, 0, 1000); });
  EXPECT_THAT(err, HasSubstr(cut));
}

TEST(AudioReader, StereoUsesChannelZero) {
  test::ScratchDir dir("audio_stereo");
  const auto left = Int16Pattern(4000, 5), right = Int16Pattern(4000, 6);
  std::vector<int16_t> interleaved;
  for (size_t i = 0; i < left.size(); ++i)
    interleaved.push_back(left[i]), interleaved.push_back(right[i]);
  WriteRaw(dir / "s.raw", interleaved);
  SoxFromRaw(dir / "s.raw", 16000, 2, dir / "s.wav");
  EXPECT_EQ(ProbeAudio(dir / "s.wav").channels, 2);
  EXPECT_EQ(ReadAudio(dir / "s.wav"), Scaled(left));
  const auto expected = Scaled(left);
  EXPECT_EQ(ReadAudio(dir / "s.wav", 16000, 1234, 2000),
            std::vector<float>(expected.begin() + 1234, expected.begin() + 3234));
}

// sox synthesises the sine: an independent source of a known frequency.
class ResampleTest : public ::testing::TestWithParam<int> {};

TEST_P(ResampleTest, SineKeepsFrequencyAndLengthScales) {
  const int rate = GetParam();
  test::ScratchDir dir("audio_resample_" + std::to_string(rate));
  const std::string path = dir / "sine.wav";
  Shell("sox -n -r " + std::to_string(rate) + " -b 16 '" + path + "' synth 1 sine 440 vol 0.5");
  const int64_t before = ResampledFileCount();
  const auto y = ReadAudio(path, 16000);
  EXPECT_EQ(ResampledFileCount(), before + 1);
  EXPECT_NEAR(double(y.size()), 16000.0, 1.0);
  EXPECT_EQ(PeakFrequency(y, 16000, 300, 600, 2000, 14000), 440);
  // Amplitude survives (passband gain ~1): peak of the middle part close to 0.5.
  float peak = 0;
  for (size_t i = 2000; i < 14000; ++i) peak = std::max(peak, std::abs(y[i]));
  EXPECT_NEAR(peak, 0.5, 0.01);
  // Ranged reads of resampled files are slices of the full read; a second read of the same
  // file is not counted again.
  EXPECT_EQ(ReadAudio(path, 16000, 5000, 300),
            std::vector<float>(y.begin() + 5000, y.begin() + 5300));
  EXPECT_EQ(ResampledFileCount(), before + 1);
  EXPECT_EQ(AudioLength(ProbeAudio(path), 16000), static_cast<int64_t>(y.size()));
}

INSTANTIATE_TEST_SUITE_P(Rates, ResampleTest, ::testing::Values(8000, 44100, 22050));

TEST(Resample, LengthIsCeilOfRatio) {
  for (int n : {1, 7, 999, 16000, 44101}) {
    const std::vector<float> x(n, 0.1f);
    EXPECT_EQ(Resample(x, 44100, 16000).size(), size_t((int64_t(n) * 16000 + 44099) / 44100));
    EXPECT_EQ(Resample(x, 8000, 16000).size(), size_t(2 * n));
  }
  EXPECT_TRUE(Resample({}, 8000, 16000).empty());
  const std::vector<float> x{0.1f, 0.2f};
  EXPECT_EQ(Resample(x, 16000, 16000), x);
}

TEST(AudioReader, OggVorbisDecodes) {
  test::ScratchDir dir("audio_ogg");
  Shell("sox -n -r 16000 -b 16 '" + dir / "s.wav" + "' synth 1 sine 440 vol 0.5");
  if (std::system(("sox '" + dir / "s.wav" + "' '" + dir / "s.ogg" + "' 2>/dev/null").c_str()) !=
      0) {
    GTEST_SKIP() << "sox cannot write ogg here";
  }
  const auto y = ReadAudio(dir / "s.ogg");
  EXPECT_NEAR(double(y.size()), 16000.0, 1.0);
  EXPECT_EQ(PeakFrequency(y, 16000, 300, 600, 2000, 14000), 440);
}

// ---- speaker-net's wav.scp forms `path start end` and `sox f1 f2 ... -t wav - |` -----------

TEST(AudioSpec, ParsesTheFourForms) {
  using Kind = AudioSpec::Kind;
  EXPECT_EQ(ParseAudioSpec("/a/x.wav").kind, Kind::kFile);
  const AudioSpec range = ParseAudioSpec("/a/x.wav 16000 48000");
  EXPECT_EQ(range.kind, Kind::kRange);
  EXPECT_EQ(range.files, std::vector<std::string>{"/a/x.wav"});
  EXPECT_EQ(range.begin, 16000);
  EXPECT_EQ(range.end, 48000);
  const AudioSpec concat = ParseAudioSpec("sox /a/x.wav b-1.flac  /c/y.wav -t wav - |");
  EXPECT_EQ(concat.kind, Kind::kConcat);
  EXPECT_EQ(concat.files, (std::vector<std::string>{"/a/x.wav", "b-1.flac", "/c/y.wav"}));
  EXPECT_EQ(ParseAudioSpec("sox x.wav -t wav -|").kind, Kind::kConcat);
  // Anything else that sox (or the shell) would treat specially stays a pipe.
  for (const char* pipe : {"cat x.wav |", "sox -v 0.5 x.wav -t wav - |", "sox x.wav -t wav - vol 2 |",
                           "sox 'my file.wav' -t wav - |", "sox $HOME/x.wav -t wav - |",
                           "sox *.wav -t wav - |", "sox -t wav - |", "sox x.wav -t flac - |"}) {
    EXPECT_EQ(ParseAudioSpec(pipe).kind, Kind::kPipe) << pipe;
  }
  EXPECT_THAT(ErrorOf([] { ParseAudioSpec("x.wav 0.5 2"); }),
              HasSubstr("audio spec 'x.wav 0.5 2': start '0.5' is not an integer sample index"));
  EXPECT_THAT(ErrorOf([] { ParseAudioSpec("x.wav 0 -2"); }),
              HasSubstr("end sample index -2 is negative"));
  EXPECT_THAT(ErrorOf([] { ParseAudioSpec("x.wav 9 3"); }),
              HasSubstr("end sample 3 is not after start sample 9"));
}

TEST(AudioReader, SampleRangeSpecIsThatSliceReadWithASeek) {
  test::ScratchDir dir("audio_range_spec");
  WriteRaw(dir / "p.raw", Int16Pattern(20000, 8));
  SoxFromRaw(dir / "p.raw", 16000, 1, dir / "p.wav");
  SoxFromRaw(dir / "p.raw", 16000, 1, dir / "p.flac");
  const auto full = Scaled(Int16Pattern(20000, 8));
  for (const char* name : {"p.wav", "p.flac"}) {
    const std::string spec = dir / name + " 12345 19000";
    EXPECT_EQ(ProbeAudio(spec).frames, 6655) << name;
    EXPECT_EQ(ReadAudio(spec), std::vector<float>(full.begin() + 12345, full.begin() + 19000));
    EXPECT_EQ(ReadAudio(spec, 16000, 100, 50),
              std::vector<float>(full.begin() + 12445, full.begin() + 12495));
    EXPECT_THAT(ErrorOf([&] { ReadAudio(spec, 16000, 6600, 56); }), HasSubstr(spec));
    const std::string too_far = dir / name + " 0 20001";
    EXPECT_THAT(ErrorOf([&] { ProbeAudio(too_far); }),
                HasSubstr("ends beyond the end of " + dir / name + " (20000 samples at 16000 Hz)"));
  }
}

// RAII: PATH without sox (or anything), restored afterwards.
class NoPath {
 public:
  NoPath() : old_(std::getenv("PATH") ? std::getenv("PATH") : "") {
    ::setenv("PATH", "/nonexistent", 1);
  }
  ~NoPath() { ::setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

TEST(AudioReader, SoxConcatenationIsReadNativelyAndEqualsSoxOutput) {
  test::ScratchDir dir("audio_concat");
  const auto a = Int16Pattern(5000, 11), b = Int16Pattern(7000, 12), c = Int16Pattern(3, 13);
  WriteRaw(dir / "a.raw", a), WriteRaw(dir / "b.raw", b), WriteRaw(dir / "c.raw", c);
  SoxFromRaw(dir / "a.raw", 16000, 1, dir / "a.wav");
  SoxFromRaw(dir / "b.raw", 16000, 1, dir / "b.flac");
  SoxFromRaw(dir / "c.raw", 16000, 1, dir / "c.wav");
  std::vector<int16_t> abc = a;
  abc.insert(abc.end(), b.begin(), b.end());
  abc.insert(abc.end(), c.begin(), c.end());
  const auto expected = Scaled(abc);
  const std::string files = dir / "a.wav" + " " + dir / "b.flac" + " " + dir / "c.wav";
  const std::string spec = "sox " + files + " -t wav - |";
  // What sox itself writes for the entry.
  Shell("sox " + files + " -t wav - > '" + dir / "sox_out.wav" + "'");
  EXPECT_EQ(ReadAudio(dir / "sox_out.wav"), expected);
  {
    NoPath no_sox;  // native: no process is started (a pipe would fail without PATH)
    EXPECT_THAT(ErrorOf([&] { ReadAudio("sox -V1 " + files + " -t wav - |"); }),
                HasSubstr("failed"));
    EXPECT_EQ(ProbeAudio(spec).frames, 12003);
    EXPECT_EQ(ReadAudio(spec), expected);
    // Ranged reads seek into the right files, across both boundaries.
    EXPECT_EQ(ReadAudio(spec, 16000, 4990, 7012),
              std::vector<float>(expected.begin() + 4990, expected.begin() + 12002));
    EXPECT_EQ(ReadAudio(spec, 16000, 12000, 3), Scaled(c));
    EXPECT_EQ(ReadAudio(spec, 16000, 5000, 0), std::vector<float>{});
    EXPECT_THAT(ErrorOf([&] { ReadAudio(spec, 16000, 12000, 4); }), HasSubstr(spec));
    // Resampled as one signal, like sox's output file.
    EXPECT_EQ(ReadAudio(spec, 8000), ReadAudio(dir / "sox_out.wav", 8000));
    const std::string gone = "sox " + dir / "a.wav" + " " + dir / "gone.wav" + " -t wav - |";
    EXPECT_THAT(ErrorOf([&] { ReadAudio(gone); }), HasSubstr("audio file not found: " + dir / "gone.wav"));
  }
}

TEST(AudioReader, SoxConcatenationOfFilesLibsndfileCannotReadRunsSox) {
  test::ScratchDir dir("audio_concat_fallback");
  WriteRaw(dir / "a.raw", Int16Pattern(300, 14));
  SoxFromRaw(dir / "a.raw", 16000, 1, dir / "a.wav");
  // libsndfile cannot decode x.wav, so the entry is run as the sox pipe it is; sox cannot read it
  // either, and the pipe's failure is what is reported: the fallback really runs the command.
  std::ofstream(dir / "x.wav") << "this is not a RIFF file at all, just some text";
  const std::string spec = "sox " + dir / "a.wav" + " " + dir / "x.wav" + " -t wav - |";
  EXPECT_THAT(ErrorOf([&] { ReadAudio(spec); }), HasSubstr("pipe '" + spec + "' failed"));
}

// torchaudio.load (sox_io backend, what the reference recipes use) gives the same floats.
TEST(AudioReader, MatchesTorchaudioLoadBitExactly) {
  test::ScratchDir dir("audio_torchaudio");
  WriteRaw(dir / "p.raw", Int16Pattern(8000, 7));
  SoxFromRaw(dir / "p.raw", 16000, 1, dir / "p16.wav");
  SoxFromRaw(dir / "p.raw", 16000, 1, dir / "p.flac");
  Shell("sox '" + dir / "p16.wav" + "' -b 24 '" + dir / "p24.wav" + "'");
  Shell("sox '" + dir / "p16.wav" + "' -e floating-point -b 32 '" + dir / "pf.wav" + "'");
  // One Python start for all cases (importing torch dominates the cost).
  const std::string script = dir / "load.py";
  std::ofstream(script)
      << "import sys, torchaudio\n"
         "for path, out, off, num in zip(*[iter(sys.argv[1:])] * 4):\n"
         "    x, sr = torchaudio.load(path, frame_offset=int(off), num_frames=int(num))\n"
         "    x[0].numpy().astype('<f4').tofile(out)\n";
  const std::vector<std::string> names{"p16.wav", "p.flac", "p24.wav", "pf.wav"};
  std::vector<std::string> args;
  for (const auto& name : names) {
    for (const auto& a :
         {dir / name, dir / (name + ".full.f32"), std::string("0"), std::string("-1"), dir / name,
          dir / (name + ".part.f32"), std::string("1000"), std::string("2500")}) {
      args.push_back(a);
    }
  }
  test::RunPython(script, args);
  for (const auto& name : names) {
    EXPECT_EQ(ReadAudio(dir / name), test::ReadRawFloats(dir / (name + ".full.f32"))) << name;
    EXPECT_EQ(ReadAudio(dir / name, 16000, 1000, 2500),
              test::ReadRawFloats(dir / (name + ".part.f32")))
        << name;
  }
}

}  // namespace
}  // namespace speakernet

namespace speakernet {
namespace {

// Regression (fuzz/audio_fuzzer): a FLAC header's 36-bit sample count is trusted by libsndfile.
// A small file claiming 2^36 - 1 samples made ReadAudio allocate them all (275 GB: bad_alloc)
// before noticing the short read; one claiming 0 ("unknown length") gave INT64_MAX frames and a
// std::length_error. Both are now Errors naming the file, and memory grows only with the data.
TEST(AudioReader, FlacHeaderClaimingMoreSamplesThanTheFileHoldsIsAnError) {
  test::ScratchDir dir("audio_flac_claim");
  WriteRaw(dir / "p.raw", Int16Pattern(3000, 5));
  SoxFromRaw(dir / "p.raw", 16000, 1, dir / "p.flac");
  std::ifstream in(dir / "p.flac", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(bytes.substr(0, 4), "fLaC");
  ASSERT_EQ(bytes[4] & 0x7f, 0);  // the first metadata block is STREAMINFO
  // STREAMINFO starts at byte 8; its 36-bit total sample count is the low nibble of byte 21 and
  // bytes 22..25.
  auto with_total = [&](uint64_t total) {
    std::string b = bytes;
    b[21] = static_cast<char>((b[21] & 0xf0) | ((total >> 32) & 0x0f));
    for (int i = 0; i < 4; ++i) b[22 + i] = static_cast<char>((total >> (24 - 8 * i)) & 0xff);
    return b;
  };
  ASSERT_EQ(with_total(3000), bytes);  // the field is where we think it is
  for (const uint64_t total : {(uint64_t{1} << 36) - 1, uint64_t{0}}) {
    const std::string path = dir / ("claim" + std::to_string(total) + ".flac");
    std::ofstream(path, std::ios::binary) << with_total(total);
    const std::string err = ErrorOf([&] { ReadAudio(path); });
    EXPECT_THAT(err, HasSubstr(path)) << total;
  }
}

// Regression (fuzz/data_dir_fuzzer): a wav.scp spec too long to be a path threw
// std::filesystem::filesystem_error (ENAMETOOLONG) from ParseAudioSpec.
TEST(AudioReader, SpecTooLongForAPathIsParsedAndRejectedCleanly) {
  const std::string name(300, 'x');
  EXPECT_EQ(ParseAudioSpec(name + " 0 10").kind, AudioSpec::Kind::kRange);
  EXPECT_EQ(ParseAudioSpec(name).kind, AudioSpec::Kind::kFile);
  EXPECT_THAT(ErrorOf([&] { ProbeAudio(name); }), HasSubstr(name));
  EXPECT_THAT(ErrorOf([&] { ReadAudio(name + " 0 10"); }), HasSubstr(name));
}

}  // namespace
}  // namespace speakernet
