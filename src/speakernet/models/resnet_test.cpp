#include "speakernet/models/resnet.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "speakernet/common/config.h"
#include "speakernet/common/test_util.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/reference_listing_test_util.h"
#include "speakernet/models/state_dict.h"

namespace speakernet {
namespace {

ModelConfig C32() { return ModelConfig{}; }

ModelConfig C64() {
  ModelConfig c;
  c.resnet.planes = {64, 128, 256, 512};
  return c;
}

std::shared_ptr<ResNetSpeakerModel> AsResNet(const std::shared_ptr<SpeakerModel>& m) {
  auto r = std::dynamic_pointer_cast<ResNetSpeakerModel>(m);
  EXPECT_NE(r, nullptr);
  return r;
}

using test::ModelLines;
using test::ReadReferenceLines;
using test::ReferenceListing;

TEST(ResNet, ParameterCountC32MatchesSpec) {
  auto model = AsResNet(CreateModel(C32()));
  EXPECT_EQ(CountParameters(*model), 6636448);
  // Breakdown from the spec (§3.8).
  EXPECT_EQ(CountParameters(*model->resnet), 5322912);
  EXPECT_EQ(CountParameters(*model->stats), 2560);
  EXPECT_EQ(CountParameters(*model->fc2), 1310976);
  EXPECT_EQ(CountParameters(*model->resnet->layers[0]), 55680);
  EXPECT_EQ(CountParameters(*model->resnet->layers[1]), 279616);
  EXPECT_EQ(CountParameters(*model->resnet->layers[2]), 1707136);
  EXPECT_EQ(CountParameters(*model->resnet->layers[3]), 3280128);
  EXPECT_EQ(model->EmbeddingDim(), 256);
}

TEST(ResNet, ParameterCountC64MatchesSpec) {
  auto model = AsResNet(CreateModel(C64()));
  EXPECT_EQ(CountParameters(*model), 26523456);
  EXPECT_EQ(CountParameters(*model->resnet), 21274944);
  EXPECT_EQ(CountParameters(*model->stats), 5120);
  EXPECT_EQ(CountParameters(*model->fc2), 5243392);
  EXPECT_EQ(model->EmbeddingDim(), 512);
}

TEST(ResNet, StateDictMatchesSpeakerNetC32) {
  const auto expected = ReadReferenceLines(ReferenceListing("resnet34-32.txt"));
  ASSERT_EQ(expected.size(), 222u);
  EXPECT_EQ(ModelLines(*CreateModel(C32())), expected);
}

TEST(ResNet, StateDictMatchesSpeakerNetC64) {
  const auto expected = ReadReferenceLines(ReferenceListing("resnet34-64.txt"));
  ASSERT_EQ(expected.size(), 222u);
  EXPECT_EQ(ModelLines(*CreateModel(C64())), expected);
}

TEST(ResNet, StateDictSkipsAbsentBnAffine) {
  auto model = AsResNet(CreateModel(C32()));
  const auto named = model->named_parameters();
  EXPECT_EQ(named.find("fc2.batchnorm.weight"), nullptr);
  EXPECT_NE(named.find("fc2.affine.weight"), nullptr);
  EXPECT_NE(model->named_buffers().find("fc2.batchnorm.running_var"), nullptr);
}

TEST(ResNet, ShapesForTwoSecondChunk) {
  torch::NoGradGuard no_grad;
  auto model = AsResNet(CreateModel(C32()));
  model->eval();
  const auto feats = torch::randn({2, 80, 202});
  EXPECT_EQ(model->ForwardTrunk(feats).sizes(), (std::vector<int64_t>{2, 256, 10, 26}));
  EXPECT_EQ(model->PoolingInputDim(), 2560);
  EXPECT_EQ(model->forward(feats).sizes(), (std::vector<int64_t>{2, 256}));
}

TEST(ResNet, KaldiFbank81DimsUsesElevenRows) {
  torch::NoGradGuard no_grad;
  ModelConfig c;
  c.feat_dim = 81;
  auto model = AsResNet(CreateModel(c));
  EXPECT_EQ(model->PoolingInputDim(), 11 * 256);
  model->eval();
  const auto feats = torch::randn({1, 81, 50});
  EXPECT_EQ(model->ForwardTrunk(feats).sizes(), (std::vector<int64_t>{1, 256, 11, 7}));
  EXPECT_EQ(model->forward(feats).sizes(), (std::vector<int64_t>{1, 256}));
}

TEST(ResNet, EvalModeIsDeterministicAndPerUtterance) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  auto model = CreateModel(C32());
  model->eval();
  const auto feats = torch::randn({3, 80, 120});
  const auto a = model->forward(feats);
  const auto b = model->forward(feats);
  EXPECT_TRUE(torch::equal(a, b));
  // In eval mode an utterance's embedding does not depend on the rest of the batch.
  const auto single = model->forward(feats.slice(0, 1, 2));
  // Up to rounding: oneDNN may pick another convolution algorithm for another batch size (seen
  // with LibTorch 2.11); mixing utterances would change the embedding by O(1) of its scale.
  const double diff = (single - a.slice(0, 1, 2)).abs().max().item<double>();
  EXPECT_LE(diff, 1e-4 * a.abs().max().item<double>()) << "max |single - batched| = " << diff;
}

TEST(ResNet, TrainModeUpdatesBatchNormStatisticsAndBackpropagates) {
  ModelConfig c;
  c.resnet.layers = {1, 1, 1, 1};
  c.resnet.planes = {4, 8, 8, 16};
  auto model = AsResNet(CreateModel(c));
  model->train();
  const auto feats = torch::randn({4, 80, 40});
  auto out = model->forward(feats);
  EXPECT_EQ(model->fc2->batchnorm->num_batches_tracked.item<int64_t>(), 1);
  EXPECT_GT(model->fc2->batchnorm->running_mean.abs().sum().item<double>(), 0.0);
  out.pow(2).sum().backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
}

TEST(ResNet, InitFollowsSpeakerNet) {
  torch::manual_seed(0);
  auto model = AsResNet(CreateModel(C64()));
  // kaiming_normal(fan_out, relu): std = sqrt(2 / (out_channels * k * k)).
  const auto w = model->resnet->layers[3]->ptr<PreActBasicBlock>(1)->conv1->weight;
  const double expected = std::sqrt(2.0 / (512 * 9));
  EXPECT_NEAR(w.std().item<double>(), expected, 0.02 * expected);
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.02 * expected);
  const auto bn = model->resnet->layers[1]->ptr<PreActBasicBlock>(0)->bn1;
  EXPECT_TRUE(torch::equal(bn->weight, torch::ones_like(bn->weight)));
  EXPECT_TRUE(torch::equal(bn->bias, torch::zeros_like(bn->bias)));
}

TEST(ResNet, FollowsModuleToDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::NoGradGuard no_grad;
  ModelConfig c;
  c.resnet.layers = {1, 1, 1, 1};
  auto model = CreateModel(c);
  model->eval();
  const auto feats = torch::randn({2, 80, 60});
  const auto cpu = model->forward(feats);
  model->to(torch::kCUDA);
  const auto gpu = model->forward(feats.to(torch::kCUDA));
  EXPECT_EQ(gpu.device().type(), torch::kCUDA);
  EXPECT_TRUE(torch::allclose(gpu.cpu(), cpu, 1e-3, 1e-3));
}

// Writes every state tensor as raw float32 <name>.bin for the Python reference.
void ExportState(const torch::nn::Module& model, const test::ScratchDir& dir) {
  for (const auto& [name, t] : GetStateDict(model)) {
    const auto flat = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
    test::WriteRawFloats(
        dir / (name + ".bin"),
        std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel()));
  }
}

using test::ExpectClose;
using test::ToVector;

// Same weights, same input: the embeddings of an independent PyTorch implementation of the spec
// (testdata/resnet_reference.py), in train mode (batch statistics, then the running-stat update)
// and in eval mode.
void CheckAgainstPython(const ModelConfig& config, int64_t batch, int64_t frames) {
  torch::manual_seed(7);
  auto model = CreateModel(config);
  // Non-trivial BN affine parameters and running statistics, so every tensor matters.
  {
    torch::NoGradGuard no_grad;
    for (auto& m : model->modules()) {
      if (auto* bn = m->as<SyncBatchNorm2d>()) {
        bn->weight.uniform_(0.5, 1.5);
        bn->bias.normal_(0, 0.2);
        bn->running_mean.normal_(0, 0.2);
        bn->running_var.uniform_(0.5, 2.0);
      }
    }
  }
  const auto feats = torch::randn({batch, config.feat_dim, frames});
  test::ScratchDir dir("models_parity");
  ExportState(*model, dir);
  test::WriteRawFloats(dir / "input.bin", ToVector(feats));

  torch::NoGradGuard no_grad;
  model->train();
  const auto out_train = model->forward(feats);
  model->eval();
  const auto out_eval = model->forward(feats);

  const auto printed = test::RunPython(
      test::SourcePath("src/speakernet/models/testdata/resnet_reference.py"),
      {dir.str(), fmt::format("{}", fmt::join(config.resnet.layers, ",")),
       fmt::format("{}", fmt::join(config.resnet.planes, ",")), std::to_string(config.feat_dim),
       std::to_string(frames), std::to_string(batch), config.pooling.type,
       std::to_string(config.pooling.num_head), std::to_string(model->EmbeddingDim()),
       fmt::format("{}", config.resnet.bn_momentum), fmt::format("{}", config.fc2_bn_momentum)});
  EXPECT_EQ(std::stoul(printed), GetStateDict(*model).size());
  ExpectClose(test::ReadRawFloats(dir / "out_train.bin"), out_train, 1e-4, "train-mode embeddings");
  ExpectClose(test::ReadRawFloats(dir / "out_eval.bin"), out_eval, 1e-4, "eval-mode embeddings");
  ExpectClose(test::ReadRawFloats(dir / "fc2_running_mean.bin"),
              AsResNet(model)->fc2->batchnorm->running_mean, 1e-4, "fc2 running mean");
}

TEST(ResNet, MatchesIndependentPyTorchC32) { CheckAgainstPython(C32(), 3, 100); }

TEST(ResNet, MatchesIndependentPyTorchStatsPooling81Dims) {
  ModelConfig c;
  c.feat_dim = 81;
  c.emb_dim = 24;
  c.resnet.layers = {2, 1, 2, 1};
  c.resnet.planes = {8, 16, 16, 32};
  c.resnet.bn_momentum = 0.3;
  c.fc2_bn_momentum = 0.2;
  c.pooling.type = "statistics";
  CheckAgainstPython(c, 4, 37);
}

TEST(ModelConfig, PresetFromYamlAndValidation) {
  ModelConfig c;
  ReadConfig(YAML::Load("resnet: {planes: [64, 128, 256, 512]}"), c);
  EXPECT_EQ(c.EmbeddingDim(), 512);
  ModelConfig bad;
  EXPECT_THROW(ReadConfig(YAML::Load("resnet: {block: wide}"), bad), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("resnet: {layers: [3, 4, 6]}"), bad), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("pooling: {type: lde}"), bad), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("type: ecapa"), bad), Error);
  ModelConfig heads;
  heads.pooling.num_head = 7;  // 2560 is not divisible by 7
  EXPECT_THROW(CreateModel(heads), Error);
}

TEST(ModelConfig, DescribeModelIsOneLine) {
  const ModelConfig c;
  const auto text = DescribeModel(c, *CreateModel(c));
  EXPECT_EQ(text,
            "resnet (basic [3,4,6,3] x [32,64,128,256], multi_head-16, emb 256): "
            "6,636,448 parameters");
}

TEST(ResNet, RejectsWrongFeatureShape) {
  auto model = CreateModel(C32());
  EXPECT_THROW(model->forward(torch::randn({2, 40, 100})), Error);
}

}  // namespace
}  // namespace speakernet
