#include "speakernet/losses/margin_softmax.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/version.h>

#include <string>
#include <vector>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"
#include "speakernet/common/torch_compat.h"

namespace speakernet {
namespace {

std::vector<float> ToVector(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

struct Case {
  std::string method = "am";
  double m = 0.2;
  int64_t K = 1;
  double topk_m = 0.0;
  bool easy = false;
  double lambda = 0.0;
  bool train = true;
  bool far_sample = false;  // one sample near the opposite of its class centre (aam fallback)
};

constexpr int64_t kBatch = 8, kDim = 16, kClasses = 12;

// Runs the loss on random inputs and compares with the float64 NumPy reference
// (testdata/margin_softmax_reference.py).
void CheckAgainstReference(const Case& k, uint64_t seed) {
  torch::manual_seed(seed);
  MarginSoftmaxConfig config;
  config.method = k.method;
  config.m = k.m;
  config.K = k.K;
  config.topk_m = k.topk_m;
  config.easy_margin = k.easy;
  MarginSoftmax loss(kDim, kClasses, config);
  {
    torch::NoGradGuard no_grad;
    loss->weight.normal_();  // spread the cosines
  }
  loss->SetLambda(k.lambda);
  loss->train(k.train);
  auto emb = torch::randn({kBatch, kDim});
  const auto labels = torch::randint(kClasses, {kBatch}, torch::kLong);
  if (k.far_sample) {
    torch::NoGradGuard no_grad;
    const auto w = loss->weight.squeeze(2);
    emb[0] =
        -w.slice(0, labels[0].item<int64_t>() * k.K, labels[0].item<int64_t>() * k.K + k.K).sum(0) +
        0.01 * torch::randn({kDim});
  }

  const auto out = loss->forward(emb, labels);

  test::ScratchDir dir("margin_softmax_ref");
  test::WriteRawFloats(dir / "emb.bin", ToVector(emb));
  test::WriteRawFloats(dir / "weight.bin", ToVector(loss->weight));
  test::WriteRawFloats(dir / "labels.bin", ToVector(labels.to(torch::kFloat)));
  const auto printed = test::RunPython(
      test::SourcePath("src/speakernet/losses/testdata/margin_softmax_reference.py"),
      {dir.str(), std::to_string(kBatch), std::to_string(kDim), std::to_string(kClasses),
       std::to_string(k.K), k.method, std::to_string(k.m), std::to_string(config.s),
       std::to_string(config.topk), std::to_string(k.topk_m), k.easy ? "1" : "0",
       std::to_string(k.lambda), k.train ? "1" : "0"});
  const double ref_loss = std::stod(printed);
  EXPECT_NEAR(out.loss.item<double>(), ref_loss, 1e-5) << printed;
  const auto ref_logits = test::ReadRawFloats(dir / "logits.bin");
  const auto logits = ToVector(out.logits);
  ASSERT_EQ(ref_logits.size(), logits.size());
  ASSERT_EQ(out.logits.sizes(), (std::vector<int64_t>{kBatch, kClasses}));
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(logits[i], ref_logits[i], 2e-5) << i;
}

TEST(MarginSoftmax, AmMatchesReference) { CheckAgainstReference({}, 1); }

TEST(MarginSoftmax, AmSubCentresTopkMatchesReference) {
  Case k;
  k.K = 3;
  k.topk_m = 0.06;
  CheckAgainstReference(k, 2);
}

TEST(MarginSoftmax, AmSubCentresTopkAnnealedMatchesReference) {
  Case k;
  k.K = 3;
  k.topk_m = 0.06;
  k.lambda = 2.5;
  CheckAgainstReference(k, 3);
}

TEST(MarginSoftmax, AmAnnealedMatchesReference) {
  Case k;
  k.lambda = 31.25;
  CheckAgainstReference(k, 4);
}

TEST(MarginSoftmax, AamMatchesReferenceIncludingFallback) {
  Case k;
  k.method = "aam";
  k.m = 0.5;
  k.far_sample = true;  // cos < th = -cos(m): the c - mmm branch
  CheckAgainstReference(k, 5);
}

TEST(MarginSoftmax, AamSubCentresTopkAnnealedMatchesReference) {
  Case k;
  k.method = "aam";
  k.m = 0.5;
  k.K = 3;
  k.topk_m = 0.1;
  k.lambda = 0.7;
  CheckAgainstReference(k, 6);
}

TEST(MarginSoftmax, AamEasyMarginMatchesReference) {
  Case k;
  k.method = "aam";
  k.m = 0.3;
  k.easy = true;
  k.far_sample = true;
  CheckAgainstReference(k, 7);
}

TEST(MarginSoftmax, EvalModeMatchesReference) {
  Case k;
  k.K = 3;
  k.topk_m = 0.06;
  k.train = false;
  CheckAgainstReference(k, 8);
}

TEST(MarginSoftmax, EvalModeIsPlainCrossEntropyOfScaledCosine) {
  torch::manual_seed(9);
  MarginSoftmaxConfig config;
  config.K = 3;
  config.topk_m = 0.06;
  MarginSoftmax loss(kDim, kClasses, config);
  loss->eval();
  const auto emb = torch::randn({kBatch, kDim});
  const auto labels = torch::randint(kClasses, {kBatch}, torch::kLong);
  const auto out = loss->forward(emb, labels);
  // Hand-written: cos over sub-centres, max, scale, then -log softmax at the label.
  const auto w = loss->weight.squeeze(2);
  const auto cos = torch::mm(emb / emb.norm(2, 1, true), (w / w.norm(2, 1, true)).t());
  const auto best = std::get<0>(cos.view({kBatch, kClasses, 3}).max(2)) * 35.0;
  const auto nll = -torch::log_softmax(best, 1).gather(1, labels.unsqueeze(1)).mean();
  EXPECT_NEAR(out.loss.item<double>(), nll.item<double>(), 1e-5);
  EXPECT_TRUE(torch::allclose(out.logits, best, 1e-5, 1e-5));
  // The margin would make the training loss larger.
  loss->train();
  EXPECT_GT(loss->forward(emb, labels).loss.item<double>(), out.loss.item<double>());
}

TEST(MarginSoftmax, WeightIsNamedAndInitialisedLikeSpeakerNet) {
  torch::manual_seed(0);
  MarginSoftmaxConfig config;
  config.K = 3;
  MarginSoftmax loss(256, 1000, config);
  const auto params = loss->named_parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params.begin()->key(), "weight");
  EXPECT_EQ(loss->weight.sizes(), (std::vector<int64_t>{3000, 256, 1}));
  EXPECT_NEAR(loss->weight.std().item<double>(), 0.01, 2e-4);
  EXPECT_NEAR(loss->weight.mean().item<double>(), 0.0, 2e-4);
}

TEST(MarginSoftmax, GradientsReachWeightAndEmbeddings) {
  torch::manual_seed(10);
  MarginSoftmaxConfig config;
  config.K = 3;
  config.topk_m = 0.06;
  MarginSoftmax loss(kDim, kClasses, config);
  const auto emb = torch::randn({kBatch, kDim}, torch::requires_grad());
  const auto labels = torch::randint(kClasses, {kBatch}, torch::kLong);
  loss->SetLambda(0.5);
  loss->forward(emb, labels).loss.backward();
  ASSERT_TRUE(loss->weight.grad().defined());
  ASSERT_TRUE(emb.grad().defined());
  EXPECT_GT(loss->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(emb.grad().abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::isfinite(emb.grad()).all().item<bool>());
}

TEST(MarginSoftmax, HalfPrecisionInputsAreComputedInFloat) {
  torch::manual_seed(11);
  MarginSoftmax loss(kDim, kClasses, MarginSoftmaxConfig{});
  const auto emb = torch::randn({kBatch, kDim});
  const auto labels = torch::randint(kClasses, {kBatch}, torch::kLong);
  const auto ref = loss->forward(emb, labels);
  const auto half = loss->forward(emb.to(torch::kBFloat16), labels);
  EXPECT_EQ(half.loss.scalar_type(), torch::kFloat);
  EXPECT_EQ(half.logits.scalar_type(), torch::kFloat);
  EXPECT_NEAR(half.loss.item<double>(), ref.loss.item<double>(), 0.1);
}

void SetCpuAutocast(bool enabled) { SetAutocastEnabled(c10::DeviceType::CPU, enabled); }

TEST(MarginSoftmax, StaysFloat32UnderAutocast) {
  torch::manual_seed(13);
  MarginSoftmaxConfig config;
  config.K = 3;
  config.topk_m = 0.06;
  MarginSoftmax loss(kDim, kClasses, config);
  const auto emb = torch::randn({kBatch, kDim});
  const auto labels = torch::randint(kClasses, {kBatch}, torch::kLong);
  const auto ref = loss->forward(emb, labels);
  SetCpuAutocast(true);  // bf16 matmuls, unless the loss opts out
  const auto sanity = torch::mm(emb, emb.t());
  const auto out = loss->forward(emb, labels);
  SetCpuAutocast(false);
  EXPECT_EQ(sanity.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(out.logits.scalar_type(), torch::kFloat);
  EXPECT_NEAR(out.loss.item<double>(), ref.loss.item<double>(), 1e-6);
  EXPECT_TRUE(torch::allclose(out.logits, ref.logits, 0, 1e-6));
}

TEST(MarginSoftmax, RejectsBadInputsAndConfig) {
  MarginSoftmax loss(kDim, kClasses, MarginSoftmaxConfig{});
  EXPECT_THROW(loss->forward(torch::randn({4, kDim + 1}), torch::zeros({4}, torch::kLong)), Error);
  EXPECT_THROW(loss->forward(torch::randn({4, kDim}), torch::zeros({3}, torch::kLong)), Error);
  MarginSoftmaxConfig bad;
  bad.method = "arc";
  EXPECT_THROW(bad.Validate(), Error);
  bad = {};
  bad.K = 0;
  EXPECT_THROW(bad.Validate(), Error);
  EXPECT_THROW(loss->SetLambda(-1), Error);
}

TEST(MarginSoftmax, FollowsModuleToDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(12);
  MarginSoftmaxConfig config;
  config.K = 3;
  config.topk_m = 0.06;
  MarginSoftmax loss(kDim, kClasses, config);
  const auto emb = torch::randn({kBatch, kDim});
  const auto labels = torch::randint(kClasses, {kBatch}, torch::kLong);
  const auto cpu = loss->forward(emb, labels).loss.item<double>();
  loss->to(torch::kCUDA);
  const auto out = loss->forward(emb.to(torch::kCUDA), labels.to(torch::kCUDA));
  EXPECT_EQ(out.loss.device().type(), torch::kCUDA);
  EXPECT_NEAR(out.loss.item<double>(), cpu, 1e-4);
}

}  // namespace
}  // namespace speakernet
