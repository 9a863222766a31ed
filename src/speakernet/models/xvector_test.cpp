// speaker-net's x-vector TDNN (spec §3.7). Counts from the spec and hand-derived per layer.
#include "speakernet/models/xvector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "speakernet/common/config.h"
#include "speakernet/models/reference_listing_test_util.h"
#include "speakernet/models/speaker_model.h"

namespace speakernet {
namespace {

ModelConfig XVector() {
  ModelConfig c;
  c.type = "xvector";
  c.pooling.type = "statistics";
  return c;
}

std::shared_ptr<XVectorSpeakerModel> AsXVector(const std::shared_ptr<SpeakerModel>& m) {
  auto x = std::dynamic_pointer_cast<XVectorSpeakerModel>(m);
  EXPECT_NE(x, nullptr);
  return x;
}

// Conv1d with bias + BN (weight, bias).
int64_t Tdnn(int64_t in, int64_t out, int64_t kernel) { return in * out * kernel + out + 2 * out; }

TEST(XVector, ParameterCountMatchesSpec) {
  const auto config = XVector();
  auto model = AsXVector(CreateModel(config));
  EXPECT_EQ(CountParameters(*model), 4619668);
  EXPECT_EQ(CountParameters(*model->tdnn1), Tdnn(80, 512, 5));
  EXPECT_EQ(CountParameters(*model->tdnn2), Tdnn(512, 512, 3));
  EXPECT_EQ(CountParameters(*model->tdnn3), Tdnn(512, 512, 3));
  EXPECT_EQ(CountParameters(*model->tdnn4), Tdnn(512, 512, 1));
  EXPECT_EQ(CountParameters(*model->tdnn5), Tdnn(512, 1500, 1));
  EXPECT_EQ(CountParameters(*model->stats), 0);
  EXPECT_EQ(CountParameters(*model->tdnn6), Tdnn(3000, 512, 1));
  EXPECT_EQ(CountParameters(*model->tdnn7), Tdnn(512, 512, 1));
  EXPECT_EQ(model->EmbeddingDim(), 512);
  EXPECT_EQ(DescribeModel(config, *model), "xvector (statistics, emb 512): 4,619,668 parameters");
}

TEST(XVector, StateDictNamesShapesAndOrder) {
  const auto lines = test::ModelLines(*CreateModel(XVector()));
  std::vector<std::string> expected;
  const std::vector<std::pair<std::string, std::string>> layers = {
      {"tdnn1", "(512, 80, 5)"},    {"tdnn2", "(512, 512, 3)"}, {"tdnn3", "(512, 512, 3)"},
      {"tdnn4", "(512, 512, 1)"},   {"tdnn5", "(1500, 512, 1)"}, {"tdnn6", "(512, 3000, 1)"},
      {"tdnn7", "(512, 512, 1)"}};
  for (const auto& [name, shape] : layers) {
    const std::string out = shape.substr(1, shape.find(',') - 1);
    expected.push_back(name + ".affine.weight\t" + shape + "\tfloat32");
    expected.push_back(name + ".affine.bias\t(" + out + ",)\tfloat32");
    for (const char* p : {"weight", "bias", "running_mean", "running_var"}) {
      expected.push_back(name + ".batchnorm." + p + "\t(" + out + ",)\tfloat32");
    }
    expected.push_back(name + ".batchnorm.num_batches_tracked\t()\tint64");
  }
  EXPECT_EQ(lines, expected);
}

TEST(XVector, ContextsAndBatchNormMomentum) {
  auto model = AsXVector(CreateModel(XVector()));
  model->eval();
  torch::NoGradGuard no_grad;
  auto check = [](Conv1dBnReluLayer layer, int64_t kernel, int64_t dilation) {
    const auto& o = layer->affine->options;
    EXPECT_EQ(o.kernel_size()->at(0), kernel);
    EXPECT_EQ(o.dilation()->at(0), dilation);
    // The padding keeps the frame count.
    EXPECT_EQ(layer->forward(torch::randn({1, o.in_channels(), 11})).size(2), 11);
    EXPECT_DOUBLE_EQ(layer->batchnorm->options.momentum().value(), 0.1);
    EXPECT_TRUE(layer->batchnorm->options.affine());
  };
  check(model->tdnn1, 5, 1);  // [-2..2]
  check(model->tdnn2, 3, 2);  // [-2, 0, 2]
  check(model->tdnn3, 3, 3);  // [-3, 0, 3]
  check(model->tdnn4, 1, 1);
  check(model->tdnn5, 1, 1);
  check(model->tdnn6, 1, 1);
  check(model->tdnn7, 1, 1);
}

TEST(XVector, ShapesAndNearEmbedding) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(11);
  auto model = AsXVector(CreateModel(XVector()));
  model->eval();
  const auto feats = torch::randn({2, 80, 37});
  EXPECT_EQ(model->ForwardFrames(feats).sizes(), (std::vector<int64_t>{2, 1500, 37}));
  const auto emb = model->forward(feats);
  EXPECT_EQ(emb.sizes(), (std::vector<int64_t>{2, 512}));
  // The embedding is tdnn7's affine output: the classifier input is ReLU -> BN of it.
  const auto cls = model->ForwardClassifierInput(feats);
  EXPECT_EQ(cls.sizes(), (std::vector<int64_t>{2, 512}));
  const auto& bn = model->tdnn7->batchnorm;
  const auto expected = (torch::relu(emb) - bn->running_mean) /
                            torch::sqrt(bn->running_var + bn->options.eps()) * bn->weight +
                        bn->bias;
  EXPECT_TRUE(torch::allclose(cls, expected, 1e-5, 1e-6));
  // ... and is not itself rectified.
  EXPECT_LT(emb.min().item<double>(), 0.0);
}

TEST(XVector, EvalModeIsDeterministicAndPerUtterance) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(12);
  auto model = CreateModel(XVector());
  model->eval();
  const auto feats = torch::randn({3, 80, 50});
  const auto a = model->forward(feats);
  EXPECT_TRUE(torch::equal(a, model->forward(feats)));
  EXPECT_TRUE(torch::allclose(model->forward(feats.slice(0, 1, 2)), a.slice(0, 1, 2), 1e-4, 1e-5));
}

TEST(XVector, TrainModeBackpropagatesFromClassifierInput) {
  auto model = AsXVector(CreateModel(XVector()));
  model->train();
  model->ForwardClassifierInput(torch::randn({4, 80, 20})).pow(2).sum().backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
  EXPECT_EQ(model->tdnn7->batchnorm->num_batches_tracked.item<int64_t>(), 1);
}

TEST(XVector, ConfigValidation) {
  ModelConfig c;
  ReadConfig(YAML::Load("type: xvector\npooling: {type: statistics}\nfeat_dim: 30"), c);
  auto model = AsXVector(CreateModel(c));
  EXPECT_EQ(model->tdnn1->affine->weight.sizes(), (std::vector<int64_t>{512, 30, 5}));
  EXPECT_THROW(model->forward(torch::randn({1, 80, 20})), Error);
  ModelConfig bad;
  // Any pooling is accepted; the default multi_head-16 cannot split tdnn5's 1500 channels.
  ReadConfig(YAML::Load("type: xvector"), bad);
  EXPECT_THROW(CreateModel(bad), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("type: tdnn"), bad), Error);
  ModelConfig emb;
  ReadConfig(YAML::Load("type: xvector\npooling: {type: statistics}\nemb_dim: 128"), emb);
  EXPECT_EQ(CreateModel(emb)->EmbeddingDim(), 128);
}

}  // namespace
}  // namespace speakernet
