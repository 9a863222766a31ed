// The shipped recipe configs stay loadable and describe speaker-net's models (spec §3.8 counts).
#include "speakernet/training/train_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "speakernet/common/test_util.h"
#include "speakernet/models/speaker_model.h"

namespace speakernet {
namespace {

// Encoder parameters without the classifier (spec §3.8; "loss" not in the name), per config of
// recipes/voxceleb/conf/, and the re-parameterised count of the RepVGG ones (0 = not RepVGG).
struct ExpectedCount {
  int64_t train = 0;
  int64_t deploy = 0;
};

const std::map<std::string, ExpectedCount>& ExpectedCounts() {
  constexpr ExpectedCount kEcapa512{6387392}, kEcapa1024{23514368}, kResNet32{6636448},
      kResNet64{26523456}, kRepVgg{27291904, 25053248}, kResNet101{65579072};
  static const std::map<std::string, ExpectedCount> counts{
      // speaker-net's 15 recipes (hparams/<stem>.yaml)
      {"ecapa-tdnn-c1024_sgd.yaml", kEcapa1024},
      {"ecapa-tdnn-c1024_sgd_lm.yaml", kEcapa1024},
      {"ecapa-tdnn-c512_adam.yaml", kEcapa512},
      {"ecapa-tdnn-c512_sgd.yaml", kEcapa512},
      {"ecapa-tdnn-c512_sgd_balanced.yaml", kEcapa512},
      {"ecapa-tdnn-c512_sgd_lm.yaml", kEcapa512},
      {"ecapa-tdnn-c512_sgd_paired.yaml", kEcapa512},
      {"repvgg-B1.yaml", kRepVgg},
      {"repvgg-B1_lm.yaml", kRepVgg},
      {"resnet101.yaml", kResNet101},
      {"resnet34-32.yaml", kResNet32},
      {"resnet34-32_lm.yaml", kResNet32},
      {"resnet34-32_paired.yaml", kResNet32},
      {"resnet34-64.yaml", kResNet64},
      {"resnet34-64_lm.yaml", kResNet64},
      // the spec's other counted variants
      {"ecapa-tdnn-c512-emb192.yaml", {6190720}},
      {"xvector.yaml", {4619668}},
      // earlier names, kept as links to the speaker-net-named files
      {"ecapa-tdnn-c1024.yaml", kEcapa1024},
      {"ecapa-tdnn-c512.yaml", kEcapa512},
      {"ecapa-tdnn-c512_lm.yaml", kEcapa512},
  };
  return counts;
}

TEST(TrainConfig, EveryVoxCelebRecipeConfigHasSpeakerNetsParameterCount) {
  const std::filesystem::path dir = test::SourcePath("recipes/voxceleb/conf");
  std::set<std::string> seen;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".yaml") continue;
    seen.insert(file);
    const auto expected = ExpectedCounts().find(file);
    ASSERT_NE(expected, ExpectedCounts().end())
        << file << " has no expected parameter count in this test: add it (spec §3.8)";
    TrainConfig c = LoadTrainConfig(entry.path().string(), {});
    EXPECT_NO_THROW(c.Validate()) << file;  // front end, sampler and model agree
    EXPECT_EQ(CountParameters(*CreateModel(c.model)), expected->second.train) << file;
    if (c.model.type == "repvgg") {
      c.model.repvgg.deploy = true;
      EXPECT_EQ(CountParameters(*CreateModel(c.model)), expected->second.deploy) << file;
    } else {
      EXPECT_EQ(expected->second.deploy, 0) << file << " is not RepVGG";
    }
  }
  for (const auto& [file, count] : ExpectedCounts()) {
    EXPECT_TRUE(seen.count(file)) << "recipes/voxceleb/conf/" << file << " is missing";
  }
}

// The settings that differ between speaker-net's recipes reach the config structs.
TEST(TrainConfig, VoxCelebRecipeConfigsCarrySpeakerNetsSettings) {
  const auto load = [](const std::string& stem) {
    return LoadTrainConfig(test::SourcePath("recipes/voxceleb/conf/" + stem + ".yaml"), {});
  };
  const TrainConfig r32 = load("resnet34-32");
  EXPECT_EQ(r32.loader.batch_size, 256);
  EXPECT_EQ(r32.lr_schedule.milestones, (std::vector<int64_t>{15, 25, 35}));
  EXPECT_TRUE(r32.trainer.amp);
  EXPECT_EQ(r32.loader.augment.mode, "chain");
  const TrainConfig lm = load("resnet34-64_lm");
  EXPECT_DOUBLE_EQ(lm.optimizer.lr, 1e-4);  // 5e-5 x 2 GPUs
  EXPECT_DOUBLE_EQ(lm.loader.chunk_seconds, 6.0);
  EXPECT_DOUBLE_EQ(lm.loader.drop_last_seconds, 0.6);
  EXPECT_EQ(lm.loader.augment.mode, "random");
  EXPECT_EQ(lm.loss.method, "aam");
  EXPECT_FALSE(lm.margin_schedule.enabled);
  EXPECT_EQ(lm.trainer.target_num_multiplier, 3);
  const TrainConfig ecapa = load("ecapa-tdnn-c512_sgd");
  EXPECT_FALSE(ecapa.trainer.amp);
  EXPECT_FALSE(ecapa.runtime.deterministic);
  EXPECT_EQ(ecapa.trainer.valid_interval_iters, 1000);

  const TrainConfig adam = load("ecapa-tdnn-c512_adam");
  EXPECT_EQ(adam.optimizer.name, "adam");
  EXPECT_DOUBLE_EQ(adam.optimizer.lr, 0.002);
  EXPECT_DOUBLE_EQ(adam.optimizer.weight_decay, 2e-5);
  EXPECT_EQ(adam.lr_schedule.name, "cyclic");
  EXPECT_DOUBLE_EQ(adam.lr_schedule.cyclic.base_lr, 2e-8);
  EXPECT_DOUBLE_EQ(adam.lr_schedule.cyclic.max_lr, 0.002);
  EXPECT_EQ(adam.lr_schedule.cyclic.step_size_up, 100955);
  EXPECT_EQ(adam.lr_schedule.cyclic.mode, "triangular2");
  EXPECT_EQ(adam.lr_schedule.warmup_epoch, "0");
  EXPECT_EQ(adam.margin_schedule.increase_start_epoch, "0");
  EXPECT_LE(adam.features.fbank.preemph, 0);  // preemph null
  EXPECT_TRUE(adam.loader.augment.preload);
  EXPECT_EQ(adam.loss.K, 1);

  const TrainConfig r101 = load("resnet101");
  EXPECT_EQ(r101.features.type, "kaldi_fbank");
  EXPECT_EQ(r101.features.Dim(), 81);
  EXPECT_DOUBLE_EQ(r101.features.kaldi.low_freq, 20);
  EXPECT_EQ(r101.features.kaldi.window_type, "povey");
  EXPECT_EQ(r101.loader.batch_size, 64);
  EXPECT_EQ(r101.loader.validation_batch_size, 64);
  EXPECT_DOUBLE_EQ(r101.optimizer.lr, 0.005);

  for (const std::string stem : {"ecapa-tdnn-c512_sgd_balanced", "ecapa-tdnn-c512_sgd_paired",
                                 "resnet34-32_paired"}) {
    const TrainConfig c = load(stem);
    EXPECT_EQ(c.lr_schedule.name, "iter_multistep") << stem;
    EXPECT_EQ(c.lr_schedule.milestones, (std::vector<int64_t>{302865, 504775, 706685})) << stem;
    EXPECT_EQ(c.lr_schedule.warmup_epoch, "0.20191") << stem;
    EXPECT_EQ(c.margin_schedule.increase_start_epoch, "0.20191") << stem;
  }
  const TrainConfig balanced = load("ecapa-tdnn-c512_sgd_balanced");
  EXPECT_EQ(balanced.loader.sampler, "balanced");
  EXPECT_EQ(balanced.loader.speakers_per_batch * balanced.loader.chunks_per_speaker, 256);
  EXPECT_EQ(balanced.loader.balanced_batches_per_epoch, -1);  // SpeakerAwareSampler's length
  EXPECT_EQ(balanced.trainer.epochs, 4);
  EXPECT_EQ(balanced.trainer.ckpt_interval_iters, 20191);
  const TrainConfig paired = load("ecapa-tdnn-c512_sgd_paired");
  EXPECT_EQ(paired.loader.sampler, "paired");
  EXPECT_DOUBLE_EQ(paired.loader.paired_other_lang_prob, 0.8);
  EXPECT_EQ(paired.loader.batch_size, 256);  // 128 pairs
  const TrainConfig r32p = load("resnet34-32_paired");
  EXPECT_DOUBLE_EQ(r32p.loader.paired_other_lang_prob, 0.5);
  EXPECT_EQ(r32p.trainer.epochs, 20);
  EXPECT_DOUBLE_EQ(r32p.trainer.ckpt_interval_minutes, 1);
}

TEST(TrainConfig, DemoConfigLoadsAndOverridesApply) {
  const TrainConfig c = LoadTrainConfig(test::SourcePath("recipes/demo/config.yaml"),
                                        {"--optimizer.lr=0.5", "--trainer.epochs", "3"});
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.5);
  EXPECT_EQ(c.trainer.epochs, 3);
  EXPECT_THROW(LoadTrainConfig(test::SourcePath("recipes/demo/config.yaml"), {"--model.feat_dim=40"}),
               Error);  // must equal features.num_bins
}

// speaker-net's resnet101.yaml front end: Kaldi fbank with the log energy, 81 rows. The model's
// input dimension must follow the front end; the error says where the dimension comes from.
TEST(TrainConfig, KaldiFrontEndSetsTheModelInputDimension) {
  const std::string demo = test::SourcePath("recipes/demo/config.yaml");
  const std::string msg = test::ErrorOf([&] {
    LoadTrainConfig(demo, {"--features.type=kaldi_fbank", "--features.kaldi.use_energy=true"});
  });
  EXPECT_NE(msg.find("model.feat_dim (80) must equal the front end's feature dimension 81 "
                     "(kaldi_fbank: features.kaldi.num_bins 80 + 1 log energy"),
            std::string::npos)
      << msg;
  const TrainConfig c =
      LoadTrainConfig(demo, {"--features.type=kaldi_fbank", "--model.feat_dim=81"});
  EXPECT_EQ(c.features.Dim(), 81);
  EXPECT_THROW(LoadTrainConfig(demo, {"--features.type=kaldi_fbank", "--model.feat_dim=81",
                                      "--features.kaldi.samp_freq=8000"}),
               Error);  // loader.sample_rate 16000
}

}  // namespace
}  // namespace speakernet
