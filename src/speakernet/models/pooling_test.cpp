#include "speakernet/models/pooling.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"
#include "speakernet/models/reference_listing_test_util.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/state_dict.h"

namespace speakernet {
namespace {

TEST(Pooling, StatisticsPoolingIsMeanAndBiasedStd) {
  StatisticsPooling pool(3);
  const auto x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f,  //
                                5.0f, 5.0f, 5.0f, 5.0f,  //
                                -2.0f, 0.0f, 2.0f, 0.0f})
                     .reshape({1, 3, 4});
  const auto y = pool.forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 6, 1}));
  // Hand-derived: means 2.5, 5, 0; biased variances 1.25, 0 (floored at 1e-10), 2.
  const auto expected = torch::tensor({2.5f, 5.0f, 0.0f, std::sqrt(1.25f), 1e-5f, std::sqrt(2.0f)})
                            .reshape({1, 6, 1});
  EXPECT_TRUE(torch::allclose(y, expected, 1e-6, 1e-7)) << y;
}

TEST(Pooling, MultiHeadAttentionHasOneWeightPerChannel) {
  MultiHeadAttentionPooling pool(2560, 16);
  const auto params = pool.named_parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params.begin()->key(), "attention.last_affine.affine.weight");
  EXPECT_EQ(params.begin()->value().sizes(), (std::vector<int64_t>{16, 160, 1}));
  EXPECT_EQ(pool.OutputDim(), 5120);
}

TEST(Pooling, MultiHeadWithZeroWeightsIsPlainStatisticsPerChannel) {
  // Zero attention weights give a uniform alpha, so every head reduces to mean/std pooling of
  // its own channels, and the concatenation is [all means, all stds] in channel order.
  torch::NoGradGuard no_grad;
  MultiHeadAttentionPooling mha(8, 4);
  mha.attention->last_affine->affine->weight.zero_();
  StatisticsPooling stats(8);
  const auto x = torch::randn({2, 8, 11});
  EXPECT_TRUE(torch::allclose(mha.forward(x), stats.forward(x), 1e-5, 1e-5));
}

TEST(Pooling, MultiHeadHeadsOnlySeeTheirOwnChannels) {
  // Changing the channels of head 0 must not change the outputs of heads 1..3.
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  MultiHeadAttentionPooling mha(8, 4);
  const auto x = torch::randn({1, 8, 9});
  auto x2 = x.clone();
  x2.slice(1, 0, 2).mul_(3.0).add_(1.0);
  const auto a = mha.forward(x).squeeze();
  const auto b = mha.forward(x2).squeeze();
  for (int64_t part = 0; part < 2; ++part) {  // means, then stds
    EXPECT_FALSE(
        torch::allclose(a.slice(0, part * 8, part * 8 + 2), b.slice(0, part * 8, part * 8 + 2)));
    EXPECT_TRUE(torch::equal(a.slice(0, part * 8 + 2, part * 8 + 8),
                             b.slice(0, part * 8 + 2, part * 8 + 8)));
  }
}

TEST(Pooling, CreatePoolingRejectsIndivisibleHeads) {
  PoolingConfig c;
  c.num_head = 3;
  EXPECT_THROW(CreatePooling(c, 10), Error);
}

}  // namespace
}  // namespace speakernet

namespace speakernet {
namespace {

// Random weights (biases too, so that every tensor matters) and input; our pooling against
// testdata/pooling_reference.py on the same values.
void CheckPoolingAgainstPython(const std::string& kind, Pooling& pool, int64_t batch, int64_t dim,
                               int64_t frames, int64_t heads, int64_t hidden) {
  torch::manual_seed(7);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : pool.parameters()) p.normal_(0, 0.3);
  }
  const auto x = torch::randn({batch, dim, frames}) * 2 + 0.5;
  test::ScratchDir dir("models_pooling_parity_" + kind);
  for (const auto& [name, t] : GetStateDict(pool)) {
    test::WriteRawFloats(dir / (name + ".bin"), test::ToVector(t.to(torch::kFloat)));
  }
  test::WriteRawFloats(dir / "input.bin", test::ToVector(x));
  torch::NoGradGuard no_grad;
  const auto y = pool.forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{batch, pool.OutputDim(), 1}));
  const auto printed =
      test::RunPython(test::SourcePath("src/speakernet/models/testdata/pooling_reference.py"),
                      {kind, dir.str(), std::to_string(batch), std::to_string(dim),
                       std::to_string(frames), std::to_string(heads), std::to_string(hidden)});
  EXPECT_EQ(std::stoul(printed), GetStateDict(pool).size());
  test::ExpectClose(test::ReadRawFloats(dir / "out.bin"), y, 1e-4, kind + " pooling");
}

TEST(Pooling, AttentiveNamesShapesAndCount) {
  AttentiveStatisticsPooling pool(2560, 64);
  std::vector<std::string> names;
  for (const auto& [name, t] : GetStateDict(pool)) names.push_back(name + c10::str(t.sizes()));
  EXPECT_EQ(names, (std::vector<std::string>{"attention.first_affine.affine.weight[64, 2560, 1]",
                                             "attention.first_affine.affine.bias[64]",
                                             "attention.last_affine.affine.weight[1, 64, 1]",
                                             "attention.last_affine.affine.bias[1]"}));
  EXPECT_EQ(CountParameters(pool), 2560 * 64 + 64 + 64 + 1);  // hand-derived: 163,969
  EXPECT_EQ(pool.OutputDim(), 5120);
}

TEST(Pooling, MultiResolutionNamesShapesAndCount) {
  MultiResolutionAttentionPooling pool(2560, 4, 64);
  std::vector<std::string> names;
  for (const auto& [name, t] : GetStateDict(pool)) names.push_back(name + c10::str(t.sizes()));
  EXPECT_EQ(names, (std::vector<std::string>{"attention.t[1, 4, 1, 1]",
                                             "attention.first_affine.affine.weight[256, 2560, 1]",
                                             "attention.first_affine.affine.bias[256]",
                                             "attention.last_affine.affine.weight[4, 64, 1]",
                                             "attention.last_affine.affine.bias[4]"}));
  // Hand-derived: first 2560 x (4 x 64) + 256, last (grouped) 4 x 64 + 4 = 655,876.
  EXPECT_EQ(CountParameters(pool), 2560 * 256 + 256 + 4 * 64 + 4);
  EXPECT_EQ(pool.OutputDim(), 2 * 4 * 2560);
  const auto t = GetStateDict(pool).front().second;
  EXPECT_EQ(t.scalar_type(), torch::kLong);
  // Spec §3.2: max(1, (h // 2) * 5) for h = 0..3.
  EXPECT_TRUE(torch::equal(t.flatten(), torch::tensor({1, 1, 5, 5}, torch::kLong)));
}

TEST(Pooling, AttentiveMatchesIndependentPyTorch) {
  AttentiveStatisticsPooling pool(24, 8);
  CheckPoolingAgainstPython("attentive", pool, 3, 24, 17, 1, 8);
}

TEST(Pooling, MultiResolutionMatchesIndependentPyTorch) {
  MultiResolutionAttentionPooling pool(20, 6, 5);
  CheckPoolingAgainstPython("multi_resolution", pool, 2, 20, 13, 6, 5);
}

TEST(Pooling, EveryTrunkTakesEveryPooling) {
  torch::NoGradGuard no_grad;
  ModelConfig resnet;
  resnet.resnet.layers = {1, 1, 1, 1};
  resnet.resnet.planes = {4, 8, 8, 16};
  resnet.emb_dim = 12;
  ModelConfig ecapa;
  ecapa.type = "ecapa";
  ecapa.ecapa.channels = 32;
  ecapa.emb_dim = 12;
  ModelConfig repvgg;
  repvgg.type = "repvgg";
  repvgg.repvgg.num_blocks = {1, 1, 1, 1};
  repvgg.repvgg.planes = {8, 8, 8, 16};
  repvgg.emb_dim = 12;
  ModelConfig xvector;
  xvector.type = "xvector";
  xvector.emb_dim = 12;
  for (ModelConfig c : {resnet, ecapa, repvgg, xvector}) {
    for (const std::string type :
         {"statistics", "multi_head", "channel_context", "attentive", "multi_resolution"}) {
      c.pooling.type = type;
      c.pooling.num_head = type == "multi_head" ? 4 : 3;
      c.pooling.hidden_size = 6;
      if (c.type == "xvector" && type == "multi_head") c.pooling.num_head = 5;  // 1500 / 5
      SCOPED_TRACE(c.type + " + " + type);
      const auto model = CreateModel(c);
      model->eval();
      const auto y = model->forward(torch::randn({2, 80, 40}));
      EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 12}));
      EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
    }
  }
}

TEST(Pooling, ResNet34WithAttentivePoolingCount) {
  // Spec §3.8: ResNet34-c32 trunk 5,322,912; fc2 = Linear(2 x 2560 -> 256) + bias.
  ModelConfig c;
  c.pooling.type = "attentive";
  c.pooling.hidden_size = 64;
  EXPECT_EQ(CountParameters(*CreateModel(c)),
            5'322'912 + (2560 * 64 + 64 + 64 + 1) + (5120 * 256 + 256));
  c.pooling.type = "multi_resolution";
  c.pooling.num_head = 4;
  // fc2 sees 2 x 4 heads x 2560 = 20,480 dims.
  EXPECT_EQ(CountParameters(*CreateModel(c)),
            5'322'912 + (2560 * 256 + 256 + 4 * 64 + 4) + (20480 * 256 + 256));
}

}  // namespace
}  // namespace speakernet
