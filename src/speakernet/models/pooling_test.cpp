#include "speakernet/models/pooling.h"

#include <gtest/gtest.h>

#include "speakernet/common/error.h"

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
