// Bottleneck ResNets (ResNet50/101/152, speaker-net's resnet101.yaml) and SE-ResNet (spec §3.4,
// §3.7). Counts come from the spec or from the hand-derived formula below.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "speakernet/common/config.h"
#include "speakernet/models/reference_listing_test_util.h"
#include "speakernet/models/resnet.h"
#include "speakernet/models/speaker_model.h"

namespace speakernet {
namespace {

using test::ModelLines;
using test::ReadReferenceLines;
using test::ReferenceListing;

// speaker-net's resnet101.yaml: kaldi fbank with energy (81 dims), Bottleneck [3,4,23,3].
ModelConfig ResNet101() {
  ModelConfig c;
  c.feat_dim = 81;
  c.resnet.block = "bottleneck";
  c.resnet.layers = {3, 4, 23, 3};
  c.resnet.planes = {64, 128, 256, 512};
  return c;
}

// SE-ResNet34-c32 with MHA-16 and a 256-d fc2 (spec §3.7).
ModelConfig SeResNet34C32() {
  ModelConfig c;
  c.resnet.se_ratio = 16;
  return c;
}

std::shared_ptr<ResNetSpeakerModel> AsResNet(const std::shared_ptr<SpeakerModel>& m) {
  auto r = std::dynamic_pointer_cast<ResNetSpeakerModel>(m);
  EXPECT_NE(r, nullptr);
  return r;
}

// Hand-derived parameter counts: BN = 2C, conv = in * out * k * k (no bias), SE = two Linears
// with bias, C -> C/r -> C.
int64_t SeParams(int64_t c, int64_t r) { return r == 0 ? 0 : 2 * c * (c / r) + c / r + c; }

int64_t TrunkParams(const ResNetConfig& rc) {
  const bool bottleneck = rc.block == "bottleneck";
  const int64_t e = bottleneck ? 4 : 1;
  int64_t n = 9 * rc.planes[0] + 2 * rc.planes[0];  // head conv + BN
  int64_t in = rc.planes[0];
  for (int s = 0; s < 4; ++s) {
    const int64_t p = rc.planes[s];
    for (int64_t b = 0; b < rc.layers[s]; ++b) {
      const bool strided = s > 0 && b == 0;
      if (strided || in != p * e) n += in * p * e + 2 * p * e;  // downsample conv + BN
      if (bottleneck) {
        n += 2 * in + in * p + 2 * p + 9 * p * p + 2 * p + p * 4 * p;
      } else {
        n += 2 * in + 9 * in * p + 2 * p + 9 * p * p;
      }
      n += SeParams(p * e, rc.se_ratio);
      in = p * e;
    }
  }
  return n;
}

int64_t ModelParams(const ModelConfig& c) {
  const int64_t rows = ResNetTrunkImpl::OutputRows(c.feat_dim);
  const int64_t d = rows * c.resnet.planes[3] * (c.resnet.block == "bottleneck" ? 4 : 1);
  const int64_t emb = c.EmbeddingDim();
  return TrunkParams(c.resnet) + d /* MHA */ + 2 * d * emb + emb /* fc2 affine */;
}

TEST(ResNet101, ParameterCountMatchesSpec) {
  const auto config = ResNet101();
  auto model = AsResNet(CreateModel(config));
  EXPECT_EQ(CountParameters(*model), 65579072);
  EXPECT_EQ(ModelParams(config), 65579072);
  EXPECT_EQ(model->resnet->OutputChannels(), 2048);
  EXPECT_EQ(model->PoolingInputDim(), 11 * 2048);
  EXPECT_EQ(CountParameters(*model->stats), 22528);
  EXPECT_EQ(CountParameters(*model->fc2), 45056 * 512 + 512);
  EXPECT_EQ(model->EmbeddingDim(), 512);
  EXPECT_EQ(DescribeModel(config, *model),
            "resnet (bottleneck [3,4,23,3] x [64,128,256,512], multi_head-16, emb 512): "
            "65,579,072 parameters");
}

TEST(ResNet101, StateDictMatchesSpeakerNet) {
  // The reference has no extract_fbank.* buffers; loss.* is the classifier.
  const auto expected = ReadReferenceLines(ReferenceListing("resnet101.txt"));
  ASSERT_EQ(expected.size(), 630u);
  EXPECT_EQ(ModelLines(*CreateModel(ResNet101())), expected);
}

TEST(ResNet101, TinyForwardShapesAndEvalDeterminism) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  auto model = AsResNet(CreateModel(ResNet101()));
  model->eval();
  const auto feats = torch::randn({1, 81, 9});
  EXPECT_EQ(model->ForwardTrunk(feats).sizes(), (std::vector<int64_t>{1, 2048, 11, 2}));
  const auto a = model->forward(feats);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{1, 512}));
  EXPECT_TRUE(torch::isfinite(a).all().item<bool>());
  EXPECT_TRUE(torch::equal(a, model->forward(feats)));
}

TEST(ResNetBottleneck, BlockLayoutStrideAndShortcut) {
  ModelConfig c;
  c.resnet.block = "bottleneck";
  c.resnet.layers = {2, 2, 1, 1};
  c.resnet.planes = {4, 8, 8, 16};
  auto model = AsResNet(CreateModel(c));
  const auto& l1 = model->resnet->layers[0];
  const auto& l2 = model->resnet->layers[1];
  // layer1.0 projects 4 -> 16 channels at stride 1; layer1.1 keeps the identity.
  auto b10 = l1->ptr<PreActBottleneck>(0);
  ASSERT_TRUE(b10->downsample);
  EXPECT_EQ(b10->downsample->ptr<torch::nn::Conv2dImpl>(0)->weight.sizes(),
            (std::vector<int64_t>{16, 4, 1, 1}));
  EXPECT_FALSE(l1->ptr<PreActBottleneck>(1)->downsample);
  // The stride sits on the 3x3 conv2, and on the shortcut.
  auto b20 = l2->ptr<PreActBottleneck>(0);
  EXPECT_EQ(b20->conv1->options.stride()->at(0), 1);
  EXPECT_EQ(b20->conv2->options.stride()->at(0), 2);
  EXPECT_EQ(b20->conv3->options.stride()->at(0), 1);
  EXPECT_EQ(b20->downsample->ptr<torch::nn::Conv2dImpl>(0)->options.stride()->at(0), 2);
  EXPECT_EQ(b20->conv1->weight.sizes(), (std::vector<int64_t>{8, 16, 1, 1}));
  EXPECT_EQ(b20->conv2->weight.sizes(), (std::vector<int64_t>{8, 8, 3, 3}));
  EXPECT_EQ(b20->conv3->weight.sizes(), (std::vector<int64_t>{32, 8, 1, 1}));
  EXPECT_EQ(b20->bn1->weight.size(0), 16);
  EXPECT_EQ(model->resnet->OutputChannels(), 64);
}

TEST(ResNetBottleneck, ShapesAndPerUtteranceEval) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  ModelConfig c;
  c.resnet.block = "bottleneck";
  c.resnet.layers = {1, 2, 1, 1};
  c.resnet.planes = {4, 8, 8, 16};
  auto model = AsResNet(CreateModel(c));
  model->eval();
  const auto feats = torch::randn({3, 80, 45});
  EXPECT_EQ(model->ForwardTrunk(feats).sizes(), (std::vector<int64_t>{3, 64, 10, 6}));
  EXPECT_EQ(model->PoolingInputDim(), 640);
  const auto a = model->forward(feats);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{3, 16}));
  EXPECT_TRUE(torch::equal(a, model->forward(feats)));
  EXPECT_TRUE(torch::allclose(model->forward(feats.slice(0, 2, 3)), a.slice(0, 2, 3), 1e-4, 1e-5));
}

// The documented presets (ResNet18/34/50/101/152 depths) at small widths against the formula.
TEST(ResNetBottleneck, PresetDepthsMatchFormula) {
  struct Preset {
    const char* block;
    std::vector<int64_t> layers;
  };
  const std::vector<Preset> presets = {{"basic", {2, 2, 2, 2}},
                                       {"basic", {3, 4, 6, 3}},
                                       {"bottleneck", {3, 4, 6, 3}},
                                       {"bottleneck", {3, 4, 23, 3}},
                                       {"bottleneck", {3, 8, 36, 3}}};
  for (const auto& p : presets) {
    for (int64_t se : {0, 4}) {
      ModelConfig c;
      c.resnet.block = p.block;
      c.resnet.layers = p.layers;
      c.resnet.planes = {8, 8, 16, 16};
      c.resnet.se_ratio = se;
      auto model = AsResNet(CreateModel(c));
      EXPECT_EQ(CountParameters(*model->resnet), TrunkParams(c.resnet))
          << p.block << " [" << fmt::format("{}", fmt::join(p.layers, ",")) << "] se " << se;
      EXPECT_EQ(CountParameters(*model), ModelParams(c));
    }
  }
}

TEST(SeResNet, ParameterCountMatchesSpec) {
  const auto config = SeResNet34C32();
  auto model = AsResNet(CreateModel(config));
  EXPECT_EQ(CountParameters(*model), 6677750);
  EXPECT_EQ(CountParameters(*model->resnet), 5364214);
  EXPECT_EQ(ModelParams(config), 6677750);
  EXPECT_EQ(DescribeModel(config, *model),
            "resnet (basic [3,4,6,3] x [32,64,128,256], se-16, multi_head-16, emb 256): "
            "6,677,750 parameters");
}

// Without its se.* entries the SE-ResNet's state dict is the plain ResNet's (speaker-net's
// listing); each block's SE sits after its last conv.
TEST(SeResNet, StateDictIsResNetPlusSeEntries) {
  const auto lines = ModelLines(*CreateModel(SeResNet34C32()));
  std::vector<std::string> without_se;
  std::vector<std::string> se;
  for (const auto& line : lines) {
    (line.find(".se.") != std::string::npos ? se : without_se).push_back(line);
  }
  EXPECT_EQ(without_se, ReadReferenceLines(ReferenceListing("resnet34-32.txt")));
  ASSERT_EQ(se.size(), 16u * 4);  // 16 blocks x fc_1/fc_2 weight/bias
  EXPECT_EQ(se[0], "resnet.layer1.0.se.fc_1.weight\t(2, 32)\tfloat32");
  EXPECT_EQ(se[1], "resnet.layer1.0.se.fc_1.bias\t(2,)\tfloat32");
  EXPECT_EQ(se[2], "resnet.layer1.0.se.fc_2.weight\t(32, 2)\tfloat32");
  EXPECT_EQ(se[3], "resnet.layer1.0.se.fc_2.bias\t(32,)\tfloat32");
  EXPECT_EQ(se.back(), "resnet.layer4.2.se.fc_2.bias\t(256,)\tfloat32");
  const auto conv2 = std::find(lines.begin(), lines.end(),
                               "resnet.layer1.0.conv2.weight\t(32, 32, 3, 3)\tfloat32");
  ASSERT_NE(conv2, lines.end());
  EXPECT_EQ(*(conv2 + 1), se[0]);
}

// The Bottleneck's SE works on the block's 4 * planes output channels (speaker-net's `planes`
// is a bug, spec §3.7).
TEST(SeResNet, BottleneckSeUsesExpandedChannels) {
  torch::NoGradGuard no_grad;
  ModelConfig c;
  c.resnet.block = "bottleneck";
  c.resnet.layers = {1, 1, 1, 1};
  c.resnet.planes = {8, 8, 16, 16};
  c.resnet.se_ratio = 4;
  auto model = AsResNet(CreateModel(c));
  auto block = model->resnet->layers[3]->ptr<PreActBottleneck>(0);
  ASSERT_TRUE(block->se);
  EXPECT_EQ(block->se->fc_1->weight.sizes(), (std::vector<int64_t>{16, 64}));
  EXPECT_EQ(block->se->fc_2->weight.sizes(), (std::vector<int64_t>{64, 16}));
  model->eval();
  EXPECT_EQ(model->forward(torch::randn({2, 80, 20})).sizes(), (std::vector<int64_t>{2, 16}));
}

// With fc_2 = 0 the excitation is sigmoid(bias) for every input, so the block scales channel c
// of its input by sigmoid(b_c).
TEST(SeResNet, SeBlockScalesChannelsBySigmoidGate) {
  torch::NoGradGuard no_grad;
  SEBlock2d se(8, 4);
  se->fc_2->weight.zero_();
  const auto bias = torch::linspace(-2, 2, 8);
  se->fc_2->bias.copy_(bias);
  const auto x = torch::randn({2, 8, 5, 7});
  const auto expected = x * (1.0 / (1.0 + torch::exp(-bias))).view({1, 8, 1, 1});
  EXPECT_TRUE(torch::allclose(se->forward(x), expected, 1e-5, 1e-6));
  // With random weights the gate is still one value in (0, 1) per (utterance, channel).
  se->fc_2->weight.normal_();
  const auto y = se->forward(x);
  const auto ratio = y / x;
  EXPECT_TRUE((ratio > 0).all().item<bool>());
  EXPECT_TRUE((ratio < 1).all().item<bool>());
  EXPECT_TRUE(torch::allclose(ratio, ratio.slice(2, 0, 1).slice(3, 0, 1).expand_as(ratio), 1e-4,
                              1e-5));
}

TEST(SeResNet, TrainModeBackpropagatesThroughSe) {
  ModelConfig c;
  c.resnet.block = "bottleneck";
  c.resnet.layers = {1, 1, 1, 1};
  c.resnet.planes = {4, 8, 8, 16};
  c.resnet.se_ratio = 4;
  auto model = AsResNet(CreateModel(c));
  model->train();
  model->forward(torch::randn({3, 80, 24})).pow(2).sum().backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
}

TEST(ModelConfig, BottleneckAndSeFromYamlAndValidation) {
  ModelConfig c;
  ReadConfig(YAML::Load("feat_dim: 81\n"
                        "resnet: {block: bottleneck, layers: [3, 4, 23, 3], "
                        "planes: [64, 128, 256, 512], se_ratio: 16}"),
             c);
  EXPECT_EQ(c.resnet.block, "bottleneck");
  EXPECT_EQ(c.resnet.se_ratio, 16);
  ModelConfig bad;
  EXPECT_THROW(ReadConfig(YAML::Load("resnet: {block: bottle}"), bad), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("resnet: {se_ratio: -1}"), bad), Error);
  // 32 channels in layer1 leave no SE units at ratio 64.
  EXPECT_THROW(ReadConfig(YAML::Load("resnet: {se_ratio: 64}"), bad), Error);
  // ... but the bottleneck's 4 * 32 channels do.
  ModelConfig ok;
  ReadConfig(YAML::Load("resnet: {block: bottleneck, se_ratio: 64}"), ok);
}

}  // namespace
}  // namespace speakernet
