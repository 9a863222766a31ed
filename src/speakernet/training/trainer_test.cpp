// Property tests of the training loop on a tiny model: a resumed run continues exactly as an
// uninterrupted one, and training reduces the loss.
#include "speakernet/training/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>

#include "speakernet/common/test_util.h"
#include "speakernet/losses/loss_factory.h"
#include "speakernet/losses/margin_softmax.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/training/checkpointer.h"
#include "speakernet/training/toy_experiment_test_util.h"

namespace speakernet {
namespace {

using test::MakeToyData;
constexpr auto TinyConfig = test::TinyTrainConfig;

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

// With speed perturbation, SpecAugment and a validation split the resume property still holds,
// the classifier has 3 x speakers rows and every epoch reports validation loss/accuracy.
TEST(Trainer, AugmentedRunWithValidationResumesExactly) {
  test::ScratchDir dir("sn_trainer_aug");
  const std::string data = MakeToyData(dir);
  TrainConfig c = TinyConfig();
  c.loader.augment.mode = "speed";
  c.loader.augment.spec_augment = true;
  c.loader.validation_speakers = 2;
  c.loader.validation_chunks_per_speaker = 1;
  c.loader.validation_batch_size = 2;
  const TrainSummary full = Trainer(c, data, dir / "full").Run();
  EXPECT_GE(full.valid_accuracy, 0.0);
  EXPECT_LE(full.valid_accuracy, 1.0);
  EXPECT_GT(full.valid_loss, 0.0);
  std::ifstream log(dir / "full/valid_log.csv");
  std::string line;
  int rows = 0;
  while (std::getline(log, line)) ++rows;
  EXPECT_EQ(rows, 1 + c.trainer.epochs);  // header + one row per epoch

  TrainConfig first = c;
  first.trainer.max_iters = 3;
  Trainer(first, data, dir / "split").Run();
  Trainer(c, data, dir / "split").Run("latest");
  const StateDict a = FinalModel(dir / "full");
  const StateDict b = FinalModel(dir / "split");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first << " differs after resume";
  }
  // 3 speakers x 3 speed classes in the classifier.
  const auto ckpt = Checkpointer(dir / "full", 1).Latest().value();
  bool found = false;
  for (const auto& [name, tensor] : Checkpointer::LoadModelState(ckpt)) {
    if (name == std::string(kClassifierPrefix) + "weight") {
      EXPECT_EQ(tensor.size(0), 9 * c.loss.K) << name;
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

// The language-paired sampler through the trainer: an epoch is one pass of the 36 chunk slots
// as first members (36 / (4 / 2) = 18 steps of 4 waveforms) and a run stopped mid-epoch resumes
// to the same model.
TEST(Trainer, PairedSamplerRunResumesExactly) {
  test::ScratchDir dir("sn_trainer_paired");
  const std::string data = MakeToyData(dir);
  {
    std::ofstream utt2lang(data + "/utt2lang");
    for (int s = 0; s < 3; ++s) {
      for (int u = 0; u < 4; ++u) {
        utt2lang << "spk" << s << "-u" << u << " " << (u < 2 ? "en" : "de") << "\n";
      }
    }
  }
  TrainConfig c = TinyConfig();
  c.loader.sampler = "paired";
  c.loader.paired_other_lang_prob = 0.8;
  c.loader.augment.mode = "speed";
  c.trainer.epochs = 1;
  const TrainSummary full = Trainer(c, data, dir / "full").Run();
  EXPECT_EQ(full.steps, 18);
  TrainConfig first = c;
  first.trainer.max_iters = 7;
  Trainer(first, data, dir / "split").Run();
  Trainer(c, data, dir / "split").Run("latest");
  const StateDict a = FinalModel(dir / "full");
  const StateDict b = FinalModel(dir / "split");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first << " differs after resume";
  }
}

// trainer.init_from (large-margin fine-tuning): every tensor, classifier included, is loaded
// exactly, from a checkpoint dir or its model.pt; a fine-tuned run starts from it (lower first
// loss than from scratch); a classifier of another shape is reported by key.
TEST(Trainer, InitFromLoadsEveryTensorExactly) {
  test::ScratchDir dir("sn_trainer_init_from");
  const std::string data = MakeToyData(dir);
  TrainConfig c = TinyConfig();
  c.trainer.epochs = 3;
  Trainer(c, data, dir / "pre").Run();
  const std::string ckpt = Checkpointer(dir / "pre", 1).Latest().value();
  const StateDict saved = Checkpointer::LoadModelState(ckpt);

  torch::manual_seed(12345);  // a fresh model whose tensors differ from the saved ones
  auto model = CreateModel(c.model);
  auto loss = MarginSoftmax(model->EmbeddingDim(), 3, c.loss);
  StateDict expected = GetStateDict(*model);
  for (auto& kv : GetStateDict(*loss, kClassifierPrefix)) expected.push_back(kv);
  for (const std::string& from : {ckpt, ckpt + "/model.pt"}) {
    const StateDict init = LoadInitWeights(from, expected);
    LoadStateDict(*model, WithoutClassifier(init));
    LoadStateDict(*loss, init, kClassifierPrefix);
    StateDict now = GetStateDict(*model);
    for (auto& kv : GetStateDict(*loss, kClassifierPrefix)) now.push_back(kv);
    ASSERT_EQ(now.size(), saved.size());
    int classifier = 0;
    for (size_t i = 0; i < now.size(); ++i) {
      EXPECT_EQ(now[i].first, saved[i].first);
      EXPECT_TRUE(torch::equal(now[i].second, saved[i].second)) << now[i].first;
      classifier += now[i].first.rfind(kClassifierPrefix, 0) == 0;
    }
    EXPECT_EQ(classifier, 1);
  }

  // Fine-tuning from it starts where pre-training ended: lower loss in the first interval.
  TrainConfig scratch = TinyConfig();
  scratch.trainer.epochs = 1;
  const double from_scratch = Trainer(scratch, data, dir / "scratch").Run().last_loss;
  TrainConfig ft = scratch;
  ft.trainer.init_from = ckpt;
  ft.optimizer.lr = 1e-3;
  const double fine_tuned = Trainer(ft, data, dir / "ft").Run().last_loss;
  EXPECT_LT(fine_tuned, from_scratch);
}

TEST(Trainer, InitFromReportsAMisShapedClassifierByKey) {
  test::ScratchDir dir("sn_trainer_init_bad");
  const std::string data = MakeToyData(dir);
  TrainConfig c = TinyConfig();
  c.trainer.epochs = 1;
  Trainer(c, data, dir / "pre").Run();
  TrainConfig ft = c;
  ft.trainer.init_from = Checkpointer(dir / "pre", 1).Latest().value();
  ft.trainer.target_num_multiplier = 3;  // 9 classes here, 3 in the pre-trained classifier
  try {
    Trainer(ft, data, dir / "ft").Run();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("key 'loss.weight' has shape [3, 16, 1] in the file but [9, 16, 1] in "
                       "this model"),
              std::string::npos)
        << msg;
  }
  ft.trainer.init_from = dir / "nowhere";
  EXPECT_THROW(Trainer(ft, data, dir / "ft2").Run(), Error);
}

// trainer.amp is CUDA fp16 (speaker-net's AMP); on CPU it is refused with a message naming the
// key, before anything is written.
TEST(Trainer, AmpOnCpuIsRefusedWithAClearMessage) {
  test::ScratchDir dir("sn_trainer_amp_cpu");
  const std::string data = MakeToyData(dir);
  TrainConfig c = TinyConfig();
  c.trainer.amp = true;
  try {
    Trainer(c, data, dir / "exp").Run();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("trainer.amp: true needs a CUDA device"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "exp/config.yaml"));
}

// Trains `c` uninterrupted in dir/NAME-full and stopped after `stop_after` steps, then resumed in
// a fresh Trainer, in dir/NAME-split; every final tensor must be bit-identical. Returns the
// uninterrupted run's summary.
TrainSummary ExpectExactResume(const TrainConfig& c, const std::string& data,
                               const test::ScratchDir& dir, const std::string& name,
                               int64_t stop_after) {
  const TrainSummary full = Trainer(c, data, dir / (name + "-full")).Run();
  TrainConfig first = c;
  first.trainer.max_iters = stop_after;
  Trainer(first, data, dir / (name + "-split")).Run();
  torch::manual_seed(999);  // the resumed run must not depend on the global RNG's state
  Trainer(c, data, dir / (name + "-split")).Run("latest");
  const StateDict a = FinalModel(dir / (name + "-full"));
  const StateDict b = FinalModel(dir / (name + "-split"));
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first << " differs after resume";
  }
  return full;
}

// loss.method softmax with label smoothing (speaker-net's SoftmaxLoss): a resumed run (with a
// validation split) ends bit-identical to an uninterrupted one; the classifier is saved under
// speaker-net's names; --init-from loads it exactly into a softmax run, and an am run reports
// the mismatch by key.
TEST(Trainer, SoftmaxLossResumesExactly) {
  test::ScratchDir dir("sn_trainer_softmax");
  const std::string data = MakeToyData(dir);
  TrainConfig c = TinyConfig();
  c.loss.method = "softmax";
  c.loss.softmax.label_smoothing = 0.1;
  c.loader.validation_speakers = 2;
  c.loader.validation_chunks_per_speaker = 1;
  c.loader.validation_batch_size = 2;
  const TrainSummary full = ExpectExactResume(c, data, dir, "sm", 5);
  EXPECT_GT(full.valid_loss, 0.0);

  const std::string ckpt = Checkpointer(dir / "sm-full", 1).Latest().value();
  std::vector<std::string> classifier;
  for (const auto& [name, tensor] : Checkpointer::LoadModelState(ckpt)) {
    if (name.rfind(kClassifierPrefix, 0) == 0) {
      classifier.push_back(name + c10::str(tensor.sizes()));
    }
  }
  EXPECT_EQ(classifier,
            (std::vector<std::string>{"loss.affine.weight[3, 16]", "loss.affine.bias[3]"}));

  auto model = CreateModel(c.model);
  auto loss = MakeClassifierLoss(c.loss, model->EmbeddingDim(), 3);
  StateDict expected = GetStateDict(*model);
  for (auto& kv : GetStateDict(*loss, kClassifierPrefix)) expected.push_back(kv);
  const StateDict init = LoadInitWeights(ckpt, expected);
  const StateDict saved = Checkpointer::LoadModelState(ckpt);
  ASSERT_EQ(init.size(), saved.size());
  for (size_t i = 0; i < init.size(); ++i) {
    EXPECT_TRUE(torch::equal(init[i].second, saved[i].second)) << init[i].first;
  }

  TrainConfig am = TinyConfig();
  am.trainer.init_from = ckpt;
  const std::string msg = test::ErrorOf([&] { Trainer(am, data, dir / "am").Run(); });
  EXPECT_NE(msg.find("missing key 'loss.weight' (a classifier of another loss.method?)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("unexpected key 'loss.affine.bias'"), std::string::npos) << msg;
}

// features.type kaldi_fbank (speaker-net's resnet101 front end, 81-d with the log energy), with
// dither on so that the resumed run must also restore the dither stream: exact resume.
TEST(Trainer, KaldiFrontEndResumesExactly) {
  test::ScratchDir dir("sn_trainer_kaldi");
  const std::string data = MakeToyData(dir);
  TrainConfig c = TinyConfig();
  c.features.type = "kaldi_fbank";
  c.features.kaldi.dither = 1.0;
  c.model.feat_dim = 81;
  c.Validate();
  ExpectExactResume(c, data, dir, "kaldi", 5);
}

// adam, adamw and radam keep per-parameter moments and step counts: a run stopped mid-epoch and
// resumed ends bit-identical to an uninterrupted one (the moments travel in optimizer.pt).
TEST(Trainer, AdaptiveOptimizersResumeExactly) {
  test::ScratchDir dir("sn_trainer_optimizers");
  const std::string data = MakeToyData(dir);
  for (const std::string name : {"adam", "adamw", "radam"}) {
    TrainConfig c = TinyConfig();
    c.optimizer.name = name;
    c.optimizer.lr = 0.01;
    c.optimizer.weight_decay = name == "adamw" ? 0.01 : 2e-5;
    const TrainSummary full = ExpectExactResume(c, data, dir, name, 7);
    EXPECT_GT(full.steps, 7) << name;
  }
}

// Every lr schedule beyond multistep, stopped mid-schedule and resumed: bit-identical to the
// uninterrupted run. reduce_on_plateau (on the validation loss, a threshold no result meets after
// the first) halves the lr after the validations of epochs 2 and 3; its state is in scheduler.pt
// and the run stopped in epoch 2 only continues correctly if it was restored.
TEST(Trainer, EveryLrScheduleResumesExactly) {
  test::ScratchDir dir("sn_trainer_schedules");
  const std::string data = MakeToyData(dir);
  const auto with = [](const std::string& name) {
    TrainConfig c = TinyConfig();  // 2 epochs of 9 iterations
    c.lr_schedule.name = name;
    c.lr_schedule.warmup_epoch = "0.2";
    return c;
  };
  TrainConfig iter_multistep = with("iter_multistep");
  iter_multistep.lr_schedule.milestones = {4, 11};
  TrainConfig step = with("step");
  step.lr_schedule.step = {1, 0.5};
  TrainConfig cyclic = with("cyclic");
  cyclic.lr_schedule.cyclic.base_lr = 1e-4;
  cyclic.lr_schedule.cyclic.step_size_up = 5;
  TrainConfig onecycle = with("onecycle");
  for (const TrainConfig& c : {iter_multistep, step, cyclic, onecycle}) {
    ExpectExactResume(c, data, dir, c.lr_schedule.name, 7);
  }

  TrainConfig plateau = with("reduce_on_plateau");
  plateau.trainer.epochs = 3;
  plateau.loader.validation_speakers = 2;
  plateau.loader.validation_chunks_per_speaker = 1;
  plateau.loader.validation_batch_size = 2;
  plateau.lr_schedule.reduce_on_plateau = {"valid_loss", 0.5, 0, 100.0, "abs", 0, 1e-6, 1e-8};
  ExpectExactResume(plateau, data, dir, "plateau", 13);
  const std::string last = Checkpointer(dir / "plateau-split", 1).Latest().value();
  const StateDict state = LoadStateDictFile(last + "/scheduler.pt");
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0].first, "reduce_on_plateau");
  EXPECT_DOUBLE_EQ(state[0].second[0].item<double>(), plateau.optimizer.lr * 0.25);
  EXPECT_EQ(state[0].second[4].item<double>(), 3);  // three validations

  TrainConfig no_split = with("reduce_on_plateau");
  EXPECT_NE(test::ErrorOf([&] { Trainer(no_split, data, dir / "none").Run(); })
                .find("reduce_on_plateau needs a validation split"),
            std::string::npos);
}

// trainer.valid_interval_iters: speaker-net's validation after iterations 0, N, 2N, ... of each
// epoch besides its end; with the validation split an epoch has 7 iterations here, so N = 4
// validates after iterations 0, 4 and 6 (the end) of both epochs. A run stopped between two validations resumes exactly, also with
// reduce_on_plateau stepped by the mid-epoch validations.
TEST(Trainer, ValidIntervalValidatesEveryNIterationsAndResumesExactly) {
  test::ScratchDir dir("sn_trainer_valid_interval");
  const std::string data = MakeToyData(dir);
  TrainConfig c = TinyConfig();
  c.loader.validation_speakers = 2;
  c.loader.validation_chunks_per_speaker = 1;
  c.loader.validation_batch_size = 2;
  c.trainer.valid_interval_iters = 4;
  ExpectExactResume(c, data, dir, "interval", 6);
  std::ifstream log(dir / "interval-full/valid_log.csv");
  std::string line;
  std::getline(log, line);
  EXPECT_EQ(line, "epoch,global_step,valid_loss,valid_accuracy,chunks");
  std::vector<std::string> positions;
  while (std::getline(log, line)) positions.push_back(line.substr(0, line.find(',', 2)));
  EXPECT_EQ(positions, (std::vector<std::string>{"1,1", "1,5", "1,7", "2,8", "2,12", "2,14"}));

  c.lr_schedule.name = "reduce_on_plateau";
  c.lr_schedule.reduce_on_plateau = {"valid_loss", 0.5, 0, 100.0, "abs", 0, 1e-6, 1e-8};
  ExpectExactResume(c, data, dir, "plateau", 6);
  const std::string last = Checkpointer(dir / "plateau-split", 1).Latest().value();
  const StateDict state = LoadStateDictFile(last + "/scheduler.pt");
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0].second[4].item<double>(), 6);  // six validations, five of them reductions
  EXPECT_DOUBLE_EQ(state[0].second[0].item<double>(), c.optimizer.lr / 32);
}

}  // namespace
}  // namespace speakernet
