#include "speakernet/losses/loss_factory.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "speakernet/common/config.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

LossConfig ReadLoss(const std::string& yaml) {
  LossConfig config;
  ReadConfig(YAML::Load(yaml), config, "loss");
  return config;
}

std::string Shape(const torch::Tensor& t) { return c10::str(t.sizes()); }

// (name, tensor) of the parameters and buffers under `prefix`, in PyTorch's state-dict order.
std::vector<std::pair<std::string, torch::Tensor>> State(const torch::nn::Module& m,
                                                         const std::string& prefix) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& kv : m.named_parameters()) out.emplace_back(prefix + kv.key(), kv.value());
  for (const auto& kv : m.named_buffers()) out.emplace_back(prefix + kv.key(), kv.value());
  return out;
}

// The classifier's state dict under "loss." has speaker-net's names and shapes: its SoftmaxLoss
// is a torch.nn.Linear called `affine`; its MarginSoftmaxLoss holds `weight` [N * K, D, 1] (the
// loss.weight line of the state-dict listings, 1000 classes x K 3 for 512-d embeddings).
TEST(LossFactory, ParameterNamesAndShapesAreSpeakerNets) {
  const LossConfig softmax = ReadLoss("{method: softmax, label_smoothing: 0.1}");
  const auto s = MakeClassifierLoss(softmax, 512, 1000);
  const auto sd = State(*s, "loss.");
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd[0].first, "loss.affine.weight");
  EXPECT_EQ(Shape(sd[0].second), "[1000, 512]");
  EXPECT_EQ(sd[1].first, "loss.affine.bias");
  EXPECT_EQ(Shape(sd[1].second), "[1000]");
  EXPECT_EQ(ClassifierParameterCount(softmax, 512, 1000), 1000 * 512 + 1000);

  const LossConfig margin = ReadLoss("{method: am, K: 3}");
  const auto m = MakeClassifierLoss(margin, 512, 1000);
  const auto md = State(*m, "loss.");
  ASSERT_EQ(md.size(), 1u);
  std::ifstream listing(test::SourcePath("src/speakernet/models/testdata/resnet101.txt"));
  std::string line, expected;
  while (std::getline(listing, line)) {
    if (line.rfind("loss.", 0) == 0) expected = line;
  }
  EXPECT_EQ(expected, md[0].first + "\t(3000, 512, 1)\tfloat32");
  EXPECT_EQ(Shape(md[0].second), "[3000, 512, 1]");
  EXPECT_EQ(ClassifierParameterCount(margin, 512, 1000), md[0].second.numel());
}

// softmax has no margin: the annealing lambda changes nothing, the margin fraction is 0, and
// training and eval mode give the same (label-smoothed) loss, as speaker-net's SoftmaxLoss.
// Margin softmax reports 1 / (1 + lambda).
TEST(LossFactory, SoftmaxHasNoMargin) {
  torch::manual_seed(3);
  const auto loss = MakeClassifierLoss(ReadLoss("{method: softmax, label_smoothing: 0.2}"), 8, 5);
  const torch::Tensor emb = torch::randn({6, 8}) * 30;
  const torch::Tensor labels = torch::tensor({0, 1, 2, 3, 4, 0}, torch::kLong);
  const double train = loss->forward(emb, labels).loss.item<double>();
  loss->SetLambda(1000);
  EXPECT_EQ(loss->forward(emb, labels).loss.item<double>(), train);
  loss->eval();
  EXPECT_EQ(loss->forward(emb, labels).loss.item<double>(), train);
  EXPECT_EQ(loss->MarginFraction(), 0.0);

  const auto margin = MakeClassifierLoss(ReadLoss("{method: aam}"), 8, 5);
  margin->SetLambda(3);
  EXPECT_DOUBLE_EQ(margin->MarginFraction(), 0.25);
}

TEST(LossFactory, BadSettingsNameTheKey) {
  EXPECT_NE(test::ErrorOf([] { ReadLoss("{method: arcface}"); }).find("loss.method"),
            std::string::npos);
  EXPECT_NE(test::ErrorOf([] {
              ReadLoss("{method: am, label_smoothing: 0.1}");
            }).find("loss.label_smoothing"),
            std::string::npos);
  EXPECT_NE(test::ErrorOf([] {
              ReadLoss("{method: softmax, label_smoothing: 1.0}");
            }).find("loss.label_smoothing"),
            std::string::npos);
}

}  // namespace
}  // namespace speakernet
