// ONNX export without a runtime: every model family and pooling writes a graph that ONNX's own
// checker and strict shape inference accept (ExportOnnx runs them), the sherpa-onnx front-end
// comparison names each difference, and the features form is refused where it would be fed
// other features. The numbers (onnxruntime, sherpa-onnx vs speakernet extract) are checked by
// tests/onnx_cli_test.sh.
#include "speakernet/onnx/onnx_export.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"
#include "speakernet/models/repvgg.h"

namespace speakernet {
namespace {

FrontEndConfig SherpaKaldi() {
  FrontEndConfig f;
  f.type = "kaldi_fbank";
  f.kaldi.use_energy = false;
  f.kaldi.snip_edges = false;
  f.kaldi.high_freq = -400;
  return f;
}

TEST(SherpaMismatches, MatchingKaldiFrontEndHasNone) {
  EXPECT_TRUE(SherpaMismatches(SherpaKaldi()).empty());
  FrontEndConfig absolute = SherpaKaldi();
  absolute.kaldi.high_freq = 7600;  // the same edge, given in Hz
  EXPECT_TRUE(SherpaMismatches(absolute).empty());
}

TEST(SherpaMismatches, NamesEachDifference) {
  FrontEndConfig fbank;  // speaker-net's torchaudio fbank
  const auto a = SherpaMismatches(fbank);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NE(a[0].find("features.type is fbank"), std::string::npos) << a[0];

  FrontEndConfig kaldi;  // Kaldi defaults: snip-edges, energy, Nyquist
  kaldi.type = "kaldi_fbank";
  const auto b = SherpaMismatches(kaldi);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_NE(b[0].find("features.kaldi.snip_edges is true; sherpa-onnx uses false"),
            std::string::npos)
      << b[0];
  EXPECT_NE(b[1].find("high_freq gives 8000 Hz"), std::string::npos) << b[1];
  EXPECT_NE(b[2].find("use_energy"), std::string::npos) << b[2];
}

TrainedModel Tiny(const std::string& type, const std::string& pooling) {
  TrainedModel m;
  m.config.model.type = type;
  const bool wespeaker =
      type == "wespeaker_resnet" || type == "wespeaker_ecapa" || type == "campplus";
  m.config.model.pooling.type = wespeaker ? "multi_head" : pooling;
  m.config.model.pooling.num_head = 2;
  m.config.model.pooling.hidden_size = 8;
  m.config.model.feat_dim = 24;
  m.config.model.emb_dim = 16;
  m.config.model.resnet.layers = {1, 1, 1, 1};
  m.config.model.resnet.planes = {4, 8, 8, 8};
  m.config.model.resnet.se_ratio = 4;
  m.config.model.ecapa.channels = 16;
  m.config.model.ecapa.scale = 4;
  m.config.model.repvgg.name = "RepVGG-A0";
  m.config.model.repvgg.num_blocks = {1, 1, 1, 1};
  m.config.model.repvgg.planes = {4, 8, 8, 8};
  m.config.model.wespeaker_resnet.layers = {1, 1, 1, 1};
  m.config.model.wespeaker_resnet.m_channels = 4;
  m.config.model.wespeaker_resnet.block = pooling == "TAP" ? "bottleneck" : "basic";
  m.config.model.wespeaker_resnet.two_emb_layer = pooling == "TAP";
  m.config.model.wespeaker_resnet.pooling.type = type == "wespeaker_resnet" ? pooling : "TSTP";
  m.config.model.wespeaker_ecapa.channels = 16;
  m.config.model.wespeaker_ecapa.conv_out_channels = 24;
  m.config.model.wespeaker_ecapa.emb_bn = true;
  m.config.model.wespeaker_ecapa.pooling.bottleneck_dim = 8;
  m.config.model.wespeaker_ecapa.pooling.global_context_att = pooling == "ASTP_GLOB";
  m.config.model.campplus.m_channels = 4;
  m.config.model.campplus.init_channels = 8;
  m.config.model.campplus.growth_rate = 4;
  m.config.model.campplus.bn_size = 2;
  m.config.model.campplus.dense_layers = {1, 2, 1};
  m.config.features.fbank.num_bins = 24;
  m.model = CreateModel(m.config.model);
  if (type == "repvgg") SwitchToDeploy(*m.model);
  m.model->eval();
  m.source = "tiny " + type;
  return m;
}

TEST(ExportOnnx, EveryFamilyAndPoolingPassesTheChecker) {
  test::ScratchDir dir("onnx_export_test");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"resnet", "multi_head"},         {"resnet", "statistics"},     {"resnet", "attentive"},
      {"resnet", "multi_resolution"},   {"ecapa", "channel_context"}, {"xvector", "statistics"},
      {"repvgg", "multi_head"},         {"wespeaker_resnet", "TSTP"}, {"wespeaker_resnet", "TAP"},
      {"wespeaker_resnet", "TSDP"},     {"wespeaker_resnet", "ASTP"}, {"wespeaker_ecapa", "ASTP"},
      {"wespeaker_ecapa", "ASTP_GLOB"}, {"campplus", "TSTP"}};
  for (const auto& [type, pooling] : cases) {
    for (const std::string input : {"waveform", "features"}) {
      SCOPED_TRACE(type + " " + pooling + " " + input);
      TrainedModel m = Tiny(type, pooling);
      OnnxExportOptions options;
      options.input = input;
      options.allow_frontend_mismatch = true;
      const std::string path = dir / (type + "_" + pooling + "_" + input + ".onnx");
      const OnnxExportSummary s = ExportOnnx(m, path, options);
      EXPECT_GT(s.nodes, 5);
      EXPECT_EQ(static_cast<int64_t>(std::filesystem::file_size(path)), s.bytes);
      EXPECT_EQ(s.metadata.empty(), input == "waveform");
    }
  }
}

TEST(ExportOnnx, FeaturesFormRefusesAnotherFrontEnd) {
  test::ScratchDir dir("onnx_export_refuse_test");
  TrainedModel m = Tiny("xvector", "statistics");
  OnnxExportOptions options;
  options.input = "features";
  try {
    ExportOnnx(m, dir / "x.onnx", options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("features.type is fbank"), std::string::npos) << what;
    EXPECT_NE(what.find("--allow-frontend-mismatch"), std::string::npos) << what;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "x.onnx"));
}

TEST(ExportOnnx, SherpaMetadata) {
  test::ScratchDir dir("onnx_export_meta_test");
  TrainedModel m = Tiny("xvector", "statistics");
  m.config.features = SherpaKaldi();
  m.config.model.feat_dim = 80;
  m.model = CreateModel(m.config.model);
  m.model->eval();
  OnnxExportOptions options;
  options.input = "features";
  const auto s = ExportOnnx(m, dir / "x.onnx", options);
  std::map<std::string, std::string> meta(s.metadata.begin(), s.metadata.end());
  EXPECT_EQ(meta["framework"], "wespeaker");
  EXPECT_EQ(meta["output_dim"], "16");
  EXPECT_EQ(meta["sample_rate"], "16000");
  EXPECT_EQ(meta["normalize_samples"], "0");  // kaldi.scale_to_int16
  EXPECT_EQ(meta["feature_normalize_type"], "global-mean");
  EXPECT_FALSE(meta["language"].empty());
}

}  // namespace
}  // namespace speakernet
