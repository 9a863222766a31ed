// Property tests of EmbeddingExtractor against references built in the test itself from the
// checkpoint file, the model and the fbank: a tiny model is trained for one epoch on toy data,
// then
//   * Extract() equals the model's forward on the whole utterance's fbank (checkpoint loaded);
//   * with a small max_frames it equals the frame-weighted mean of the piece embeddings, the
//     pieces cut as speaker-net's for_extract_embedding does (spec §3.1 and §7.1: ceil(N/max)
//     pieces, the first ones of ceil(N/pieces) frames, the last one the rest);
//   * ExtractDataDir's embeddings.{ark,scp} and .npy read back equal to Extract();
//   * batched extraction (identical frame counts share a forward pass, worker threads computing
//     features) gives every utterance the one-by-one Extract() embedding within float rounding;
//   * an interrupted run (stop_after_shards, a truncated shard) resumes to final files
//     byte-identical to an uninterrupted run's, and a finished run is not redone;
//   * with vad, the embedding is the model's forward on the voiced frames only (the frame
//     mapping hand-derived from the frame centres);
//   * unreadable audio, a missing experiment or checkpoint give an Error naming the culprit.
#include "speakernet/inference/embedding_extractor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <random>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/augmentation/vad.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/test_util.h"
#include "speakernet/features/fbank.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/state_dict.h"
#include "speakernet/training/checkpointer.h"
#include "speakernet/training/experiment.h"
#include "speakernet/training/toy_experiment_test_util.h"
#include "speakernet/training/trainer.h"

namespace speakernet {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using test::MakeToyData;
using test::ToyWave;

TrainConfig TinyConfig() {
  TrainConfig c = test::TinyTrainConfig();
  c.loader.num_workers = 1;
  c.trainer.epochs = 1;
  c.trainer.report_interval_iters = 100;
  return c;
}

ExtractConfig Cfg(int64_t max_frames = 10000, bool npy = false) {
  ExtractConfig c;
  c.max_frames = max_frames;
  c.write_npy = npy;
  c.num_workers = 2;
  return c;
}

RuntimeConfig Cpu() {
  RuntimeConfig r;
  r.threads = 1;
  return r;
}

// The message of the Error that f throws, or "<no error>".
std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

float MaxAbsDiff(const std::vector<float>& a, const torch::Tensor& b) {
  EXPECT_EQ(static_cast<int64_t>(a.size()), b.numel());
  const torch::Tensor ta = torch::tensor(a);
  return (ta - b.reshape({-1}).to(torch::kCPU)).abs().max().item<float>();
}

// The experiment is trained once for the whole suite.
class ExtractorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::ScratchDir("sn_extractor");
    data_ = MakeToyData(*dir_);
    exp_ = *dir_ / "exp";
    Trainer(TinyConfig(), data_, exp_).Run();
    checkpoint_ = Checkpointer(exp_, 1).Latest().value();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // The reference model: built from the config this test trained with, weights read directly
  // from the checkpoint's model.pt (strictly: every model parameter and buffer must be there;
  // the classifier's "loss." entries are left out), in eval mode.
  static std::shared_ptr<SpeakerModel> ReferenceModel() {
    auto model = CreateModel(TinyConfig().model);
    StateDict model_part;
    for (const auto& kv : LoadStateDictFile(checkpoint_ + "/model.pt")) {
      if (kv.first.rfind("loss.", 0) != 0) model_part.push_back(kv);
    }
    LoadStateDict(*model, model_part, "", /*strict=*/true);
    model->eval();
    return model;
  }

  // [1, bins, frames] fbank of the whole utterance (CMN over all of it).
  static torch::Tensor WholeFbank(const std::vector<float>& wave) {
    const Fbank fbank(TinyConfig().features.fbank);
    const torch::Tensor x = torch::tensor(wave).unsqueeze(0);
    return fbank(x, /*training=*/false);
  }

  static test::ScratchDir* dir_;
  static std::string data_, exp_, checkpoint_;
};

test::ScratchDir* ExtractorTest::dir_ = nullptr;
std::string ExtractorTest::data_, ExtractorTest::exp_, ExtractorTest::checkpoint_;

TEST_F(ExtractorTest, WholeUtteranceEqualsModelForwardOnCheckpointWeights) {
  const EmbeddingExtractor extractor(exp_, Cfg(), Cpu());
  EXPECT_EQ(extractor.checkpoint(), checkpoint_);
  EXPECT_EQ(extractor.dim(), 16);
  EXPECT_EQ(extractor.sample_rate(), 16000);

  auto model = ReferenceModel();
  auto fresh = CreateModel(TinyConfig().model);  // same architecture, not trained
  fresh->eval();
  torch::NoGradGuard no_grad;
  // A training utterance and an unseen, longer one (3.2 s, 321 frames).
  for (const auto& wave : {ReadAudio(*dir_ / "spk1-u2.wav"), ToyWave(2, 9, 51200, 99)}) {
    const std::vector<float> emb = extractor.Extract(wave);
    const torch::Tensor feats = WholeFbank(wave);
    ASSERT_EQ(feats.size(1), 80);
    const torch::Tensor ref = model->forward(feats);
    ASSERT_EQ(ref.sizes(), (std::vector<int64_t>{1, 16}));
    EXPECT_LE(MaxAbsDiff(emb, ref), 1e-5f) << "frames " << feats.size(2);
    // The checkpoint matters: an untrained model gives something else.
    EXPECT_GT(MaxAbsDiff(emb, fresh->forward(feats)), 1e-2f);
  }
}

// speaker-net's for_extract_embedding: num_split = ceil(N / max), split_size =
// ceil(N / num_split); num_split - 1 pieces of split_size, then the rest; embeddings weighted by
// their frame counts. Returns the reference and the piece lengths used.
torch::Tensor SpeakerNetSplitReference(SpeakerModel& model, const torch::Tensor& feats,
                                       int64_t max_frames, std::vector<int64_t>* lengths) {
  const int64_t n = feats.size(2);
  const int64_t num_split = (n + max_frames - 1) / max_frames;
  const int64_t split_size = (n - 1) / num_split + 1;
  torch::Tensor acc = torch::zeros({1, model.EmbeddingDim()});
  int64_t offset = 0;
  for (int64_t i = 0; i < num_split - 1; ++i) {
    acc = acc + split_size * model.forward(feats.slice(2, offset, offset + split_size));
    lengths->push_back(split_size);
    offset += split_size;
  }
  acc = acc + (n - offset) * model.forward(feats.slice(2, offset, n));
  lengths->push_back(n - offset);
  return acc / static_cast<double>(n);
}

TEST_F(ExtractorTest, LongUtteranceIsFrameWeightedMeanOfEqualPieces) {
  auto model = ReferenceModel();
  torch::NoGradGuard no_grad;
  struct Case {
    int64_t samples, max_frames;
    std::vector<int64_t> pieces;  // hand-derived: N = 1 + samples / 160
  };
  const std::vector<Case> cases = {
      {24000, 50, {38, 38, 38, 37}},   // N = 151: 4 pieces of ceil(151/4) = 38, rest 37
      {24000, 75, {51, 51, 49}},       // N = 151: 3 pieces of 51, rest 49
      {24000, 150, {76, 75}},          // N = 151 = max + 1: 2 pieces
      {51200, 100, {81, 81, 81, 78}},  // N = 321: 4 pieces of 81, rest 78
      {48000, 100, {76, 76, 76, 73}},  // N = 301: 4 pieces of 76, rest 73
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("samples " + std::to_string(c.samples) + ", max_frames " +
                 std::to_string(c.max_frames));
    const std::vector<float> wave = ToyWave(1, 5, c.samples, 1234);
    const torch::Tensor feats = WholeFbank(wave);
    std::vector<int64_t> lengths;
    const torch::Tensor ref = SpeakerNetSplitReference(*model, feats, c.max_frames, &lengths);
    EXPECT_EQ(lengths, c.pieces);

    const std::vector<float> split =
        EmbeddingExtractor(exp_, Cfg(c.max_frames), Cpu()).Extract(wave);
    EXPECT_LE(MaxAbsDiff(split, ref), 1e-5f);
    // Splitting changes the result (the comparison is not vacuous) ...
    EXPECT_GT(MaxAbsDiff(split, model->forward(feats)), 1e-4f);
  }
  // ... and an utterance of exactly max_frames frames is not split.
  const std::vector<float> wave = ToyWave(0, 1, 24000, 55);
  const std::vector<float> at_limit = EmbeddingExtractor(exp_, Cfg(151), Cpu()).Extract(wave);
  EXPECT_LE(MaxAbsDiff(at_limit, model->forward(WholeFbank(wave))), 1e-5f);
}

TEST_F(ExtractorTest, DataDirEmbeddingsReadBackEqualToExtract) {
  const EmbeddingExtractor extractor(exp_, Cfg(60, true), Cpu());  // exercise the split path too
  const DataDir data = DataDir::Load(data_);
  const std::string out = *dir_ / "emb";
  EXPECT_TRUE(ExtractDataDir(extractor, data, out).complete);

  const auto scp = kaldi::ReadScp(out + "/embeddings.scp");
  ASSERT_EQ(scp.size(), data.utterances().size());
  const kaldi::FloatMatrix npy = kaldi::ReadNpy(out + "/embeddings.npy");
  ASSERT_EQ(npy.rows, data.NumUtterances());
  ASSERT_EQ(npy.cols, 16);
  std::ifstream utts(out + "/utts.txt");
  for (size_t i = 0; i < scp.size(); ++i) {
    const Utterance& utt = data.utterances()[i];
    SCOPED_TRACE(utt.id);
    EXPECT_EQ(scp[i].first, utt.id);
    const std::vector<float> from_ark = kaldi::ReadVector(scp[i].second);
    const std::vector<float> direct = extractor.Extract(ReadAudio(utt.wav));
    EXPECT_EQ(from_ark, direct);
    const std::vector<float> row(npy.data.begin() + static_cast<int64_t>(i) * npy.cols,
                                 npy.data.begin() + static_cast<int64_t>(i + 1) * npy.cols);
    EXPECT_EQ(row, direct);
    std::string line;
    ASSERT_TRUE(std::getline(utts, line));
    EXPECT_EQ(line, utt.id);
  }
  std::string extra;
  EXPECT_FALSE(std::getline(utts, extra)) << "utts.txt has more lines than utterances";
}

TEST_F(ExtractorTest, UnreadableUtteranceIsAnErrorNamingIt) {
  const std::string data = *dir_ / "bad_data";
  fs::create_directories(data);
  const std::string corrupt = *dir_ / "corrupt.wav";
  {
    std::ofstream f(corrupt, std::ios::binary);
    f << "RIFF\x10\x00\x00\x00WAVEjunkjunkjunkjunk";
  }
  {
    std::ofstream wav_scp(data + "/wav.scp");
    wav_scp << "good-utt " << (*dir_ / "spk0-u0.wav") << "\n";
    wav_scp << "broken-utt " << corrupt << "\n";
  }
  const EmbeddingExtractor extractor(exp_, Cfg(10000, true), Cpu());
  const std::string out = *dir_ / "bad_emb";
  const DataDir bad = DataDir::Load(data);
  const std::string error = ErrorOf([&] { ExtractDataDir(extractor, bad, out); });
  EXPECT_THAT(error, HasSubstr("broken-utt"));
  EXPECT_THAT(error, HasSubstr(corrupt));
  // Nothing half-written is left under the final names.
  EXPECT_FALSE(fs::exists(out + "/embeddings.scp"));
  EXPECT_FALSE(fs::exists(out + "/embeddings.ark"));
  EXPECT_FALSE(fs::exists(out + "/embeddings.npy"));
}

// A data dir of utterances with repeated lengths: 151 frames (24000 samples, and 24100, which
// also gives 1 + 24100 / 160 = 151 frames), 201 frames (32000), 101 frames (16000) and one long
// one (51200 samples, 321 frames). In a mixed order, so that sorting matters.
std::string MakeMixedLengthData(const test::ScratchDir& dir, const std::string& name) {
  const std::string data = dir / name;
  fs::create_directories(data);
  std::ofstream wav_scp(data + "/wav.scp");
  const int64_t lengths[] = {24000, 32000, 16000, 24000, 32000, 51200,
                             24100, 24000, 32000, 24000, 16000, 24000};
  for (int i = 0; i < 12; ++i) {
    const std::string id = fmt::format("utt{:02d}", i);
    const std::string path = dir / (name + "_" + id + ".wav");
    WriteWav(path, ToyWave(i % 3, i, lengths[i], 500 + i), 16000);
    wav_scp << id << " " << path << "\n";
  }
  return data;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST_F(ExtractorTest, BatchedEqualsOneByOne) {
  const DataDir data = DataDir::Load(MakeMixedLengthData(*dir_, "mixed"));
  ExtractConfig cfg = Cfg(300);  // the 321-frame utterance is split
  cfg.batch_size = 4;
  cfg.num_workers = 2;
  cfg.shard_size = 100;  // one shard: lengths 151 x 6 (two batches), 201 x 3, 101 x 2
  const EmbeddingExtractor extractor(exp_, cfg, Cpu());
  const std::string out = *dir_ / "emb_batched";
  const ExtractStats stats = ExtractDataDir(extractor, data, out);
  EXPECT_TRUE(stats.complete);
  EXPECT_EQ(stats.utterances, 12);
  // Batches: 101 x2 -> 1, 151 x6 -> 4 + 2, 201 x3 -> 1, the 321-frame one -> 2 pieces.
  EXPECT_EQ(stats.largest_batch, 4);
  EXPECT_EQ(stats.forward_passes, 1 + 2 + 1 + 2);

  const auto scp = kaldi::ReadScp(out + "/embeddings.scp");
  ASSERT_EQ(scp.size(), 12u);
  const EmbeddingExtractor one_by_one(exp_, Cfg(300), Cpu());
  float worst = 0;
  for (size_t i = 0; i < scp.size(); ++i) {
    const Utterance& utt = data.utterances()[i];
    EXPECT_EQ(scp[i].first, utt.id);  // data-dir order, not length order
    const std::vector<float> batched = kaldi::ReadVector(scp[i].second);
    const std::vector<float> single = one_by_one.Extract(ReadAudio(utt.wav));
    const float diff = MaxAbsDiff(batched, torch::tensor(single));
    // Float rounding only (a different batch size takes other GEMM/conv blockings): relative
    // to the embedding's size. Padding or an utterance mix-up would be off by > 1e-2.
    const float scale = std::max(1.f, torch::tensor(single).abs().max().item<float>());
    EXPECT_LE(diff, 1e-5f * scale) << utt.id;
    worst = std::max(worst, diff / scale);
  }
  std::cout << "batched vs one-by-one: max |diff| / max(1, max |emb|) = " << worst << "\n";

  // The references are distinct (a mix-up of utterances inside a batch would show).
  EXPECT_GT(
      MaxAbsDiff(kaldi::ReadVector(scp[0].second), torch::tensor(kaldi::ReadVector(scp[3].second))),
      1e-3f);
}

TEST_F(ExtractorTest, InterruptedRunResumesToIdenticalOutput) {
  const DataDir data = DataDir::Load(MakeMixedLengthData(*dir_, "resume"));
  ExtractConfig cfg = Cfg(300, /*npy=*/true);
  cfg.batch_size = 3;
  cfg.shard_size = 5;  // shards of 5, 5, 2 utterances
  const std::string out = *dir_ / "emb_resume";

  // The uninterrupted reference.
  {
    const ExtractStats s = ExtractDataDir(EmbeddingExtractor(exp_, cfg, Cpu()), data, out);
    EXPECT_TRUE(s.complete);
    EXPECT_EQ(s.shards_done, 3);
  }
  const std::string ark = ReadBytes(out + "/embeddings.ark"),
                    scp = ReadBytes(out + "/embeddings.scp"),
                    npy = ReadBytes(out + "/embeddings.npy");
  EXPECT_FALSE(fs::exists(out + "/shards")) << "shards are removed once merged";
  fs::remove_all(out);

  // Interrupted after one shard: no final files yet, the first shard is there.
  cfg.stop_after_shards = 1;
  {
    const ExtractStats s = ExtractDataDir(EmbeddingExtractor(exp_, cfg, Cpu()), data, out);
    EXPECT_FALSE(s.complete);
    EXPECT_EQ(s.shards_done, 1);
    EXPECT_EQ(s.utterances, 5);
  }
  EXPECT_FALSE(fs::exists(out + "/embeddings.scp"));
  EXPECT_FALSE(fs::exists(out + "/embeddings.ark"));
  EXPECT_TRUE(fs::exists(out + "/shards/shard-00000.ark"));
  // Again: the first shard is skipped, the second done.
  {
    const ExtractStats s = ExtractDataDir(EmbeddingExtractor(exp_, cfg, Cpu()), data, out);
    EXPECT_EQ(s.shards_skipped, 1);
    EXPECT_EQ(s.shards_done, 1);
  }
  // A crash damaged the second shard (truncated), and a temporary was left behind.
  const std::string shard1 = out + "/shards/shard-00001.ark";
  fs::resize_file(shard1, fs::file_size(shard1) / 2);
  std::ofstream(out + "/shards/shard-00002.ark.tmp.123") << "garbage";
  cfg.stop_after_shards = 0;
  {
    const ExtractStats s = ExtractDataDir(EmbeddingExtractor(exp_, cfg, Cpu()), data, out);
    EXPECT_TRUE(s.complete);
    EXPECT_EQ(s.shards_skipped, 1);  // shard 0 only; the truncated one is redone
    EXPECT_EQ(s.shards_done, 2);
    EXPECT_EQ(s.utterances, 7);
  }
  EXPECT_EQ(ReadBytes(out + "/embeddings.ark"), ark);
  EXPECT_EQ(ReadBytes(out + "/embeddings.scp"), scp);
  EXPECT_EQ(ReadBytes(out + "/embeddings.npy"), npy);

  // Finished: a re-run does nothing ...
  {
    const ExtractStats s = ExtractDataDir(EmbeddingExtractor(exp_, cfg, Cpu()), data, out);
    EXPECT_TRUE(s.up_to_date);
    EXPECT_EQ(s.utterances, 0);
  }
  // ... unless something that changes the embeddings changed.
  cfg.max_frames = 100;
  {
    const ExtractStats s = ExtractDataDir(EmbeddingExtractor(exp_, cfg, Cpu()), data, out);
    EXPECT_FALSE(s.up_to_date);
    EXPECT_EQ(s.utterances, 12);
  }
  EXPECT_NE(ReadBytes(out + "/embeddings.ark"), ark);
}

TEST_F(ExtractorTest, VadDropsNonSpeechFramesBeforeTheModel) {
  // 0.5 s of digital silence, 1.5 s of toy speech, 0.5 s of silence.
  std::vector<float> wave(8000, 0.f);
  const std::vector<float> speech = ToyWave(1, 2, 24000, 77);
  wave.insert(wave.end(), speech.begin(), speech.end());
  wave.insert(wave.end(), 8000, 0.f);
  ExtractConfig cfg = Cfg();
  cfg.vad = true;
  const std::vector<float> with_vad = EmbeddingExtractor(exp_, cfg, Cpu()).Extract(wave);
  const std::vector<float> without = EmbeddingExtractor(exp_, Cfg(), Cpu()).Extract(wave);

  // Reference: Kaldi VAD frames j (25 ms every 10 ms, snip edges) have centres at 160 j + 200;
  // fbank frame t is centred on 160 t, so it takes VAD frame round(t - 1.25) = t - 1 (frame 0
  // takes VAD frame 0; frames past the last VAD frame take the last one).
  const std::vector<bool> voiced =
      ComputeVad(FrameLogEnergies(wave.data(), static_cast<int64_t>(wave.size())), VadConfig{});
  const torch::Tensor feats = WholeFbank(wave);  // [1, 80, 1 + 40000 / 160]
  ASSERT_EQ(feats.size(2), 251);
  ASSERT_EQ(voiced.size(), 248u);  // (40000 - 400) / 160 + 1
  std::vector<int64_t> keep;
  for (int64_t t = 0; t < 251; ++t) {
    const int64_t j = std::clamp<int64_t>(t - 1, 0, 247);
    if (voiced[j]) keep.push_back(t);
  }
  // Silence is dropped: about 150 speech frames of 251 survive.
  EXPECT_GT(keep.size(), 140u);
  EXPECT_LT(keep.size(), 165u);
  auto model = ReferenceModel();
  torch::NoGradGuard no_grad;
  const torch::Tensor ref = model->forward(feats.index_select(2, torch::tensor(keep)));
  EXPECT_LE(MaxAbsDiff(with_vad, ref), 1e-5f);
  EXPECT_LE(MaxAbsDiff(without, model->forward(feats)), 1e-5f);
  EXPECT_GT(MaxAbsDiff(with_vad, model->forward(feats)), 1e-3f) << "VAD changed nothing";

  // All silence: nothing is voiced, the utterance is used whole instead of failing.
  const std::vector<float> silence(16000, 0.f);
  EXPECT_EQ(EmbeddingExtractor(exp_, cfg, Cpu()).Extract(silence),
            EmbeddingExtractor(exp_, Cfg(), Cpu()).Extract(silence));
}

// --precision bf16: the model runs under bfloat16 autocast. Its embedding is near fp32's (the
// convolutions' inputs keep 8 significant bits) but not equal to it (autocast really applied),
// and fp32 is untouched by a bf16 run before it (the autocast state is restored).
TEST_F(ExtractorTest, Bf16PrecisionStaysCloseToFp32) {
  ExtractConfig bf16_cfg = Cfg();
  bf16_cfg.precision = "bf16";
  const EmbeddingExtractor fp32(exp_, Cfg(), Cpu()), bf16(exp_, bf16_cfg, Cpu());
  const std::vector<float> wave = ToyWave(2, 9, 51200, 99);
  const std::vector<float> before = fp32.Extract(wave);
  const std::vector<float> low = bf16.Extract(wave);
  EXPECT_EQ(fp32.Extract(wave), before);
  const auto a = torch::tensor(before), b = torch::tensor(low);
  EXPECT_GT(torch::cosine_similarity(a, b, 0).item<double>(), 0.99);
  EXPECT_GT((a - b).abs().max().item<double>(), 0.0);
  bf16_cfg.precision = "fp16";
  EXPECT_THROW(
      {
        try {
          EmbeddingExtractor(exp_, bf16_cfg, Cpu());
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), ::testing::HasSubstr("precision"));
          throw;
        }
      },
      Error);
}

TEST_F(ExtractorTest, MissingExperimentOrCheckpointIsAClearError) {
  const std::string missing = *dir_ / "no_such_exp";
  EXPECT_THAT(ErrorOf([&] { EmbeddingExtractor(missing, Cfg(), Cpu()); }), HasSubstr(missing));

  // An experiment directory whose training never wrote a checkpoint.
  const std::string empty = *dir_ / "exp_without_ckpt";
  fs::create_directories(empty);
  fs::copy_file(Experiment(exp_).ConfigPath(), Experiment(empty).ConfigPath());
  const std::string no_ckpt = ErrorOf([&] { EmbeddingExtractor(empty, Cfg(), Cpu()); });
  EXPECT_THAT(no_ckpt, HasSubstr(empty));
  EXPECT_THAT(no_ckpt, HasSubstr("no checkpoint"));

  // An explicit checkpoint that does not exist.
  ExtractConfig c = Cfg();
  c.checkpoint = *dir_ / "exp/checkpoints/epoch-99";
  EXPECT_THAT(ErrorOf([&] { EmbeddingExtractor(exp_, c, Cpu()); }), HasSubstr(c.checkpoint));

  // An invalid max_frames is rejected up front (not a division by zero later).
  EXPECT_THAT(ErrorOf([&] { EmbeddingExtractor(exp_, Cfg(0), Cpu()); }), HasSubstr("max_frames"));
}

}  // namespace
}  // namespace speakernet
