#include "speakernet/models/ecapa_tdnn.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "speakernet/common/config.h"
#include "speakernet/common/test_util.h"
#include "speakernet/models/conv1d_bn_layer.h"
#include "speakernet/models/pooling.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/reference_listing_test_util.h"
#include "speakernet/models/state_dict.h"

namespace speakernet {
namespace {

// speaker-net's ecapa-tdnn-c512_sgd.yaml / -c1024_sgd.yaml (emb_dim 0 = 192, the Encoder default).
ModelConfig Ecapa(int64_t channels, int64_t emb_dim) {
  ModelConfig c;
  c.type = "ecapa";
  c.pooling.type = "channel_context";
  c.ecapa.channels = channels;
  c.emb_dim = emb_dim;
  return c;
}

std::shared_ptr<EcapaTdnnSpeakerModel> AsEcapa(const std::shared_ptr<SpeakerModel>& m) {
  auto r = std::dynamic_pointer_cast<EcapaTdnnSpeakerModel>(m);
  EXPECT_NE(r, nullptr);
  return r;
}

using test::ModelLines;
using test::ReadReferenceLines;
using test::ReferenceListing;

// Spec §3.8.
TEST(EcapaTdnn, ParameterCountC512Emb192MatchesSpec) {
  auto model = CreateModel(Ecapa(512, 0));
  EXPECT_EQ(model->EmbeddingDim(), 192);
  EXPECT_EQ(CountParameters(*model), 6190720);
}

TEST(EcapaTdnn, ParameterCountC512Emb256MatchesSpec) {
  auto model = AsEcapa(CreateModel(Ecapa(512, 256)));
  EXPECT_EQ(CountParameters(*model), 6387392);
  // Breakdown from the spec (§3.8).
  EXPECT_EQ(CountParameters(*model->layer1), 206336);
  ASSERT_EQ(model->blocks.size(), 3u);
  for (const auto& block : model->blocks) EXPECT_EQ(CountParameters(*block), 746432);
  EXPECT_EQ(CountParameters(*model->aggregation), 2360832);
  EXPECT_EQ(CountParameters(*model->pooling), 788096);
  EXPECT_EQ(CountParameters(*model->bn_pool), 6144);
  EXPECT_EQ(CountParameters(*model->fc2), 786688);
}

TEST(EcapaTdnn, ParameterCountC1024Emb512MatchesSpec) {
  auto model = CreateModel(Ecapa(1024, 512));
  EXPECT_EQ(CountParameters(*model), 23514368);
}

TEST(EcapaTdnn, StateDictMatchesSpeakerNetC512) {
  const auto expected = ReadReferenceLines(ReferenceListing("ecapa-tdnn-c512_sgd.txt"));
  ASSERT_EQ(expected.size(), 224u);
  EXPECT_EQ(ModelLines(*CreateModel(Ecapa(512, 256))), expected);
}

TEST(EcapaTdnn, StateDictMatchesSpeakerNetC1024) {
  const auto expected = ReadReferenceLines(ReferenceListing("ecapa-tdnn-c1024_sgd.txt"));
  ASSERT_EQ(expected.size(), 224u);
  EXPECT_EQ(ModelLines(*CreateModel(Ecapa(1024, 512))), expected);
}

TEST(EcapaTdnn, BatchNormMomentumIsPointOneEverywhere) {
  auto model = CreateModel(Ecapa(512, 256));
  int bns = 0;
  for (const auto& m : model->modules()) {
    if (const auto* bn = m->as<SyncBatchNorm1d>()) {
      ++bns;
      ASSERT_TRUE(bn->options.momentum().has_value());
      EXPECT_DOUBLE_EQ(*bn->options.momentum(), 0.1);
    }
  }
  EXPECT_EQ(bns, 1 + 3 * 9 + 1 + 1);  // layer1, 3 x (T1, 7 Res2 convs, T2), bn_pool, fc2
}

TEST(EcapaTdnn, ShapesForTwoSecondChunk) {
  torch::NoGradGuard no_grad;
  auto model = AsEcapa(CreateModel(Ecapa(512, 256)));
  model->eval();
  const auto feats = torch::randn({2, 80, 202});
  EXPECT_EQ(model->ForwardTrunk(feats).sizes(), (std::vector<int64_t>{2, 1536, 202}));
  EXPECT_EQ(model->PoolingInputDim(), 1536);
  EXPECT_EQ(model->forward(feats).sizes(), (std::vector<int64_t>{2, 256}));
  auto def = CreateModel(Ecapa(512, 0));
  def->eval();
  EXPECT_EQ(def->forward(feats).sizes(), (std::vector<int64_t>{2, 192}));
}

// Inference on one thread routes the 1x1 convolutions to oneDNN (conv1d_bn_layer.h); the
// embedding must be LibTorch's own, and training (autograd) must keep LibTorch's path.
TEST(EcapaTdnn, OneThreadPointwiseConvsInOneDnnEqualLibTorch) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "this LibTorch has no oneDNN";
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  torch::manual_seed(3);
  auto model = CreateModel(Ecapa(64, 32));
  model->eval();
  const auto feats = torch::randn({2, 80, 157});
  torch::Tensor fast, slow;
  {
    torch::NoGradGuard no_grad;
    ASSERT_TRUE(PointwiseConvOneDnn());
    fast = model->forward(feats);
    SetPointwiseConvOneDnn(false);
    slow = model->forward(feats);
    SetPointwiseConvOneDnn(true);
  }
  const double scale = slow.abs().max().item<double>();
  EXPECT_LE((fast - slow).abs().max().item<double>(), 1e-5 * std::max(1.0, scale));
  EXPECT_GT((fast - slow).abs().max().item<double>(), 0.0)
      << "identical to the last bit: the oneDNN path was probably not taken";
  // With autograd on, gradients must flow (LibTorch's path) and the output stays the same.
  auto out = model->forward(feats);
  out.sum().backward();
  EXPECT_TRUE(model->parameters()[0].grad().defined());
  EXPECT_LE((out.detach() - slow).abs().max().item<double>(), 1e-5 * std::max(1.0, scale));
  at::set_num_threads(threads);
}

TEST(EcapaTdnn, Res2LastSplitIsUntouched) {
  // The output's last C/scale channels are the input's last split; the others depend on it not.
  torch::NoGradGuard no_grad;
  Res2Conv1d res2(16, 4, 2, 0.1);
  res2->eval();
  const auto x = torch::randn({2, 16, 9});
  const auto y = res2->forward(x);
  EXPECT_TRUE(torch::equal(y.slice(1, 12, 16), x.slice(1, 12, 16)));
  auto x2 = x.clone();
  x2.slice(1, 12, 16).add_(5.0);
  EXPECT_TRUE(torch::equal(res2->forward(x2).slice(1, 0, 12), y.slice(1, 0, 12)));
  // The first split feeds every later conv output (hierarchical residual connections).
  auto x3 = x.clone();
  x3.slice(1, 0, 4).add_(5.0);
  const auto y3 = res2->forward(x3);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(torch::allclose(y3.slice(1, 4 * i, 4 * i + 4), y.slice(1, 4 * i, 4 * i + 4)));
  }
}

TEST(EcapaTdnn, SqueezeExcitationIsSigmoidGatedMean) {
  torch::NoGradGuard no_grad;
  SqueezeExcitation se(4, 2);
  const auto x = torch::randn({1, 4, 6});
  // Hand-derived: gate = sigmoid(W2 relu(W1 mean_t x + b1) + b2).
  const auto m = x.mean(2).squeeze(0);
  const auto h = torch::relu(se->linear1->weight.matmul(m) + se->linear1->bias);
  const auto g = torch::sigmoid(se->linear2->weight.matmul(h) + se->linear2->bias);
  EXPECT_TRUE(torch::allclose(se->forward(x), x * g.reshape({1, 4, 1}), 1e-6, 1e-6));
}

TEST(ChannelContextPooling, ZeroAttentionIsPlainStatistics) {
  // A zero last_affine gives uniform weights, so mu/sigma are the plain mean and biased std.
  torch::NoGradGuard no_grad;
  ChannelContextStatisticsPooling pool(6, 5);
  pool.attention->last_affine->affine->weight.zero_();
  pool.attention->last_affine->affine->bias.zero_();
  StatisticsPooling stats(6);
  const auto x = torch::randn({3, 6, 17});
  EXPECT_TRUE(torch::allclose(pool.forward(x), stats.forward(x), 1e-5, 1e-5));
}

TEST(ChannelContextPooling, HandDerivedChannelWeights) {
  // Hidden size 1 whose unit sees only channel 0 of x (not the mean/std copies): h_t =
  // tanh(x_0t). last_affine weights [1, -1] give channel 0 the weights softmax_t(h_t) and
  // channel 1 softmax_t(-h_t): different weights per channel.
  torch::NoGradGuard no_grad;
  ChannelContextStatisticsPooling pool(2, 1);
  auto& fw = pool.attention->first_affine->affine->weight;  // [1, 6, 1]
  fw.zero_();
  fw[0][0][0] = 1.0;
  pool.attention->first_affine->affine->bias.zero_();
  auto& lw = pool.attention->last_affine->affine->weight;  // [2, 1, 1]
  lw[0][0][0] = 1.0;
  lw[1][0][0] = -1.0;
  pool.attention->last_affine->affine->bias.zero_();
  const auto x =
      torch::tensor({0.5f, -1.0f, 2.0f, 0.0f, 1.0f, 3.0f, -2.0f, 1.0f}).reshape({1, 2, 4});
  const auto y = pool.forward(x).squeeze();
  std::vector<double> expected(4);
  for (int d = 0; d < 2; ++d) {
    std::vector<double> w(4);
    double z = 0;
    for (int t = 0; t < 4; ++t) {
      w[t] = std::exp((d == 0 ? 1 : -1) * std::tanh(x[0][0][t].item<double>()));
      z += w[t];
    }
    double mu = 0, m2 = 0;
    for (int t = 0; t < 4; ++t) {
      const double v = x[0][d][t].item<double>();
      mu += w[t] / z * v;
      m2 += w[t] / z * v * v;
    }
    expected[d] = mu;
    expected[2 + d] = std::sqrt(m2 - mu * mu);
  }
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i].item<double>(), expected[i], 1e-5) << i;
}

TEST(ChannelContextPooling, ContextUsesUnbiasedStd) {
  // The hidden unit sees x with weight 1 and the std copy with weight -1: h_t = tanh(x_t - s),
  // s = sqrt(unbiased var + 1e-10); alpha = softmax_t(3 h_t). A biased std would differ.
  torch::NoGradGuard no_grad;
  ChannelContextStatisticsPooling pool(1, 1);
  auto& fw = pool.attention->first_affine->affine->weight;  // [1, 3, 1]: x, mean, std copies
  fw.zero_();
  fw[0][0][0] = 1.0;
  fw[0][2][0] = -1.0;
  pool.attention->first_affine->affine->bias.zero_();
  pool.attention->last_affine->affine->weight.fill_(3.0);
  pool.attention->last_affine->affine->bias.zero_();
  const std::vector<double> v{1.0, 2.0, 4.0};
  const auto x = torch::tensor({1.0f, 2.0f, 4.0f}).reshape({1, 1, 3});
  const double mean = 7.0 / 3.0;
  double ss = 0;
  for (double e : v) ss += (e - mean) * (e - mean);
  const double s = std::sqrt(ss / 2.0 + 1e-10);  // unbiased
  std::vector<double> w(3);
  double z = 0;
  for (int t = 0; t < 3; ++t) z += (w[t] = std::exp(3.0 * std::tanh(v[t] - s)));
  double mu = 0, m2 = 0;
  for (int t = 0; t < 3; ++t) {
    mu += w[t] / z * v[t];
    m2 += w[t] / z * v[t] * v[t];
  }
  const auto y = pool.forward(x).squeeze();
  EXPECT_NEAR(y[0].item<double>(), mu, 1e-5);
  EXPECT_NEAR(y[1].item<double>(), std::sqrt(m2 - mu * mu), 1e-5);
}

TEST(EcapaTdnn, EvalModeIsDeterministicAndPerUtterance) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  ModelConfig c = Ecapa(64, 32);
  auto model = CreateModel(c);
  model->eval();
  const auto feats = torch::randn({3, 80, 120});
  const auto a = model->forward(feats);
  EXPECT_TRUE(torch::equal(a, model->forward(feats)));
  const auto single = model->forward(feats.slice(0, 1, 2));
  EXPECT_TRUE(torch::allclose(single, a.slice(0, 1, 2), /*rtol=*/1e-4, /*atol=*/1e-5));
}

TEST(EcapaTdnn, TrainModeUpdatesBatchNormStatisticsAndBackpropagates) {
  auto model = AsEcapa(CreateModel(Ecapa(32, 16)));
  model->train();
  const auto feats = torch::randn({4, 80, 40});
  auto out = model->forward(feats);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{4, 16}));
  EXPECT_EQ(model->fc2->batchnorm->num_batches_tracked.item<int64_t>(), 1);
  EXPECT_EQ(model->bn_pool->num_batches_tracked.item<int64_t>(), 1);
  EXPECT_GT(model->fc2->batchnorm->running_mean.abs().sum().item<double>(), 0.0);
  out.pow(2).sum().backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
}

TEST(EcapaTdnn, FollowsModuleToDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::NoGradGuard no_grad;
  auto model = CreateModel(Ecapa(64, 32));
  model->eval();
  const auto feats = torch::randn({2, 80, 60});
  const auto cpu = model->forward(feats);
  model->to(torch::kCUDA);
  const auto gpu = model->forward(feats.to(torch::kCUDA));
  EXPECT_EQ(gpu.device().type(), torch::kCUDA);
  EXPECT_TRUE(torch::allclose(gpu.cpu(), cpu, 1e-3, 1e-3));
}

TEST(EcapaTdnn, RejectsWrongFeatureShape) {
  auto model = CreateModel(Ecapa(32, 16));
  EXPECT_THROW(model->forward(torch::randn({2, 40, 100})), Error);
}

using test::ExpectClose;
using test::ToVector;

// Same weights, same input: the embeddings of an independent PyTorch implementation of the spec
// (testdata/ecapa_reference.py), in train mode (batch statistics, then the running-stat update)
// and in eval mode.
void CheckAgainstPython(const ModelConfig& config, int64_t batch, int64_t frames) {
  torch::manual_seed(11);
  auto model = CreateModel(config);
  {
    // Non-trivial BN affine parameters and running statistics, so every tensor matters.
    torch::NoGradGuard no_grad;
    for (auto& m : model->modules()) {
      if (auto* bn = m->as<SyncBatchNorm1d>()) {
        if (bn->weight.defined()) {
          bn->weight.uniform_(0.5, 1.5);
          bn->bias.normal_(0, 0.2);
        }
        bn->running_mean.normal_(0, 0.2);
        bn->running_var.uniform_(0.5, 2.0);
      }
    }
  }
  const auto feats = torch::randn({batch, config.feat_dim, frames});
  test::ScratchDir dir("models_ecapa_parity");
  for (const auto& [name, t] : GetStateDict(*model)) {
    test::WriteRawFloats(dir / (name + ".bin"), ToVector(t.to(torch::kFloat)));
  }
  test::WriteRawFloats(dir / "input.bin", ToVector(feats));

  torch::NoGradGuard no_grad;
  model->train();
  const auto out_train = model->forward(feats);
  model->eval();
  const auto out_eval = model->forward(feats);

  const auto printed = test::RunPython(
      test::SourcePath("src/speakernet/models/testdata/ecapa_reference.py"),
      {dir.str(), std::to_string(config.feat_dim), std::to_string(frames), std::to_string(batch),
       std::to_string(config.ecapa.channels), std::to_string(config.ecapa.scale),
       fmt::format("{}", fmt::join(config.ecapa.dilations, ",")),
       std::to_string(config.ecapa.se_reduction), std::to_string(config.pooling.hidden_size),
       std::to_string(model->EmbeddingDim()), fmt::format("{}", config.ecapa.bn_momentum)});
  EXPECT_EQ(std::stoul(printed), GetStateDict(*model).size());
  ExpectClose(test::ReadRawFloats(dir / "out_train.bin"), out_train, 1e-4, "train-mode embeddings");
  ExpectClose(test::ReadRawFloats(dir / "out_eval.bin"), out_eval, 1e-4, "eval-mode embeddings");
  auto ecapa = AsEcapa(model);
  ExpectClose(test::ReadRawFloats(dir / "bn_pool_running_mean.bin"), ecapa->bn_pool->running_mean,
              1e-4, "bn_pool running mean");
  ExpectClose(test::ReadRawFloats(dir / "fc2_running_mean.bin"),
              ecapa->fc2->batchnorm->running_mean, 1e-4, "fc2 running mean");
}

TEST(EcapaTdnn, MatchesIndependentPyTorchC512) { CheckAgainstPython(Ecapa(512, 256), 3, 100); }

TEST(EcapaTdnn, MatchesIndependentPyTorchSmallVariant) {
  ModelConfig c = Ecapa(48, 24);
  c.feat_dim = 81;
  c.ecapa.scale = 4;
  c.ecapa.dilations = {2, 5};
  c.ecapa.se_reduction = 8;
  c.ecapa.bn_momentum = 0.3;
  c.pooling.hidden_size = 16;
  CheckAgainstPython(c, 4, 37);
}

TEST(EcapaConfig, FromYamlAndValidation) {
  ModelConfig c;
  ReadConfig(YAML::Load("type: ecapa\necapa: {channels: 1024}\npooling: {type: channel_context}\n"
                        "emb_dim: 512"),
             c);
  EXPECT_EQ(c.ecapa.channels, 1024);
  EXPECT_EQ(c.EmbeddingDim(), 512);
  ModelConfig d;
  ReadConfig(YAML::Load("type: ecapa\npooling: {type: channel_context}"), d);
  EXPECT_EQ(d.EmbeddingDim(), 192);
  ModelConfig bad;
  // Any pooling is accepted (speaker-net's ECAPA recipes use channel_context).
  ReadConfig(YAML::Load("type: ecapa\npooling: {type: attentive}"), bad);
  EXPECT_THROW(ReadConfig(YAML::Load("type: ecapa\npooling: {type: channel_context}\n"
                                     "ecapa: {scale: 7}"),
                          bad),
               Error);
  EXPECT_THROW(ReadConfig(YAML::Load("type: ecapa\npooling: {type: channel_context}\n"
                                     "ecapa: {dilations: []}"),
                          bad),
               Error);
  EXPECT_THROW(ReadConfig(YAML::Load("type: ecapa\npooling: {type: channel_context}\n"
                                     "ecapa: {se_reduction: 0}"),
                          bad),
               Error);
  EXPECT_THROW(ReadConfig(YAML::Load("pooling: {type: channel_context, hidden_size: 0}"), bad),
               Error);
}

TEST(EcapaConfig, DescribeModelIsOneLine) {
  const ModelConfig c = Ecapa(512, 0);
  EXPECT_EQ(DescribeModel(c, *CreateModel(c)),
            "ecapa (C 512, dilations [2,3,4], scale 8, channel_context, emb 192): "
            "6,190,720 parameters");
}

TEST(EcapaConfig, ResNetWithChannelContextPooling) {
  // The pooling is generic: it also serves the ResNet trunk (input dim 2560 -> 5120).
  ModelConfig c;
  c.resnet.layers = {1, 1, 1, 1};
  c.resnet.planes = {4, 8, 8, 16};
  c.pooling.type = "channel_context";
  torch::NoGradGuard no_grad;
  auto model = CreateModel(c);
  model->eval();
  EXPECT_EQ(model->forward(torch::randn({2, 80, 50})).sizes(), (std::vector<int64_t>{2, 16}));
}

}  // namespace
}  // namespace speakernet
