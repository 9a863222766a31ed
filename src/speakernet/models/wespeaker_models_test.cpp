// WeSpeaker's architectures (wespeaker_resnet, wespeaker_ecapa, campplus) against the state-dict
// listings of WeSpeaker's VoxCeleb release models (testdata/wespeaker-*.txt: name, shape and dtype
// of every tensor, in order, as WeSpeaker's own code builds them), and the release-config reader.
// The numerical checks against a PyTorch build of each model are in
// tests/wespeaker_import_test.sh.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/state_dict.h"
#include "speakernet/models/wespeaker_release.h"

namespace speakernet {
namespace {

struct Listing {
  std::vector<std::string> lines;  // projection.* (the training head) left out
  int64_t parameters = -1;         // the header's "parameters without projection"
};

Listing ReadListing(const std::string& name) {
  const std::string path = test::SourcePath("src/speakernet/models/testdata/wespeaker-" + name);
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  Listing l;
  const std::string marker = "# parameters without projection: ";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(marker, 0) == 0) l.parameters = std::stoll(line.substr(marker.size()));
    if (line.empty() || line[0] == '#' || line.rfind("projection.", 0) == 0) continue;
    l.lines.push_back(line);
  }
  return l;
}

std::vector<std::string> Lines(const torch::nn::Module& model) {
  std::vector<std::string> lines;
  for (const auto& [name, t] : GetStateDict(model)) {
    const std::string dtype = t.scalar_type() == torch::kLong ? "int64" : "float32";
    lines.push_back(fmt::format("{}\t[{}]\t{}", name, fmt::join(t.sizes(), ", "), dtype));
  }
  return lines;
}

void ExpectListing(const ModelConfig& config, const std::string& file) {
  const auto model = CreateModel(config);
  const Listing want = ReadListing(file);
  const auto got = Lines(*model);
  ASSERT_EQ(got.size(), want.lines.size()) << file;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], want.lines[i]) << file << " line " << i;
  EXPECT_EQ(CountParameters(*model), want.parameters) << file;
  std::cout << DescribeModel(config, *model) << "\n";
}

TEST(WeSpeakerModels, ResNet34MatchesTheReleaseListing) {
  ModelConfig c;
  c.type = "wespeaker_resnet";
  ExpectListing(c, "ResNet34.txt");  // 6,634,336
}

TEST(WeSpeakerModels, EcapaGlobC512MatchesTheReleaseListing) {
  ModelConfig c;
  c.type = "wespeaker_ecapa";
  ExpectListing(c, "ECAPA_TDNN_GLOB_c512.txt");  // 6,190,720
}

TEST(WeSpeakerModels, CamPlusMatchesTheReleaseListing) {
  ModelConfig c;
  c.type = "campplus";
  ExpectListing(c, "CAMPPlus.txt");  // 7,176,224
}

TEST(WeSpeakerModels, EmbeddingShapesAndBatchIndependenceInEval) {
  for (const std::string type : {"wespeaker_resnet", "wespeaker_ecapa", "campplus"}) {
    ModelConfig c;
    c.type = type;
    c.wespeaker_resnet.m_channels = 8;
    c.wespeaker_resnet.two_emb_layer = true;
    c.wespeaker_ecapa.channels = 64;
    c.campplus.dense_layers = {2, 2, 2};
    const auto model = CreateModel(c);
    model->eval();
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({2, 80, 230});
    const auto both = model->forward(x);
    ASSERT_EQ(both.sizes(), (std::vector<int64_t>{2, c.EmbeddingDim()})) << type;
    const auto one = model->forward(x.narrow(0, 1, 1));
    EXPECT_TRUE(torch::allclose(both[1], one[0], 1e-4, 1e-5)) << type;
  }
}

std::string WriteConfig(const test::ScratchDir& dir, const std::string& text) {
  const std::string path = dir / "config.yaml";
  std::ofstream(path) << text;
  return path;
}

TEST(WeSpeakerRelease, ConfigMapsArchitectureAndFrontEnd) {
  test::ScratchDir dir("sn_wespeaker_release");
  auto r =
      ReadWeSpeakerReleaseConfig(WriteConfig(dir,
                                             "model: ResNet101\n"
                                             "model_args: {feat_dim: 80, embed_dim: 256, "
                                             "pooling_func: TSTP, two_emb_layer: true}\n"
                                             "dataset_args:\n  resample_rate: 8000\n"
                                             "  fbank_args: {num_mel_bins: 80, "
                                             "frame_shift: 10, frame_length: 25, dither: 1.0}\n"
                                             "optimizer_args: {momentum: 0.9}\n"));
  EXPECT_EQ(r.model.type, "wespeaker_resnet");
  EXPECT_EQ(r.model.wespeaker_resnet.block, "bottleneck");
  EXPECT_EQ(r.model.wespeaker_resnet.layers, (std::vector<int64_t>{3, 4, 23, 3}));
  EXPECT_TRUE(r.model.wespeaker_resnet.two_emb_layer);
  EXPECT_EQ(r.fbank.sample_rate, 8000);
  r = ReadWeSpeakerReleaseConfig(WriteConfig(
      dir, "model: ECAPA_TDNN_GLOB_c1024\nmodel_args: {feat_dim: 80, embed_dim: 192}\n"));
  EXPECT_EQ(r.model.type, "wespeaker_ecapa");
  EXPECT_EQ(r.model.wespeaker_ecapa.channels, 1024);
  EXPECT_TRUE(r.model.wespeaker_ecapa.pooling.global_context_att);
  EXPECT_EQ(r.model.wespeaker_ecapa.pooling.type, "ASTP");
  r = ReadWeSpeakerReleaseConfig(WriteConfig(dir, "model: ECAPA_TDNN_c512\n"));
  EXPECT_FALSE(r.model.wespeaker_ecapa.pooling.global_context_att);
}

// Errors name what is not supported.
void ExpectError(const test::ScratchDir& dir, const std::string& yaml, const std::string& what) {
  try {
    ReadWeSpeakerReleaseConfig(WriteConfig(dir, yaml));
    ADD_FAILURE() << "no error for: " << yaml;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(WeSpeakerRelease, UnknownArchitecturesAndKeysAreNamed) {
  test::ScratchDir dir("sn_wespeaker_release_errors");
  ExpectError(dir, "model: ERes2Net34\n", "model 'ERes2Net34' is not a supported");
  ExpectError(dir, "model: ResNet34\nmodel_args: {feat_dim: 80, m_channels: 64}\n",
              "unknown key 'model_args.m_channels'");
  ExpectError(dir, "model: CAMPPlus\nmodel_args: {pooling_func: MQMHASTP}\n",
              "pooling_func 'MQMHASTP'");
  ExpectError(dir, "model: ResNet34\ndataset_args: {fbank_args: {num_mel_bins: 80, pad: 1}}\n",
              "unknown key 'dataset_args.fbank_args.pad'");
  ExpectError(dir, "model: ResNet34\ndataset_args: {frontend: w2vbert}\n",
              "dataset_args.frontend 'w2vbert'");
  ExpectError(dir, "model_args: {}\n", "no 'model' key");
}

// Found by wespeaker_release_fuzzer: a section that is not a mapping (here `dataset_args` a
// scalar) made yaml-cpp throw its own exception from a subscript. Every section is checked.
TEST(WeSpeakerRelease, SectionsThatAreNotMappingsAreNamed) {
  test::ScratchDir dir("sn_wespeaker_release_sections");
  ExpectError(dir, "model: CAMPPlus\ndataset_args:\n  num_frmsz 2\n",
              "'dataset_args' must be a mapping");
  ExpectError(dir, "model: ResNet34\nmodel_args: [1, 2]\n", "'model_args' must be a mapping");
  ExpectError(dir, "model: ResNet34\ndataset_args: {fbank_args: 80}\n",
              "'dataset_args.fbank_args' must be a mapping");
  ExpectError(dir, "model: ResNet34\nprojection_args: arc\n",
              "'projection_args' must be a mapping");
  ExpectError(dir, "model: ResNet34\nmargin_update: [0.2]\n", "'margin_update' must be a mapping");
  ExpectError(dir, "model: ResNet34\nmodel_args: {[a]: 1}\n", "key that is not a name");
  ExpectError(dir, "model: [ResNet34]\n", "key 'model'");
  // Absent or null sections keep WeSpeaker's defaults.
  const WeSpeakerRelease r = ReadWeSpeakerReleaseConfig(
      WriteConfig(dir, "model: ResNet34\nmodel_args:\ndataset_args: ~\n"));
  EXPECT_EQ(r.fbank.num_mel_bins, 80);
  EXPECT_EQ(r.model.type, "wespeaker_resnet");
}

}  // namespace
}  // namespace speakernet
