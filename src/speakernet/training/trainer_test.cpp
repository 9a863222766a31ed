// Property tests of the training loop on a tiny model: a resumed run continues exactly as an
// uninterrupted one, and training reduces the loss.
#include "speakernet/training/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <random>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/common/test_util.h"
#include "speakernet/training/checkpointer.h"

namespace speakernet {
namespace {

// 3 "speakers", each a distinct harmonic tone plus noise, 4 utterances of 1.5 s.
std::string MakeToyData(const test::ScratchDir& dir) {
  const std::string data = dir / "data";
  std::filesystem::create_directories(data);
  std::ofstream wav_scp(data + "/wav.scp"), utt2spk(data + "/utt2spk");
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.f, 0.02f);
  const double f0[3] = {140.0, 220.0, 330.0};
  for (int s = 0; s < 3; ++s) {
    for (int u = 0; u < 4; ++u) {
      std::vector<float> x(24000);
      for (size_t i = 0; i < x.size(); ++i) {
        const double t = static_cast<double>(i) / 16000.0;
        x[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * f0[s] * (1 + 0.01 * u) * t) +
                                  0.1 * std::sin(2 * M_PI * 3 * f0[s] * t)) +
               noise(rng);
      }
      const std::string id = "spk" + std::to_string(s) + "-u" + std::to_string(u);
      const std::string path = dir / (id + ".wav");
      WriteWav(path, x, 16000);
      wav_scp << id << " " << path << "\n";
      utt2spk << id << " spk" << s << "\n";
    }
  }
  return data;
}

TrainConfig TinyConfig() {
  TrainConfig c;
  c.runtime.threads = 1;
  c.loader.batch_size = 4;
  c.loader.chunk_seconds = 0.5;
  c.loader.num_workers = 2;
  c.model.resnet.layers = {1, 1, 1, 1};
  c.model.resnet.planes = {4, 8, 8, 8};
  c.model.pooling.num_head = 2;
  c.model.emb_dim = 16;
  c.loss.s = 10;
  c.margin_schedule.enabled = false;
  c.optimizer.lr = 0.05;
  c.lr_schedule.warmup_epoch = "0.3";
  c.lr_schedule.milestones = {1};
  c.trainer.epochs = 2;
  c.trainer.report_interval_iters = 4;
  c.trainer.ckpt_interval_minutes = 0;
  return c;
}

StateDict FinalModel(const std::string& exp) {
  return Checkpointer::LoadModelState(Checkpointer(exp, 1).Latest().value());
}

TEST(Trainer, ResumedRunEqualsUninterruptedRun) {
  test::ScratchDir dir("sn_trainer_resume");
  const std::string data = MakeToyData(dir);

  Trainer(TinyConfig(), data, dir / "full").Run();

  TrainConfig first = TinyConfig();
  first.trainer.max_iters = 5;  // stops mid-epoch 1 with a periodic checkpoint
  const TrainSummary part = Trainer(first, data, dir / "split").Run();
  EXPECT_EQ(part.steps, 5);
  EXPECT_EQ(Checkpointer::ReadPosition(part.last_checkpoint).batch, 5);
  // Resume in a fresh Trainer (fresh model init, different global RNG use).
  torch::manual_seed(999);
  torch::randn({100});
  Trainer(TinyConfig(), data, dir / "split").Run("latest");

  const StateDict a = FinalModel(dir / "full");
  const StateDict b = FinalModel(dir / "split");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first << " differs after resume";
  }
  EXPECT_EQ(Checkpointer::ReadPosition(Checkpointer(dir / "split", 1).Latest().value()).global_step,
            Checkpointer::ReadPosition(Checkpointer(dir / "full", 1).Latest().value()).global_step);
}

TEST(Trainer, RefusesToOverwriteAnExperimentWithoutResume) {
  test::ScratchDir dir("sn_trainer_refuse");
  const std::string data = MakeToyData(dir);
  TrainConfig c = TinyConfig();
  c.trainer.epochs = 1;
  Trainer(c, data, dir / "exp").Run();
  EXPECT_THROW(Trainer(c, data, dir / "exp").Run(), Error);
}

TEST(Trainer, LossDecreasesOnSeparableToyData) {
  test::ScratchDir dir("sn_trainer_learns");
  const std::string data = MakeToyData(dir);
  TrainConfig c = TinyConfig();
  c.trainer.epochs = 1;
  c.trainer.report_interval_iters = 100;
  const double first = Trainer(c, data, dir / "short").Run().last_loss;
  c.trainer.epochs = 6;
  const TrainSummary longer = Trainer(c, data, dir / "long").Run();
  EXPECT_LT(longer.last_loss, first);
  EXPECT_GT(longer.last_accuracy, 0.6);
}

}  // namespace
}  // namespace speakernet
