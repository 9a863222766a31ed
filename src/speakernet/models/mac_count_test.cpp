#include "speakernet/models/mac_count.h"

#include <gtest/gtest.h>

#include "speakernet/models/model_config.h"

namespace speakernet {
namespace {

TEST(MacCount, XVectorMatchesHandDerivedCount) {
  // Hand-derived, 100 frames of 80-dim features; every TDNN layer keeps the length ("same"
  // padding, spec §3.1). MACs = output frames x output channels x (input channels x taps).
  const int64_t t = 100;
  const int64_t expected = t * 512 * (80 * 5)     // tdnn1, context [-2..2]
                           + t * 512 * (512 * 3)  // tdnn2, [-2, 0, 2]
                           + t * 512 * (512 * 3)  // tdnn3, [-3, 0, 3]
                           + t * 512 * 512        // tdnn4
                           + t * 1500 * 512       // tdnn5
                           + 512 * 3000           // tdnn6 on the pooled statistics
                           + 512 * 512;           // tdnn7 (affine: the embedding)
  EXPECT_EQ(expected, 282'578'944);
  ModelConfig c;
  c.type = "xvector";
  c.pooling.type = "statistics";
  const auto model = CreateModel(c);
  EXPECT_EQ(CountForwardMacs(*model, 80, t), expected);
  EXPECT_TRUE(model->is_training()) << "the model's mode must be restored";
}

TEST(MacCount, ResNet34C32MatchesHandDerivedCount) {
  // ResNet34-c32 on 80 x 100: stage maps 80x100, 40x50, 20x25, 10x13 (3x3, stride 2, pad 1:
  // out = floor((in - 1) / 2) + 1). Per map position: a 3x3 conv costs Cout*Cin*9, the 1x1
  // shortcut Cout*Cin.
  const int64_t head = 80 * 100 * 32 * 9;
  const int64_t layer1 = 3 * 2 * (80 * 100 * 32 * 32 * 9);
  const int64_t layer2 = 2000 * (64 * 32 * 9 + 64 * 64 * 9 + 64 * 32) + 3 * 2 * 2000 * 64 * 64 * 9;
  const int64_t layer3 =
      500 * (128 * 64 * 9 + 128 * 128 * 9 + 128 * 64) + 5 * 2 * int64_t{500} * 128 * 128 * 9;
  const int64_t layer4 =
      130 * (256 * 128 * 9 + 256 * 256 * 9 + 256 * 128) + 2 * 2 * int64_t{130} * 256 * 256 * 9;
  const int64_t mha = 16 * 13 * 160;  // one score per head and frame from its 160 channels
  const int64_t fc2 = 5120 * 256;
  const int64_t expected = head + layer1 + layer2 + layer3 + layer4 + mha + fc2;
  EXPECT_EQ(expected, 2'281'024'000);
  const auto model = CreateModel(ModelConfig{});  // the defaults are ResNet34-c32
  EXPECT_EQ(CountForwardMacs(*model, 80, 100), expected);
}

}  // namespace
}  // namespace speakernet
