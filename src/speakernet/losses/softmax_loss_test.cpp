#include "speakernet/losses/softmax_loss.h"

#include <gtest/gtest.h>

#include "speakernet/common/error.h"

namespace speakernet {
namespace {

TEST(SoftmaxLoss, LabelSmoothingFollowsPyTorchDefinition) {
  torch::manual_seed(1);
  SoftmaxLossConfig config;
  config.label_smoothing = 0.1;
  SoftmaxLoss loss(6, 5, config);
  const auto emb = torch::randn({4, 6}) * 20;
  const auto labels = torch::tensor({0, 3, 4, 1}, torch::kLong);
  const auto out = loss->forward(emb, labels);
  // Hand-derived: (1 - eps) * NLL(label) + eps * mean_k(-log p_k).
  const auto logp = torch::log_softmax(torch::mm(emb, loss->affine->weight.t()), 1);
  const auto nll = -logp.gather(1, labels.unsqueeze(1)).squeeze(1);
  const auto uniform = -logp.mean(1);
  const auto expected = (0.9 * nll + 0.1 * uniform).mean();
  EXPECT_NEAR(out.loss.item<double>(), expected.item<double>(), 1e-5);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{4, 5}));
  EXPECT_NEAR(loss->affine->weight.std().item<double>(), 0.01, 0.005);
  EXPECT_EQ(loss->affine->bias.abs().sum().item<double>(), 0.0);
  SoftmaxLossConfig bad;
  bad.label_smoothing = 1.0;
  EXPECT_THROW(bad.Validate(), Error);
}

}  // namespace
}  // namespace speakernet
