#include "speakernet/data/chunk_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;

// A corpus at 1 kHz whose every sample encodes (utterance, position): value = code / 32768 with
// code = u * 3001 + t - 15000, so each chunk row can be traced back to where it was read.
constexpr int kRate = 1000;
const std::vector<int> kLengths{3000, 2600, 1200, 515, 300, 1000, 2100, 700, 1800, 450};

struct Sample {
  int utt, pos;
};
Sample Decode(float x) {
  const int code = static_cast<int>(std::lround(x * 32768.0)) + 15000;
  return {code / 3001, code % 3001};
}

class ChunkLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream scp(dir_ / "wav.scp"), u2s(dir_ / "utt2spk");
    for (size_t u = 0; u < kLengths.size(); ++u) {
      std::vector<float> x(kLengths[u]);
      for (int t = 0; t < kLengths[u]; ++t) x[t] = float(int(u) * 3001 + t - 15000) / 32768.0f;
      const std::string id = "utt" + std::to_string(u);
      WriteWav(dir_ / (id + ".wav"), x, kRate);
      scp << id << " " << dir_ / (id + ".wav") << "\n";
      u2s << id << " spk" << (u % 4) << "\n";
    }
  }
  DataDir Data() {
    DataDir d = DataDir::Load(dir_.str());
    d.EnsureDurations();
    return d;
  }
  LoaderConfig Config(int workers = 2) {
    LoaderConfig c;
    c.batch_size = 4;
    c.chunk_seconds = 0.5;  // 515 samples at 1 kHz
    c.num_workers = workers;
    c.prefetch_batches = 2;
    c.seed = 7;
    c.sample_rate = kRate;
    return c;
  }
  static std::vector<Batch> Drain(ChunkLoader& loader) {
    std::vector<Batch> out;
    while (auto b = loader.Next()) out.push_back(std::move(*b));
    return out;
  }
  static void ExpectSame(const std::vector<Batch>& a, const std::vector<Batch>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].index, b[i].index);
      EXPECT_TRUE(torch::equal(a[i].waves, b[i].waves)) << "batch " << i;
      EXPECT_TRUE(torch::equal(a[i].labels, b[i].labels)) << "batch " << i;
    }
  }

  test::ScratchDir dir_{"chunk_loader_test"};
};

TEST_F(ChunkLoaderTest, ChunkSamplesFollowTheSpecFormula) {
  DataDir d = Data();
  LoaderConfig c = Config();
  c.sample_rate = 16000;
  c.chunk_seconds = 2.0;
  c.batch_size = 2;
  EXPECT_EQ(ChunkLoader(d, c).ChunkSamples(), 32240);
  c.chunk_seconds = 6.0;
  EXPECT_EQ(ChunkLoader(d, c).ChunkSamples(), 96240);
}

TEST_F(ChunkLoaderTest, BatchesHaveShapesLabelsAndTraceableContent) {
  DataDir d = Data();
  ChunkLoader loader(d, Config());
  EXPECT_EQ(loader.ChunkSamples(), 515);
  EXPECT_EQ(loader.NumSpeakers(), 4);
  // Slots: max(1, floor(len / 500)) = 6+5+2+1+1+2+4+1+3+1 = 26 -> 6 batches of 4.
  EXPECT_EQ(loader.NumSlots(), 26);
  EXPECT_EQ(loader.BatchesPerEpoch(), 6);
  EXPECT_THROW(loader.Next(), Error);  // before StartEpoch
  loader.StartEpoch(0);
  const auto batches = Drain(loader);
  ASSERT_EQ(batches.size(), 6u);
  std::vector<int> uses(kLengths.size(), 0);
  bool saw_wrap = false;
  for (size_t k = 0; k < batches.size(); ++k) {
    const Batch& b = batches[k];
    EXPECT_EQ(b.index, int64_t(k));
    EXPECT_GE(b.wait_seconds, 0.0);
    ASSERT_EQ(b.waves.sizes(), (std::vector<int64_t>{4, 515}));
    ASSERT_EQ(b.waves.scalar_type(), torch::kFloat32);
    ASSERT_EQ(b.labels.sizes(), (std::vector<int64_t>{4}));
    ASSERT_EQ(b.labels.scalar_type(), torch::kInt64);
    for (int i = 0; i < 4; ++i) {
      const float* row = b.waves[i].data_ptr<float>();
      const Sample first = Decode(row[0]);
      const int len = kLengths[first.utt];
      ++uses[first.utt];
      EXPECT_EQ(b.labels[i].item<int64_t>(), d.SpeakerIndex("spk" + std::to_string(first.utt % 4)));
      if (len >= 515) {  // a contiguous crop
        for (int j = 0; j < 515; ++j) {
          const Sample s = Decode(row[j]);
          ASSERT_EQ(s.utt, first.utt);
          ASSERT_EQ(s.pos, first.pos + j);
        }
        continue;
      }
      // Wrap padding: the whole signal k times, then a contiguous piece of length r.
      saw_wrap = true;
      const int reps = 515 / len, r = 515 % len;
      for (int j = 0; j < reps * len; ++j) ASSERT_EQ(Decode(row[j]).pos, j % len);
      const int p = Decode(row[reps * len]).pos;
      EXPECT_LE(p, len - r);
      for (int m = 0; m < r; ++m) {
        ASSERT_EQ(Decode(row[reps * len + m]).utt, first.utt);
        ASSERT_EQ(Decode(row[reps * len + m]).pos, p + m);
      }
    }
  }
  EXPECT_TRUE(saw_wrap);
  const std::vector<int> slots{6, 5, 2, 1, 1, 2, 4, 1, 3, 1};
  int total = 0;
  for (size_t u = 0; u < uses.size(); ++u) {
    EXPECT_LE(uses[u], slots[u]);
    total += uses[u];
  }
  EXPECT_EQ(total, 24);  // 26 slots, the last 2 dropped
  EXPECT_FALSE(loader.Next().has_value());
}

TEST_F(ChunkLoaderTest, BatchesDoNotDependOnWorkerCount) {
  DataDir d = Data();
  ChunkLoader one(d, Config(1));
  LoaderConfig many_config = Config(3);
  many_config.prefetch_batches = 5;
  ChunkLoader many(d, many_config);
  for (int64_t epoch : {0, 3}) {
    one.StartEpoch(epoch);
    many.StartEpoch(epoch);
    ExpectSame(Drain(one), Drain(many));
  }
}

TEST_F(ChunkLoaderTest, ResumeMidEpochReproducesTheRemainingBatches) {
  DataDir d = Data();
  ChunkLoader full(d, Config());
  full.StartEpoch(1);
  const auto all = Drain(full);
  ChunkLoader resumed(d, Config(3));
  resumed.StartEpoch(2);  // an epoch abandoned half way must not leak into the resumed one
  ASSERT_TRUE(resumed.Next().has_value());
  resumed.StartEpoch(1, 4);
  ExpectSame(std::vector<Batch>(all.begin() + 4, all.end()), Drain(resumed));
  resumed.StartEpoch(1, 6);  // resuming at the end gives an empty epoch
  EXPECT_FALSE(resumed.Next().has_value());
  EXPECT_THROW(resumed.StartEpoch(1, 7), Error);
}

TEST_F(ChunkLoaderTest, EpochsDiffer) {
  DataDir d = Data();
  ChunkLoader loader(d, Config());
  loader.StartEpoch(0);
  const auto e0 = Drain(loader);
  loader.StartEpoch(1);
  const auto e1 = Drain(loader);
  int differing = 0;
  for (size_t k = 0; k < e0.size(); ++k) differing += !torch::equal(e0[k].waves, e1[k].waves);
  EXPECT_GE(differing, 5);
  // Same seed and epoch again: identical.
  loader.StartEpoch(0);
  ExpectSame(e0, Drain(loader));
}

TEST_F(ChunkLoaderTest, PlanMatchesBatchContent) {
  DataDir d = Data();
  ChunkLoader loader(d, Config());
  loader.StartEpoch(5);
  auto b = loader.Next();
  const auto plans = loader.PlanBatch(5, 0);
  for (int i = 0; i < 4; ++i) {
    const Sample first = Decode(b->waves[i][0].item<float>());
    EXPECT_EQ(first.utt, plans[i].utterance);
    EXPECT_EQ(first.pos, plans[i].offset);
  }
}

TEST_F(ChunkLoaderTest, UnreadableAudioSurfacesAsErrorNamingTheUtterance) {
  DataDir d = Data();
  // Corrupt every file after validation, so the first batch is sure to hit one.
  for (size_t u = 0; u < kLengths.size(); ++u) {
    std::ofstream(dir_ / ("utt" + std::to_string(u) + ".wav")) << "garbage";
  }
  std::filesystem::remove(dir_ / "utt3.wav");
  ChunkLoader loader(d, Config(3));
  loader.StartEpoch(0);
  try {
    loader.Next();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("utterance utt"));
    EXPECT_THAT(e.what(), HasSubstr("batch 0"));
  }
  EXPECT_FALSE(loader.Next().has_value());  // the epoch is over, nothing hangs
}

TEST_F(ChunkLoaderTest, MissingFileErrorNamesItsUtterance) {
  DataDir d = Data();
  std::filesystem::remove(dir_ / "utt0.wav");  // utt0 has 6 of 26 slots: hit in every epoch
  ChunkLoader loader(d, Config(2));
  loader.StartEpoch(0);
  std::string error;
  try {
    while (loader.Next()) {
    }
  } catch (const Error& e) {
    error = e.what();
  }
  EXPECT_THAT(error, HasSubstr("utterance utt0"));
  EXPECT_THAT(error, HasSubstr(dir_ / "utt0.wav"));
}

TEST_F(ChunkLoaderTest, DestroyingMidEpochJoinsWorkers) {
  DataDir d = Data();
  for (int i = 0; i < 5; ++i) {
    ChunkLoader loader(d, Config(3));
    loader.StartEpoch(i);
    if (i % 2) loader.Next();
  }
  SUCCEED();
}

TEST_F(ChunkLoaderTest, RejectsBadConfigAndUnknownDurations) {
  DataDir d = Data();
  LoaderConfig c = Config();
  c.batch_size = 0;
  EXPECT_THROW(ChunkLoader(d, c), Error);
  c = Config();
  c.batch_size = 27;  // more than the 26 slots
  EXPECT_THROW(ChunkLoader(d, c), Error);
  DataDir no_durations = DataDir::Load(dir_.str());
  try {
    ChunkLoader loader(no_durations, Config());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("utt0"));
  }
}

}  // namespace
}  // namespace speakernet
