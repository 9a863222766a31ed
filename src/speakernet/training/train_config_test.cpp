// The shipped recipe configs stay loadable and describe speaker-net's models (spec §3.8 counts).
#include "speakernet/training/train_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "speakernet/common/test_util.h"
#include "speakernet/models/speaker_model.h"

namespace speakernet {
namespace {

TEST(TrainConfig, VoxCelebRecipesMatchSpeakerNetParameterCounts) {
  const std::map<std::string, int64_t> expected{{"resnet34-32.yaml", 6636448},
                                                {"resnet34-64.yaml", 26523456},
                                                {"ecapa-tdnn-c512.yaml", 6387392},
                                                {"ecapa-tdnn-c1024.yaml", 23514368}};
  for (const auto& [file, count] : expected) {
    const TrainConfig c =
        LoadTrainConfig(test::SourcePath("recipes/voxceleb/conf/" + file), {});
    EXPECT_EQ(CountParameters(*CreateModel(c.model)), count) << file;
    EXPECT_EQ(c.loader.batch_size, 256) << file;
    EXPECT_EQ(c.lr_schedule.milestones, (std::vector<int64_t>{15, 25, 35})) << file;
  }
}

TEST(TrainConfig, DemoConfigLoadsAndOverridesApply) {
  const TrainConfig c = LoadTrainConfig(test::SourcePath("recipes/demo/config.yaml"),
                                        {"--optimizer.lr=0.5", "--trainer.epochs", "3"});
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.5);
  EXPECT_EQ(c.trainer.epochs, 3);
  EXPECT_THROW(LoadTrainConfig(test::SourcePath("recipes/demo/config.yaml"), {"--model.feat_dim=40"}),
               Error);  // must equal features.num_bins
}

}  // namespace
}  // namespace speakernet
