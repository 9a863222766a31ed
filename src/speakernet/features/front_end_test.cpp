#include "speakernet/features/front_end.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "speakernet/common/config.h"
#include "speakernet/common/test_util.h"
#include "speakernet/features/test_signals_test_util.h"

namespace speakernet {
namespace {

FrontEndConfig ReadFrontEnd(const std::string& yaml) {
  FrontEndConfig config;
  ReadConfig(YAML::Load(yaml), config, "features");
  return config;
}

// A config written before features.type existed (flat fbank keys) still reads as fbank, with
// its values; kaldi options live under features.kaldi.
TEST(FrontEndConfig, FlatFbankKeysAndNestedKaldiKeys) {
  const FrontEndConfig old = ReadFrontEnd("{num_bins: 40, preemph: 0.5}");
  EXPECT_EQ(old.type, "fbank");
  EXPECT_EQ(old.fbank.num_bins, 40);
  EXPECT_EQ(old.fbank.preemph, 0.5);
  EXPECT_EQ(old.Dim(), 40);
  EXPECT_EQ(old.SampleRate(), 16000);

  // speaker-net's resnet101.yaml front end: 80 mel bins + log energy = 81 rows.
  const FrontEndConfig kaldi = ReadFrontEnd(
      "{type: kaldi_fbank, kaldi: {samp_freq: 16000, num_bins: 80, use_energy: true, "
      "window_type: povey, low_freq: 20, high_freq: 0, snip_edges: true}}");
  EXPECT_TRUE(kaldi.IsKaldi());
  EXPECT_EQ(kaldi.Dim(), 81);
  EXPECT_NE(kaldi.DescribeDim().find("log energy"), std::string::npos) << kaldi.DescribeDim();

  // The written form reads back to the same values (what the experiment's config.yaml holds).
  const FrontEndConfig again = ReadFrontEnd(YamlToString(ConfigToYaml(kaldi)));
  EXPECT_EQ(YamlToString(ConfigToYaml(again)), YamlToString(ConfigToYaml(kaldi)));
  EXPECT_EQ(again.Dim(), 81);

  EXPECT_NE(test::ErrorOf([] { ReadFrontEnd("{type: mfcc}"); }).find("features.type"),
            std::string::npos);
  EXPECT_NE(
      test::ErrorOf([] { ReadFrontEnd("{kaldi: {num_bin: 80}}"); }).find("features.kaldi.num_bin"),
      std::string::npos);
}

// FrontEnd computes exactly what the chosen extractor computes (their parity with torchaudio is
// tested in fbank_test.cpp and kaldi_fbank_test.cpp), and the two front ends differ.
TEST(FrontEnd, DelegatesToTheChosenExtractor) {
  const torch::Tensor waves = test::MakeWaves(2, 8000, 3, /*dc_offset=*/0.01);
  FrontEndConfig config;
  config.kaldi.use_energy = false;  // 80 rows from both front ends
  const FrontEnd fbank(config);
  EXPECT_TRUE(torch::equal(fbank(waves), Fbank(config.fbank)(waves)));
  EXPECT_EQ(fbank.NumFrames(8000), 51);
  EXPECT_EQ(fbank.FrameCenter(3), 480);

  config.type = "kaldi_fbank";
  const FrontEnd kaldi(config);
  const torch::Tensor k = kaldi(waves);
  EXPECT_TRUE(torch::equal(k, KaldiFbank(config.kaldi)(waves)));
  EXPECT_EQ(k.size(1), 80);
  EXPECT_EQ(k.size(2), kaldi.NumFrames(8000));
  EXPECT_EQ(kaldi.NumFrames(8000), 48);  // (8000 - 400) / 160 + 1
  EXPECT_EQ(kaldi.FrameCenter(3), 3 * 160 + 200);
  EXPECT_GT((k.narrow(2, 0, 48) - fbank(waves).narrow(2, 0, 48)).abs().max().item<double>(), 1.0);

  config.kaldi.snip_edges = false;
  EXPECT_EQ(FrontEnd(config).FrameCenter(3), 3 * 160 + 80);
}

}  // namespace
}  // namespace speakernet
