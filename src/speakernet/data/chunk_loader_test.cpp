#include "speakernet/data/chunk_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

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

// ----------------------------------------------------------------- fixed-position egs (§1.2)

// Hand-derived from the spec's formulas and its table (2 s: chunk 32240, hop 28800, drop-last
// 3440, min 32240; 6 s: chunk 96240, hop 86400, drop-last 9840, min 32240).
TEST(FixedChunkPositions, MatchTheSpecTable) {
  using P = std::vector<std::pair<int64_t, int64_t>>;
  auto two = [](int64_t n) { return FixedChunkPositions(n, 2.0, 2.0, 0.1, 0.2, 16000); };
  auto six = [](int64_t n) { return FixedChunkPositions(n, 6.0, 2.0, 0.1, 0.6, 16000); };
  // 100000: 0, 28800, 57600 fit; offset 86400 + 3440 < 100000 adds the tail [67760, 100000).
  EXPECT_EQ(two(100000), (P{{0, 32240}, {28800, 32240}, {57600, 32240}, {67760, 32240}}));
  EXPECT_EQ(two(32240), (P{{0, 32240}}));  // 28800 + 3440 = 32240 is not < 32240: no tail
  EXPECT_EQ(two(32239), P{});               // shorter than min_chunk 32240: skipped
  // 61040 = 28800 + 32240: two chunks end exactly at L, the next offset 57600 + 3440 = 61040 is
  // not < L, so no tail; one more sample and the tail [28801, 61041) appears.
  EXPECT_EQ(two(61040), (P{{0, 32240}, {28800, 32240}}));
  EXPECT_EQ(two(61041), (P{{0, 32240}, {28800, 32240}, {28801, 32240}}));
  EXPECT_EQ(six(50000), (P{{0, 50000}}));  // one short chunk, wrap-padded at load time
  EXPECT_EQ(six(200000), (P{{0, 96240}, {86400, 96240}, {103760, 96240}}));
  EXPECT_EQ(six(32239), P{});
}

class FixedChunkTest : public ChunkLoaderTest {
 protected:
  LoaderConfig Fixed(int workers = 2) {
    LoaderConfig c = Config(workers);
    c.chunking = "fixed";
    c.min_chunk_seconds = 0.2;  // 215 samples
    c.drop_last_seconds = 0.2;  // 215
    c.overlap = 0.1;            // overlap_size int(0.1*0.5*1000 + 15) = 65: hop 450
    return c;
  }
};

TEST_F(FixedChunkTest, ChunksSitAtTheHandDerivedPositions) {
  DataDir d = Data();
  ChunkLoader loader(d, Fixed());
  std::vector<std::pair<int64_t, int64_t>> utt0;
  for (const Chunk& c : loader.Chunks()) {
    if (c.utterance == 0) utt0.emplace_back(c.offset, c.length);
  }
  // 3000 samples: 0..2250 every 450 fit 515; offset 2700 + 215 < 3000 adds [2485, 3000).
  EXPECT_EQ(utt0, (std::vector<std::pair<int64_t, int64_t>>{
                      {0, 515}, {450, 515}, {900, 515}, {1350, 515}, {1800, 515}, {2250, 515},
                      {2485, 515}}));
  // The batches read exactly those positions (samples are traceable), the same in every epoch.
  for (int64_t epoch : {0, 1}) {
    loader.StartEpoch(epoch);
    while (auto b = loader.Next()) {
      const auto plans = loader.PlanBatch(epoch, b->index);
      for (int i = 0; i < 4; ++i) {
        const Sample s = Decode(b->waves[i][0].item<float>());
        EXPECT_EQ(s.utt, plans[i].utterance);
        bool known = false;
        for (const Chunk& c : loader.Chunks()) {
          known |= c.utterance == s.utt && c.offset == s.pos;
        }
        EXPECT_TRUE(known) << "utt " << s.utt << " pos " << s.pos;
      }
    }
  }
}

TEST_F(FixedChunkTest, SilentChunksAreDropped) {
  DataDir d = Data();
  // utt5 (1000 samples) has chunks [0, 515) and [450, 965). Its code is 5 + t, so the mean |x|
  // is (5 + 257) / 32768 = 0.0080 and (5 + 450 + 257) / 32768 = 0.0217; every other chunk of the
  // corpus has mean |x| > 0.05. amp_th 0.01 drops exactly the first.
  LoaderConfig c = Fixed();
  const auto all = ChunkLoader(d, c).Chunks();
  c.amp_th = 0.01;
  const auto kept = ChunkLoader(d, c).Chunks();
  EXPECT_EQ(kept.size() + 1, all.size());
  for (const Chunk& k : kept) EXPECT_FALSE(k.utterance == 5 && k.offset == 0);
  bool second = false;
  for (const Chunk& k : kept) second |= k.utterance == 5 && k.offset == 450;
  EXPECT_TRUE(second);
  c.chunking = "random";
  EXPECT_THROW(ChunkLoader(d, c), Error);  // the gate belongs to fixed egs
}

// ----------------------------------------------------------------------- validation split

TEST_F(FixedChunkTest, ValidationSplitIsDisjointAndUsesTheTrainingLabels) {
  DataDir d = Data();
  for (const std::string chunking : {"fixed", "random"}) {
    LoaderConfig c = Fixed();
    c.chunking = chunking;
    c.validation_speakers = 2;
    c.validation_chunks_per_speaker = 2;
    c.validation_batch_size = 3;
    ChunkLoader train(d, c);
    const auto& val = train.ValidationChunks();
    ASSERT_EQ(val.size(), 4u) << chunking;
    std::set<int64_t> speakers;
    for (const Chunk& v : val) {
      speakers.insert(d.SpeakerIndex(d.utterances()[v.utterance].speaker));
      for (const Chunk& t : train.Chunks()) {
        if (t.utterance != v.utterance) continue;
        ASSERT_NE(chunking, "random") << "random chunks take whole utterances: none may remain";
        EXPECT_TRUE(t.offset + t.length <= v.offset || v.offset + v.length <= t.offset)
            << "train chunk at " << t.offset << " overlaps validation chunk at " << v.offset;
      }
    }
    EXPECT_EQ(speakers.size(), 2u);
    ChunkLoader valid(d, c, val);
    EXPECT_EQ(valid.NumClasses(), train.NumClasses());
    EXPECT_EQ(valid.BatchesPerEpoch(), 2);  // 3 + 1: the last batch is kept
    valid.StartEpoch(0);
    std::vector<int64_t> labels;
    while (auto b = valid.Next()) {
      for (int64_t i = 0; i < b->labels.size(0); ++i) {
        const Sample s = Decode(b->waves[i][0].item<float>());
        // The label is the speaker index of the data dir, as in training (spk = utt % 4).
        EXPECT_EQ(b->labels[i].item<int64_t>(), d.SpeakerIndex("spk" + std::to_string(s.utt % 4)));
        labels.push_back(b->labels[i].item<int64_t>());
      }
    }
    EXPECT_EQ(labels.size(), 4u);
    EXPECT_TRUE(std::is_sorted(labels.begin(), labels.end()));
  }
}

// ----------------------------------------------------------------------- balanced sampler

TEST_F(FixedChunkTest, BalancedSamplerGivesNSpeakersTimesMChunks) {
  DataDir d = Data();
  LoaderConfig c = Fixed();
  c.sampler = "balanced";
  c.speakers_per_batch = 3;
  c.chunks_per_speaker = 2;
  c.batch_size = 6;
  c.balanced_batches_per_epoch = 5;
  ChunkLoader loader(d, c);
  EXPECT_EQ(loader.BatchesPerEpoch(), 5);
  loader.StartEpoch(2);
  const auto all = Drain(loader);
  ASSERT_EQ(all.size(), 5u);
  for (const Batch& b : all) {
    ASSERT_EQ(b.labels.size(0), 6);
    std::map<int64_t, int> per_speaker;
    for (int i = 0; i < 6; ++i) ++per_speaker[b.labels[i].item<int64_t>()];
    EXPECT_EQ(per_speaker.size(), 3u);
    for (const auto& [spk, n] : per_speaker) EXPECT_EQ(n, 2) << "speaker " << spk;
  }
  ChunkLoader resumed(d, c);
  resumed.StartEpoch(2, 3);
  ExpectSame(std::vector<Batch>(all.begin() + 3, all.end()), Drain(resumed));
  // -1: speaker-net's SpeakerAwareSampler length, max chunks of a speaker x classes, in batches.
  std::map<std::string, int64_t> per_speaker;
  for (const Chunk& chunk : loader.Chunks()) ++per_speaker[d.utterances()[chunk.utterance].speaker];
  int64_t most = 0;
  for (const auto& [spk, n] : per_speaker) most = std::max(most, n);
  c.balanced_batches_per_epoch = -1;
  EXPECT_EQ(ChunkLoader(d, c).BatchesPerEpoch(), most * loader.NumClasses() / 6);
  EXPECT_GT(most * loader.NumClasses() / 6, 0);
  c.balanced_batches_per_epoch = -2;
  EXPECT_THROW(c.Validate(), Error);
  c.balanced_batches_per_epoch = 0;
  c.batch_size = 5;
  EXPECT_THROW(ChunkLoader(d, c), Error);
}

// ------------------------------------------------------------------- online augmentation

class AugmentedLoaderTest : public FixedChunkTest {
 protected:
  void SetUp() override {
    FixedChunkTest::SetUp();
    std::mt19937 rng(3);
    std::normal_distribution<float> g(0.f, 0.1f);
    auto write = [&](const std::string& sub, int index, int n, bool rir) {
      std::filesystem::create_directories(dir_ / sub);
      std::vector<float> x(n);
      for (int t = 0; t < n; ++t) x[t] = rir ? float(std::exp(-t / 20.0) * g(rng)) : g(rng);
      if (rir) x[3] = 0.9f;
      WriteWav(dir_ / (sub + "/" + std::to_string(index) + ".wav"), x, kRate);
    };
    for (int i = 0; i < 3; ++i) {
      write("noise", i, 300 + 400 * i, false);  // shorter and longer than a chunk
      write("speech", i, 900, false);
      write("rir", i, 120, true);
      write("point", i, 200, false);
    }
  }
  LoaderConfig Augmented(int workers = 2) {
    LoaderConfig c = Fixed(workers);
    c.augment.mode = "chain";
    c.augment.noise_sets = {dir_ / "noise"};
    c.augment.babble_sets = {dir_ / "speech"};
    c.augment.babble.speaker_count_low = c.augment.babble.speaker_count_high = 2;
    c.augment.reverb_sets = {dir_ / "rir"};
    c.augment.real_reverb_sets = {dir_ / "rir"};
    c.augment.point_noise_sets = {dir_ / "point"};
    return c;
  }
};

TEST_F(AugmentedLoaderTest, ResumeReproducesAugmentedBatchesExactly) {
  DataDir d = Data();
  ChunkLoader full(d, Augmented(1));
  ASSERT_EQ(full.NumClasses(), 12);  // 4 speakers x 3 speeds
  full.StartEpoch(1);
  const auto all = Drain(full);
  ASSERT_GE(all.size(), 5u);
  // A fresh loader (another worker count, preloaded pools, an abandoned epoch first) resumed at
  // batch 3 yields the same tensors: the augmentation draws do not depend on history.
  LoaderConfig other = Augmented(3);
  other.augment.preload = true;
  ChunkLoader resumed(d, other);
  resumed.StartEpoch(0);
  ASSERT_TRUE(resumed.Next().has_value());
  resumed.StartEpoch(1, 3);
  ExpectSame(std::vector<Batch>(all.begin() + 3, all.end()), Drain(resumed));
  // And augmentation really acts: the clean loader gives other samples for the same plans.
  ChunkLoader clean(d, Fixed());
  clean.StartEpoch(1);
  const auto plain = Drain(clean);
  int differing = 0;
  for (size_t k = 0; k < all.size(); ++k) differing += !torch::equal(all[k].waves, plain[k].waves);
  EXPECT_GE(differing, int(all.size()) - 1);
  // Another epoch draws other augmentation.
  full.StartEpoch(2);
  EXPECT_FALSE(torch::equal(Drain(full)[0].waves, all[0].waves));
}

TEST_F(AugmentedLoaderTest, SpeedPerturbedLabelsAreSpeakerPlusOffsetTimesSpeakers) {
  DataDir d = Data();
  const int S = 4;
  // One factor at a time: every label is speaker + offset * S, offset {1.0: 0, 0.9: 1, 1.1: 2}.
  for (const auto& [speed, offset] : std::vector<std::pair<double, int>>{{0.9, 1}, {1.1, 2}, {1.0, 0}}) {
    LoaderConfig c = Fixed();
    c.augment.mode = "speed";
    c.augment.speed.speeds = {speed};
    ChunkLoader loader(d, c);
    loader.StartEpoch(0);
    while (auto b = loader.Next()) {
      const auto plans = loader.PlanBatch(0, b->index);
      for (int i = 0; i < 4; ++i) {
        const int64_t spk = d.SpeakerIndex(d.utterances()[plans[i].utterance].speaker);
        EXPECT_EQ(b->labels[i].item<int64_t>(), spk + offset * S) << "speed " << speed;
      }
    }
  }
  // All three factors: labels cover three blocks, each congruent to the plan's speaker mod S.
  LoaderConfig c = Fixed();
  c.augment.mode = "speed";
  ChunkLoader loader(d, c);
  EXPECT_EQ(loader.NumClasses(), 3 * S);
  std::set<int64_t> blocks;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    loader.StartEpoch(epoch);
    while (auto b = loader.Next()) {
      const auto plans = loader.PlanBatch(epoch, b->index);
      for (int i = 0; i < 4; ++i) {
        const int64_t label = b->labels[i].item<int64_t>();
        EXPECT_EQ(label % S, d.SpeakerIndex(d.utterances()[plans[i].utterance].speaker));
        blocks.insert(label / S);
      }
    }
  }
  EXPECT_EQ(blocks, (std::set<int64_t>{0, 1, 2}));
}

TEST_F(AugmentedLoaderTest, MissingSetsAndUnknownModesAreRejected) {
  DataDir d = Data();
  LoaderConfig c = Augmented();
  c.augment.babble_sets.clear();
  EXPECT_THROW(ChunkLoader(d, c), Error);
  c.augment.babble_weight = 0;  // dropping the entry makes the set unnecessary
  EXPECT_NO_THROW(ChunkLoader(d, c));
  c.augment.mode = "sometimes";
  EXPECT_THROW(ChunkLoader(d, c), Error);
  c = Augmented();
  c.augment.noise_sets = {dir_ / "no_such_dir"};
  EXPECT_THROW(ChunkLoader(d, c), Error);
}

// Data-parallel sharding: the ranks' shards of a global batch, concatenated in rank order, are
// bit-identical to the unsharded batch (augmentation included), so the sequence of global
// batches does not depend on the world size; a world size that does not divide the batch and a
// late SetShard are errors.
TEST_F(AugmentedLoaderTest, ShardsConcatenateToTheUnshardedBatch) {
  DataDir d = Data();
  ChunkLoader whole(d, Augmented(2));
  whole.StartEpoch(1);
  const auto all = Drain(whole);
  for (int world : {2, 4}) {
    std::vector<std::vector<Batch>> shards;
    for (int r = 0; r < world; ++r) {
      ChunkLoader part(d, Augmented(r % 2 + 1));
      part.SetShard(r, world);
      part.StartEpoch(1);
      shards.push_back(Drain(part));
      ASSERT_EQ(shards.back().size(), all.size());
    }
    for (size_t k = 0; k < all.size(); ++k) {
      std::vector<torch::Tensor> waves, labels;
      for (int r = 0; r < world; ++r) {
        EXPECT_EQ(shards[r][k].waves.size(0), 4 / world);
        waves.push_back(shards[r][k].waves);
        labels.push_back(shards[r][k].labels);
      }
      EXPECT_TRUE(torch::equal(torch::cat(waves), all[k].waves))
          << "world " << world << " batch " << k;
      EXPECT_TRUE(torch::equal(torch::cat(labels), all[k].labels)) << "world " << world;
    }
  }
  ChunkLoader bad(d, Augmented());
  EXPECT_THROW(bad.SetShard(0, 3), Error);  // 4 % 3 != 0
  bad.StartEpoch(0);
  EXPECT_THROW(bad.SetShard(0, 2), Error);  // after StartEpoch
}

// ------------------------------------------------------------------------ paired sampler

// utt2lang for the 10 utterances (speaker = u % 4; random-chunking slots 6,5,2,1,1,2,4,1,3,1):
// spk0: en 9 slots (utt0, utt8), de 1 (utt4); spk1: en only (8 slots); spk2: en 2 (utt2),
// fr 4 (utt6); spk3: en 1 (utt3), de 1 (utt7).
const std::vector<std::string> kLanguages{"en", "en", "en", "en", "de",
                                          "en", "fr", "de", "en", "en"};

class PairedLoaderTest : public ChunkLoaderTest {
 protected:
  void SetUp() override {
    ChunkLoaderTest::SetUp();
    std::ofstream u2l(dir_ / "utt2lang");
    for (size_t u = 0; u < kLanguages.size(); ++u)
      u2l << "utt" << u << " " << kLanguages[u] << "\n";
  }
  LoaderConfig Paired(double p, int workers = 2) {
    LoaderConfig c = Config(workers);
    c.sampler = "paired";
    c.paired_other_lang_prob = p;
    return c;
  }
};

// batch_size counts waveforms: 4 = 2 pairs, 26 slots -> 13 batches, every slot leading once.
TEST_F(PairedLoaderTest, RowsTwoJAndTwoJPlusOneAreAPairOfOneSpeaker) {
  DataDir d = Data();
  ChunkLoader loader(d, Paired(0.5));
  EXPECT_EQ(loader.BatchesPerEpoch(), 13);
  loader.StartEpoch(3);
  const auto batches = Drain(loader);
  ASSERT_EQ(batches.size(), 13u);
  std::vector<int> leads(kLengths.size(), 0);
  int different = 0;
  for (const Batch& b : batches) {
    ASSERT_EQ(b.waves.sizes(), (std::vector<int64_t>{4, 515}));
    for (int j = 0; j < 2; ++j) {
      const Sample first = Decode(b.waves[2 * j][0].item<float>());
      const Sample second = Decode(b.waves[2 * j + 1][0].item<float>());
      ++leads[first.utt];
      EXPECT_EQ(first.utt % 4, second.utt % 4) << "pair of two speakers";
      different += kLanguages[first.utt] != kLanguages[second.utt];
      const int64_t label = d.SpeakerIndex("spk" + std::to_string(first.utt % 4));
      EXPECT_EQ(b.labels[2 * j].item<int64_t>(), label);
      EXPECT_EQ(b.labels[2 * j + 1].item<int64_t>(), label);
    }
  }
  EXPECT_EQ(leads, (std::vector<int>{6, 5, 2, 1, 1, 2, 4, 1, 3, 1}));
  EXPECT_GT(different, 0);
}

// The property of speaker-net's PairedWaveDataset: a different-language partner with
// probability p when both kinds exist, the same language when the speaker has one language,
// a different one when the chunk is alone in its language. 400 epochs give 6000 first members
// with both choices; the count must lie within 5 binomial standard deviations of 6000 p.
TEST_F(PairedLoaderTest, DifferentLanguageFrequencyMatchesP) {
  DataDir d = Data();
  for (const double p : {0.5, 0.8}) {
    ChunkLoader loader(d, Paired(p, 1));
    int64_t both = 0, different = 0;
    for (int64_t epoch = 0; epoch < 400; ++epoch) {
      for (int64_t k = 0; k < loader.BatchesPerEpoch(); ++k) {
        const auto plans = loader.PlanBatch(epoch, k);
        for (size_t j = 0; j < plans.size(); j += 2) {
          const int64_t a = plans[j].utterance, b = plans[j + 1].utterance;
          ASSERT_EQ(a % 4, b % 4);
          const bool diff = kLanguages[a] != kLanguages[b];
          if (a % 4 == 1) ASSERT_FALSE(diff) << "spk1 has one language";
          if (a == 4 || a % 4 == 3) ASSERT_TRUE(diff) << "utt" << a << " is alone in its language";
          if (a == 0 || a == 8 || a % 4 == 2) {
            ++both;
            different += diff;
          }
        }
      }
    }
    ASSERT_EQ(both, 6000);
    const double sd = std::sqrt(both * p * (1 - p));
    EXPECT_NEAR(double(different), both * p, 5 * sd) << "p " << p;
  }
}

// Same (seed, epoch, batch) -> same batch, whatever the workers; resume mid-epoch equals the
// uninterrupted epoch; with speed perturbation the second chunk takes the first one's speed
// (equal labels in every pair, which independent draws would break in 2/3 of the pairs).
TEST_F(PairedLoaderTest, DeterministicResumableAndSpeedShared) {
  DataDir d = Data();
  LoaderConfig c = Paired(0.8, 1);
  c.augment.mode = "speed";
  ChunkLoader full(d, c);
  full.StartEpoch(2);
  const auto all = Drain(full);
  std::set<int64_t> blocks;
  for (const Batch& b : all) {
    for (int j = 0; j < 2; ++j) {
      EXPECT_EQ(b.labels[2 * j].item<int64_t>(), b.labels[2 * j + 1].item<int64_t>());
      blocks.insert(b.labels[2 * j].item<int64_t>() / 4);
    }
  }
  EXPECT_EQ(blocks.size(), 3u);  // all three speeds occur
  LoaderConfig other = c;
  other.num_workers = 3;
  ChunkLoader resumed(d, other);
  resumed.StartEpoch(0);
  ASSERT_TRUE(resumed.Next().has_value());
  resumed.StartEpoch(2, 6);
  ExpectSame(std::vector<Batch>(all.begin() + 6, all.end()), Drain(resumed));
  resumed.StartEpoch(2);
  ExpectSame(all, Drain(resumed));
  resumed.StartEpoch(3);
  EXPECT_FALSE(torch::equal(Drain(resumed)[0].waves, all[0].waves));
  // Two ranks each get whole pairs, and their shards concatenate to the global batch.
  std::vector<std::vector<Batch>> shards;
  for (int r = 0; r < 2; ++r) {
    ChunkLoader part(d, c);
    part.SetShard(r, 2);
    part.StartEpoch(2);
    shards.push_back(Drain(part));
  }
  for (size_t k = 0; k < all.size(); ++k) {
    EXPECT_TRUE(torch::equal(torch::cat({shards[0][k].waves, shards[1][k].waves}), all[k].waves));
    EXPECT_TRUE(
        torch::equal(torch::cat({shards[0][k].labels, shards[1][k].labels}), all[k].labels));
  }
  ChunkLoader four(d, c);
  EXPECT_THROW(four.SetShard(0, 4), Error);  // 2 pairs cannot be split over 4 ranks
}

TEST_F(PairedLoaderTest, ConfigAndDataErrors) {
  DataDir d = Data();
  LoaderConfig c = Paired(0.5);
  c.batch_size = 5;
  EXPECT_THROW(ChunkLoader(d, c), Error);  // odd
  c = Paired(-0.1);
  EXPECT_THROW(ChunkLoader(d, c), Error);
  std::filesystem::remove(dir_ / "utt2lang");
  DataDir no_languages = Data();
  try {
    ChunkLoader loader(no_languages, Paired(0.5));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("needs an utt2lang file"));
  }
  // A speaker left with a single chunk has no partner: an error naming it.
  {
    std::ofstream u2s(dir_ / "utt2spk");
    for (size_t u = 0; u < kLengths.size(); ++u) {
      u2s << "utt" << u << " " << (u == 3 ? "lonely" : "spk" + std::to_string(u % 4)) << "\n";
    }
    std::ofstream u2l(dir_ / "utt2lang");
    for (size_t u = 0; u < kLanguages.size(); ++u)
      u2l << "utt" << u << " " << kLanguages[u] << "\n";
  }
  try {
    ChunkLoader loader(Data(), Paired(0.5));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("speaker 'lonely' has a single training chunk"));
  }
}

}  // namespace
}  // namespace speakernet
