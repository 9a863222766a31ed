#include "speakernet/models/repvgg.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "speakernet/common/config.h"
#include "speakernet/models/reference_listing_test_util.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/state_dict.h"

namespace speakernet {
namespace {

// speaker-net's repvgg-B1.yaml: RepVGG-B1-custom, MHA-16, emb 512.
ModelConfig RepVggB1() {
  ModelConfig c;
  c.type = "repvgg";
  return c;
}

// A small RepVGG (same structure, fewer blocks and channels) for fast numerical tests.
ModelConfig SmallRepVgg(const std::string& name = "RepVGG-B1-custom") {
  ModelConfig c = RepVggB1();
  c.repvgg.name = name;
  c.repvgg.num_blocks = {2, 3, 3, 2};
  c.repvgg.planes = {16, 32, 32, 64};
  c.emb_dim = 32;
  return c;
}

std::shared_ptr<RepVggSpeakerModel> AsRepVgg(const std::shared_ptr<SpeakerModel>& m) {
  auto r = std::dynamic_pointer_cast<RepVggSpeakerModel>(m);
  EXPECT_NE(r, nullptr);
  return r;
}

using test::ModelLines;
using test::ReadReferenceLines;
using test::ReferenceListing;

// Gives every trunk BN non-trivial affine parameters and running statistics.
void RandomiseBatchNorms(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& m : model.modules(/*include_self=*/false)) {
    if (auto* bn = m->as<SyncBatchNorm2d>()) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0, 0.2);
      bn->running_mean.normal_(0, 0.2);
      bn->running_var.uniform_(0.5, 2.0);
    }
  }
}

double RelativeL2(const torch::Tensor& a, const torch::Tensor& b) {
  const auto da = a.to(torch::kDouble);
  const auto db = b.to(torch::kDouble);
  return ((da - db).norm() / db.norm()).item<double>();
}

// Spec §3.8.
TEST(RepVgg, TrainTimeParameterCountMatchesSpec) {
  auto model = AsRepVgg(CreateModel(RepVggB1()));
  EXPECT_EQ(CountParameters(*model), 27291904);
  EXPECT_EQ(CountParameters(*model->repvgg), 22043392);
  EXPECT_EQ(CountParameters(*model->repvgg->stage0), 896);
  ASSERT_EQ(model->repvgg->stages.size(), 4u);
  EXPECT_EQ(CountParameters(*model->repvgg->stages[0]), 124032);
  EXPECT_EQ(CountParameters(*model->repvgg->stages[1]), 576256);
  EXPECT_EQ(CountParameters(*model->repvgg->stages[2]), 14780416);
  EXPECT_EQ(CountParameters(*model->repvgg->stages[3]), 6561792);
  EXPECT_EQ(CountParameters(*model->stats), 5120);
  EXPECT_EQ(CountParameters(*model->fc2), 5243392);
  EXPECT_EQ(model->EmbeddingDim(), 512);
  EXPECT_EQ(model->PoolingInputDim(), 5120);
  EXPECT_FALSE(model->Deployed());
}

TEST(RepVgg, DeployedParameterCountMatchesSpec) {
  auto model = CreateModel(RepVggB1());
  SwitchToDeploy(*model);
  EXPECT_TRUE(AsRepVgg(model)->Deployed());
  EXPECT_EQ(CountParameters(*model), 25053248);
  // Built directly as the deploy graph.
  ModelConfig deploy = RepVggB1();
  deploy.repvgg.deploy = true;
  EXPECT_EQ(CountParameters(*CreateModel(deploy)), 25053248);
}

TEST(RepVgg, StateDictMatchesSpeakerNetB1) {
  const auto expected = ReadReferenceLines(ReferenceListing("repvgg-B1.txt"));
  ASSERT_EQ(expected.size(), 564u);
  EXPECT_EQ(ModelLines(*CreateModel(RepVggB1())), expected);
}

// The deploy graph of speaker-net's switch_to_deploy, derived from the train-time listing: each
// block's branches become rbr_reparam.weight (the 3x3 kernel's shape) and rbr_reparam.bias.
std::vector<std::string> DeployListing(const std::vector<std::string>& train) {
  static const std::regex dense(R"(^(.*)\.rbr_dense\.conv\.weight\t\((\d+), (.*)\)\tfloat32$)");
  std::vector<std::string> out;
  for (const auto& line : train) {
    std::smatch m;
    if (std::regex_match(line, m, dense)) {
      out.push_back(m[1].str() + ".rbr_reparam.weight\t(" + m[2].str() + ", " + m[3].str() +
                    ")\tfloat32");
      out.push_back(m[1].str() + ".rbr_reparam.bias\t(" + m[2].str() + ",)\tfloat32");
    } else if (line.find(".rbr_") == std::string::npos) {
      out.push_back(line);
    }
  }
  return out;
}

TEST(RepVgg, DeployStateDictIsSpeakerNetsDeployGraph) {
  const auto expected = DeployListing(ReadReferenceLines(ReferenceListing("repvgg-B1.txt")));
  ASSERT_EQ(expected.size(), 2u * 34 + 6);  // 34 blocks, MHA weight, fc2 (2 params, 3 buffers)
  ModelConfig deploy = RepVggB1();
  deploy.repvgg.deploy = true;
  EXPECT_EQ(ModelLines(*CreateModel(deploy)), expected);
  auto switched = CreateModel(RepVggB1());
  SwitchToDeploy(*switched);
  EXPECT_EQ(ModelLines(*switched), expected);
}

TEST(RepVgg, ShapesForTwoSecondChunk) {
  torch::NoGradGuard no_grad;
  // The shapes depend on the strides and planes only; one block per stage keeps this fast.
  ModelConfig c = RepVggB1();
  c.repvgg.num_blocks = {1, 1, 1, 1};
  auto model = AsRepVgg(CreateModel(c));
  model->eval();
  const auto feats = torch::randn({2, 80, 202});
  EXPECT_EQ(model->ForwardTrunk(feats).sizes(), (std::vector<int64_t>{2, 512, 10, 26}));
  EXPECT_EQ(model->PoolingInputDim(), 5120);
  EXPECT_EQ(model->stats->OutputDim(), 10240);
  EXPECT_EQ(model->forward(feats).sizes(), (std::vector<int64_t>{2, 512}));
}

// The re-parameterised model computes the train-time graph's eval-mode function (spec: relative
// L2 <= 1e-5), on the full B1-custom after train-mode forwards have moved its BN statistics.
TEST(RepVgg, DeployedEmbeddingsMatchTrainTimeB1) {
  torch::manual_seed(3);
  auto model = CreateModel(RepVggB1());
  {
    torch::NoGradGuard no_grad;
    model->train();
    for (int i = 0; i < 3; ++i) model->forward(torch::randn({4, 80, 40}));
  }
  EXPECT_EQ(AsRepVgg(model)->repvgg->stage0->rbr_dense->bn->num_batches_tracked.item<int64_t>(), 3);
  torch::NoGradGuard no_grad;
  model->eval();
  const auto feats = torch::randn({2, 80, 50});
  // The float64 train-time graph, as the yardstick of float32 rounding.
  auto ref = CreateModel(RepVggB1());
  LoadStateDict(*ref, GetStateDict(*model));
  ref->to(torch::kDouble);
  ref->eval();
  const auto exact = ref->forward(feats.to(torch::kDouble));
  const auto before = model->forward(feats);
  SwitchToDeploy(*model);
  const auto after = model->forward(feats);
  ASSERT_EQ(after.sizes(), (std::vector<int64_t>{2, 512}));
  ASSERT_TRUE(torch::isfinite(before).all().item<bool>());
  EXPECT_GT(before.std().item<double>(), 1e-3);
  const double rel = RelativeL2(after, before);
  std::cout << "B1 deploy vs train-time relative L2: " << rel << " (train-time fp32 vs fp64 "
            << RelativeL2(before, exact) << ", deployed fp32 vs fp64 " << RelativeL2(after, exact)
            << ")\n";
  EXPECT_LE(rel, 1e-5);
}

TEST(RepVgg, FusedBlockEqualsBranchesIncludingIdentity) {
  torch::manual_seed(5);
  torch::NoGradGuard no_grad;
  for (const int64_t groups : {1, 2, 4}) {
    RepVggBlock block(8, 8, 1, groups, 0.1, /*deploy=*/false);
    ASSERT_FALSE(block.rbr_identity.is_empty());
    RandomiseBatchNorms(block);
    block.eval();
    const auto x = torch::randn({2, 8, 9, 7});
    const auto expected = block.forward(x);
    block.SwitchToDeploy();
    EXPECT_EQ(block.rbr_reparam->weight.sizes(), (std::vector<int64_t>{8, 8 / groups, 3, 3}));
    EXPECT_EQ(block.rbr_reparam->options.groups(), groups);
    EXPECT_LE(RelativeL2(block.forward(x), expected), 1e-6) << "groups " << groups;
    EXPECT_EQ(block.named_parameters().size(), 2u);
  }
  // Strided, channel-changing block (no identity branch).
  RepVggBlock down(4, 8, 2, 1, 0.1, false);
  EXPECT_TRUE(down.rbr_identity.is_empty());
  RandomiseBatchNorms(down);
  down.eval();
  const auto x = torch::randn({1, 4, 11, 6});
  const auto expected = down.forward(x);
  down.SwitchToDeploy();
  const auto got = down.forward(x);
  EXPECT_EQ(got.sizes(), (std::vector<int64_t>{1, 8, 6, 3}));
  EXPECT_LE(RelativeL2(got, expected), 1e-6);
}

TEST(RepVgg, PresetsResolveToPaperWidths) {
  RepVggConfig c;
  EXPECT_EQ(c.ResolvedNumBlocks(), (std::vector<int64_t>{3, 4, 23, 3}));
  EXPECT_EQ(c.ResolvedPlanes(), (std::vector<int64_t>{64, 128, 256, 512}));
  c.name = "RepVGG-A0";
  EXPECT_EQ(c.ResolvedNumBlocks(), (std::vector<int64_t>{2, 4, 14, 1}));
  EXPECT_EQ(c.ResolvedPlanes(), (std::vector<int64_t>{48, 96, 192, 1280}));
  c.name = "RepVGG-A2";
  EXPECT_EQ(c.ResolvedPlanes(), (std::vector<int64_t>{96, 192, 384, 1408}));
  c.name = "RepVGG-B1g2";
  EXPECT_EQ(c.ResolvedNumBlocks(), (std::vector<int64_t>{4, 6, 16, 1}));
  EXPECT_EQ(c.ResolvedPlanes(), (std::vector<int64_t>{128, 256, 512, 2048}));
  EXPECT_EQ(c.GroupsOfLayer(0), 1);
  EXPECT_EQ(c.GroupsOfLayer(1), 1);
  EXPECT_EQ(c.GroupsOfLayer(2), 2);
  EXPECT_EQ(c.GroupsOfLayer(3), 1);
  EXPECT_EQ(c.GroupsOfLayer(26), 2);
  EXPECT_EQ(c.GroupsOfLayer(28), 1);
  c.name = "RepVGG-B3g4";
  EXPECT_EQ(c.ResolvedPlanes(), (std::vector<int64_t>{192, 384, 768, 2560}));
  EXPECT_EQ(c.GroupsOfLayer(4), 4);
  c.name = "RepVGG-B1";
  EXPECT_EQ(c.GroupsOfLayer(2), 1);
  EXPECT_EQ(RepVggConfig::PresetNames().size(), 14u);
  for (const auto& name : RepVggConfig::PresetNames()) {
    RepVggConfig p;
    p.name = name;
    EXPECT_NO_THROW(p.Validate()) << name;
  }
}

TEST(RepVgg, GroupwisePresetB1g2BuildsAndFuses) {
  torch::manual_seed(11);
  ModelConfig c = RepVggB1();
  c.repvgg.name = "RepVGG-B1g2";
  auto model = AsRepVgg(CreateModel(c));
  // stage0 64; stage1 blocks are layers 1..4: layers 2 and 4 are group-wise (g2).
  const auto& stage1 = model->repvgg->stages[0];
  EXPECT_EQ(stage1->ptr<RepVggBlock>(0)->rbr_dense->conv->weight.sizes(),
            (std::vector<int64_t>{128, 64, 3, 3}));
  EXPECT_EQ(stage1->ptr<RepVggBlock>(1)->rbr_dense->conv->weight.sizes(),
            (std::vector<int64_t>{128, 64, 3, 3}));
  EXPECT_EQ(stage1->ptr<RepVggBlock>(1)->rbr_1x1->conv->options.groups(), 2);
  EXPECT_EQ(stage1->ptr<RepVggBlock>(2)->rbr_dense->conv->weight.sizes(),
            (std::vector<int64_t>{128, 128, 3, 3}));
  EXPECT_EQ(model->repvgg->OutputChannels(), 2048);
  EXPECT_EQ(model->EmbeddingDim(), 512);

  torch::NoGradGuard no_grad;
  model->train();
  for (int i = 0; i < 3; ++i) model->forward(torch::randn({4, 80, 24}));
  model->eval();
  const auto feats = torch::randn({2, 80, 24});
  const auto before = model->forward(feats);
  SwitchToDeploy(*model);
  EXPECT_EQ(stage1->ptr<RepVggBlock>(1)->rbr_reparam->weight.sizes(),
            (std::vector<int64_t>{128, 64, 3, 3}));
  const double rel = RelativeL2(model->forward(feats), before);
  std::cout << "B1g2 deploy vs train-time relative L2: " << rel << "\n";
  // float32 rounding through the 2048-channel last stage: 8.5e-6 measured; the fusion itself is
  // exact (FusionIsExactInDoublePrecision covers the same group-wise layout in float64).
  EXPECT_LE(rel, 5e-5);
}

TEST(RepVgg, GroupwiseSmallModelFusesAndLoadsIntoDeployConfig) {
  torch::manual_seed(13);
  ModelConfig c = SmallRepVgg("RepVGG-B1g4");
  auto model = CreateModel(c);
  {
    torch::NoGradGuard no_grad;
    model->train();
    model->forward(torch::randn({4, 80, 30}));
  }
  RandomiseBatchNorms(*model);
  torch::NoGradGuard no_grad;
  model->eval();
  const auto feats = torch::randn({3, 80, 33});
  const auto before = model->forward(feats);
  SwitchToDeploy(*model);
  const auto after = model->forward(feats);
  EXPECT_LE(RelativeL2(after, before), 1e-5);
  SwitchToDeploy(*model);  // a no-op the second time
  EXPECT_TRUE(torch::equal(model->forward(feats), after));

  // The deployed state dict loads into a model built with repvgg.deploy = true.
  ModelConfig d = c;
  d.repvgg.deploy = true;
  auto deployed = CreateModel(d);
  LoadStateDict(*deployed, GetStateDict(*model));
  deployed->eval();
  EXPECT_TRUE(torch::allclose(deployed->forward(feats), after, 1e-6, 1e-6));
}

// In float64 the fusion is exact up to rounding, even with arbitrary BN statistics.
TEST(RepVgg, FusionIsExactInDoublePrecision) {
  torch::manual_seed(17);
  auto model = CreateModel(SmallRepVgg("RepVGG-B1g2"));
  RandomiseBatchNorms(*model);
  model->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  model->eval();
  const auto feats = torch::randn({2, 80, 21}, torch::kDouble);
  const auto before = model->forward(feats);
  SwitchToDeploy(*model);
  EXPECT_EQ(AsRepVgg(model)->repvgg->stage0->rbr_reparam->weight.scalar_type(), torch::kDouble);
  EXPECT_LE(RelativeL2(model->forward(feats), before), 1e-12);
}

TEST(RepVgg, TrainModeBackpropagatesThroughEveryBranch) {
  auto model = CreateModel(SmallRepVgg());
  model->train();
  auto out = model->forward(torch::randn({4, 80, 20}));
  out.pow(2).sum().backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
  EXPECT_EQ(AsRepVgg(model)->fc2->batchnorm->options.momentum().value(), 0.1);
}

TEST(RepVgg, ConfigValidationAndDescription) {
  ModelConfig c;
  ReadConfig(YAML::Load("type: repvgg\nrepvgg: {name: RepVGG-A0}"), c);
  EXPECT_EQ(c.repvgg.ResolvedNumBlocks(), (std::vector<int64_t>{2, 4, 14, 1}));
  EXPECT_EQ(c.EmbeddingDim(), 512);
  ModelConfig bad;
  EXPECT_THROW(ReadConfig(YAML::Load("repvgg: {name: RepVGG-Z9}"), bad), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("repvgg: {strides: [1, 2, 2, 2]}"), bad), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("repvgg: {num_blocks: [1, 0, 1, 1]}"), bad), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("repvgg: {name: RepVGG-B1g4, planes: [16, 30, 32, 64]}"),
                          bad),
               Error);

  ModelConfig small = SmallRepVgg();
  auto model = CreateModel(small);
  EXPECT_EQ(DescribeModel(small, *model).rfind("repvgg (RepVGG-B1-custom [2,3,3,2] x [16,32,32,64], "
                                               "multi_head-16, emb 32): ",
                                               0),
            0u)
      << DescribeModel(small, *model);
  SwitchToDeploy(*model);
  EXPECT_NE(DescribeModel(small, *model).find("deploy, "), std::string::npos);

  // Only RepVGG models can be re-parameterised.
  ModelConfig resnet;
  resnet.resnet.layers = {1, 1, 1, 1};
  auto r = CreateModel(resnet);
  EXPECT_THROW(SwitchToDeploy(*r), Error);
  EXPECT_THROW(CreateModel(small)->forward(torch::randn({1, 40, 20})), Error);
}

}  // namespace
}  // namespace speakernet
