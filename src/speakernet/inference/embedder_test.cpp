// Tests of the public API (speakernet/speakernet.h) and of single-file models, on a tiny model
// trained for one epoch on toy data:
//   * Embedder::EmbedFile equals `speakernet extract`'s embedding (ExtractDataDir) of the same wav;
//   * Embed at another sample rate equals Embed of the same signal resampled beforehand, and
//     EmbedFile of an 8 kHz wav equals Embed of its samples at 8 kHz;
//   * Embed from 4 threads at once gives the vectors of sequential calls;
//   * a packaged model (.snm) gives the embeddings of its experiment, Python's torch.load reads
//     its weights equal to the checkpoint's, and damaged packages fail naming what is wrong;
//   * CosineScore and the SpeakerRegistry against hand-computed values.
// common/error.h first: speakernet.h then skips its copy of the Error class.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/common/config.h"
#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/test_util.h"
#include "speakernet/inference/embedding_extractor.h"
#include "speakernet/models/torch_save_writer.h"
#include "speakernet/speakernet.h"
#include "speakernet/training/model_package.h"
#include "speakernet/training/toy_experiment_test_util.h"
#include "speakernet/training/trainer.h"

namespace speakernet {
namespace {

namespace fs = std::filesystem;
using test::ErrorOf;
using ::testing::HasSubstr;

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float d = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

float MaxAbs(const std::vector<float>& a) {
  float m = 0;
  for (float x : a) m = std::max(m, std::abs(x));
  return m;
}

// One torch thread: the suite shares a 2-core machine with other tests.
const EmbedderOptions kOneThread{"", "cpu", 1};

class EmbedderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::ScratchDir("sn_embedder");
    data_ = test::MakeToyData(*dir_);
    exp_ = *dir_ / "exp";
    TrainConfig c = test::TinyTrainConfig();
    c.trainer.epochs = 1;
    Trainer(c, data_, exp_).Run();
    package_ = *dir_ / "model.snm";
    WriteModelPackage(package_, LoadTrainedModel(exp_, "", /*deploy=*/true), 0.25);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Wav(int spk, int utt) {
    return *dir_ / ("spk" + std::to_string(spk) + "-u" + std::to_string(utt) + ".wav");
  }

  static inline test::ScratchDir* dir_ = nullptr;
  static inline std::string data_, exp_, package_;
};

TEST_F(EmbedderTest, EmbedFileEqualsExtract) {
  const Embedder e = Embedder::Load(exp_, kOneThread);
  ExtractConfig cfg;
  cfg.write_npy = false;
  const std::string out = *dir_ / "extract";
  ExtractDataDir(EmbeddingExtractor(exp_, cfg, RuntimeConfig()), DataDir::Load(data_), out);
  int n = 0;
  kaldi::ForEachInArk(
      out + "/embeddings.ark", [&](const std::string& key, const kaldi::FloatMatrix& m) {
        const std::vector<float> mine = e.EmbedFile(*dir_ / (key + ".wav"));
        ASSERT_EQ(static_cast<int>(mine.size()), e.Dim());
        EXPECT_LE(MaxAbsDiff(mine, m.data), 1e-5f * std::max(1.f, MaxAbs(m.data))) << key;
        ++n;
      });
  EXPECT_EQ(n, 12);
  EXPECT_EQ(e.Dim(), 16);
  EXPECT_EQ(e.SampleRate(), 16000);
  EXPECT_FALSE(e.HasThreshold());
  EXPECT_THAT(ErrorOf([&] { e.Threshold(); }), HasSubstr("no threshold"));
}

TEST_F(EmbedderTest, OtherSampleRatesAreResampled) {
  const Embedder e = Embedder::Load(exp_, kOneThread);
  const std::vector<float> x8k = test::ToyWave(1, 2, 12000, 99);
  const std::vector<float> direct = e.Embed(x8k, 8000);
  const std::vector<float> pre = e.Embed(Resample(x8k, 8000, 16000), 16000);
  EXPECT_EQ(direct, pre);
  const std::string wav8k = *dir_ / "eight_khz.wav";
  WriteWav(wav8k, x8k, 8000);
  // WriteWav stores int16: the file holds x8k rounded to 1/32768.
  std::vector<float> stored = ReadAudio(wav8k, 8000);
  EXPECT_EQ(e.EmbedFile(wav8k), e.Embed(stored.data(), static_cast<int64_t>(stored.size()), 8000));
  EXPECT_GT(MaxAbsDiff(direct, e.Embed(x8k, 16000)), 1e-3f) << "the rate was ignored";
}

TEST_F(EmbedderTest, ConcurrentEmbedEqualsSequential) {
  const Embedder e = Embedder::Load(exp_, kOneThread);
  std::vector<std::vector<float>> waves, sequential;
  for (int i = 0; i < 8; ++i) {
    waves.push_back(test::ToyWave(i % 3, i, 16000 + 800 * i, 100 + i));
    sequential.push_back(e.Embed(waves.back(), 16000));
  }
  std::vector<std::vector<float>> concurrent(waves.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep) {
        for (size_t i = t; i < waves.size(); i += 4) concurrent[i] = e.Embed(waves[i], 16000);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t i = 0; i < waves.size(); ++i) {
    EXPECT_LE(MaxAbsDiff(concurrent[i], sequential[i]),
              1e-6f * std::max(1.f, MaxAbs(sequential[i])))
        << "utterance " << i;
  }
}

TEST_F(EmbedderTest, PackageGivesTheExperimentsEmbeddings) {
  const Embedder from_exp = Embedder::Load(exp_, kOneThread),
                 from_file = Embedder::Load(package_, kOneThread);
  EXPECT_EQ(from_file.Dim(), from_exp.Dim());
  ASSERT_TRUE(from_file.HasThreshold());
  EXPECT_FLOAT_EQ(from_file.Threshold(), 0.25f);
  for (int s = 0; s < 3; ++s)
    EXPECT_EQ(from_file.EmbedFile(Wav(s, 1)), from_exp.EmbedFile(Wav(s, 1)));
  // The package's config equals the experiment's.
  const TrainedModel m = ReadModelPackage(package_);
  EXPECT_EQ(ConfigToString(m.config), ConfigToString(Experiment::Open(exp_).LoadConfig()));
}

// Python's torch.load reads the package's weights: equal to the checkpoint's model tensors.
TEST_F(EmbedderTest, PythonTorchLoadReadsThePackage) {
  const std::string script = *dir_ / "compare.py";
  std::ofstream(script) << R"(import sys, torch
pkg = torch.load(sys.argv[1], weights_only=True)
ckpt = {k: v for k, v in torch.load(sys.argv[2], weights_only=True).items()
        if not k.startswith("loss.")}
assert list(pkg) == list(ckpt), (list(pkg)[:3], list(ckpt)[:3])
assert all(torch.equal(pkg[k], ckpt[k]) for k in pkg)
print(len(pkg))
)";
  const std::string ckpt = Experiment::Open(exp_).ResolveCheckpoint() + "/model.pt";
  const std::string out = test::RunPython(script, {package_, ckpt});
  EXPECT_GT(std::stoi(out), 10);
}

TEST_F(EmbedderTest, BadModelsAreClearErrors) {
  EXPECT_THAT(ErrorOf([&] { Embedder::Load(*dir_ / "nothing"); }), HasSubstr("/nothing"));
  // A state dict that is no package.
  const std::string ckpt = Experiment::Open(exp_).ResolveCheckpoint() + "/model.pt";
  const std::string plain = ErrorOf([&] { Embedder::Load(ckpt); });
  EXPECT_THAT(plain, HasSubstr(ckpt));
  EXPECT_THAT(plain, HasSubstr("speakernet/format"));
  // Not an archive at all.
  const std::string text = *dir_ / "text.snm";
  std::ofstream(text) << "hello\n";
  EXPECT_THAT(ErrorOf([&] { Embedder::Load(text); }), HasSubstr(text));
  // Packages with one record wrong.
  const TrainedModel m = LoadTrainedModel(exp_);
  const StateDict weights = GetStateDict(*m.model);
  const std::string config = YamlToString(ConfigToYaml(m.config));
  auto write = [&](const std::string& name, const ArchiveRecords& records) {
    const std::string path = *dir_ / name;
    std::ofstream(path, std::ios::binary) << TorchSaveBytes(weights, records);
    return ErrorOf([&] { Embedder::Load(path); });
  };
  EXPECT_THAT(write("v9.snm", {{"speakernet/format", "speakernet-model 9\n"},
                               {"speakernet/config.yaml", config},
                               {"speakernet/meta.yaml", "embedding_dim: 16\n"}}),
              HasSubstr("speakernet-model 9"));
  EXPECT_THAT(write("dim.snm", {{"speakernet/format", "speakernet-model 1\n"},
                                {"speakernet/config.yaml", config},
                                {"speakernet/meta.yaml", "embedding_dim: 17\n"}}),
              HasSubstr("embedding_dim 17"));
  EXPECT_THAT(write("nometa.snm", {{"speakernet/format", "speakernet-model 1\n"},
                                   {"speakernet/config.yaml", config}}),
              HasSubstr("speakernet/meta.yaml"));
  TrainConfig other = m.config;
  other.model.emb_dim = 32;
  EXPECT_THAT(write("arch.snm", {{"speakernet/format", "speakernet-model 1\n"},
                                 {"speakernet/config.yaml", YamlToString(ConfigToYaml(other))},
                                 {"speakernet/meta.yaml", "embedding_dim: 32\n"}}),
              HasSubstr("do not fit"));
  EXPECT_THAT(write("key.snm", {{"speakernet/format", "speakernet-model 1\n"},
                                {"speakernet/config.yaml", config + "bogus_key: 1\n"},
                                {"speakernet/meta.yaml", "embedding_dim: 16\n"}}),
              HasSubstr("bogus_key"));
  // Bad arguments.
  const Embedder e = Embedder::Load(package_, kOneThread);
  EXPECT_THAT(ErrorOf([&] { e.Embed(nullptr, 0, 16000); }), HasSubstr("no samples"));
  const std::vector<float> x(1000, 0.1f);
  EXPECT_THAT(ErrorOf([&] { e.Embed(x, 0); }), HasSubstr("sample_rate"));
  EXPECT_THAT(ErrorOf([&] { e.EmbedFile(*dir_ / "missing.wav"); }), HasSubstr("missing.wav"));
  EXPECT_THAT(ErrorOf([&] { Embedder::Load(package_, {exp_ + "/checkpoints/epoch-1"}); }),
              HasSubstr("no checkpoints"));
}

TEST(CosineScoreTest, HandValues) {
  EXPECT_FLOAT_EQ(CosineScore({1, 0}, {1, 1}), static_cast<float>(1 / std::sqrt(2.0)));
  EXPECT_FLOAT_EQ(CosineScore({3, 4, 0}, {-3, -4, 0}), -1.f);
  EXPECT_THAT(ErrorOf([] { CosineScore({1, 0}, {1, 0, 0}); }), HasSubstr("2 and 3"));
  EXPECT_THAT(ErrorOf([] { CosineScore({0, 0}, {1, 0}); }), HasSubstr("all zeros"));
}

TEST(SpeakerRegistryTest, EnrolVerifyIdentifyRemove) {
  SpeakerRegistry r(2);
  r.Enroll("bob", std::vector<std::vector<float>>{{1, 0}, {0, 1}});  // mean (0.5, 0.5)
  r.Enroll("amy", std::vector<float>{1, -1});
  r.Enroll("amy", std::vector<float>{3, -1});  // mean (2, -1)
  EXPECT_EQ(r.Names(), (std::vector<std::string>{"amy", "bob"}));
  EXPECT_EQ(r.Size(), 2);
  EXPECT_EQ(r.NumEmbeddings("amy"), 2);
  const std::vector<float> test = {1, 0};
  EXPECT_FLOAT_EQ(r.Score("bob", test), static_cast<float>(1 / std::sqrt(2.0)));
  EXPECT_FLOAT_EQ(r.Score("amy", test), static_cast<float>(2 / std::sqrt(5.0)));
  EXPECT_TRUE(r.Verify("amy", test, 0.85f));   // 0.894
  EXPECT_FALSE(r.Verify("bob", test, 0.85f));  // 0.707
  const SpeakerRegistry::Match best = r.Identify(test, 0.5f);
  EXPECT_EQ(best.name, "amy");
  EXPECT_FLOAT_EQ(best.score, static_cast<float>(2 / std::sqrt(5.0)));
  EXPECT_EQ(r.Identify(test, 0.95f).name, "");
  const auto ranked = r.Rank({0, 1});
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].name, "bob");
  EXPECT_TRUE(r.Remove("amy"));
  EXPECT_FALSE(r.Remove("amy"));
  EXPECT_FALSE(r.Contains("amy"));
  EXPECT_EQ(r.Identify(test, 0.5f).name, "bob");
  EXPECT_THAT(ErrorOf([&] { r.Score("amy", test); }), HasSubstr("'amy'"));
  EXPECT_THAT(ErrorOf([&] {
                r.Enroll("cat", std::vector<float>{1, 2, 3});
              }),
              HasSubstr("3 dimensions"));
}

}  // namespace
}  // namespace speakernet
