#include "speakernet/features/kaldi_fbank.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "speakernet/common/config.h"
#include "speakernet/common/test_util.h"
#include "speakernet/common/torch_compat.h"
#include "speakernet/features/test_signals_test_util.h"

namespace speakernet {
namespace {

using test::MaxAbsDiff;
using test::ReadRawFloats;
using test::RunPython;
using test::ScratchDir;
using test::SourcePath;
using test::ToVector;
using test::WriteRawFloats;

// The shared test signals with a DC offset, so that DC removal matters.
torch::Tensor MakeWaves(int64_t batch, int64_t length, int64_t seed) {
  return test::MakeWaves(batch, length, seed, /*dc_offset=*/0.01);
}

// Options as YAML "key: value" pairs: read by ReadConfig here and by the Python reference.
using Overrides = std::vector<std::pair<std::string, std::string>>;

KaldiFbankOptions MakeOptions(const Overrides& overrides, bool cmvn) {
  YAML::Node node(YAML::NodeType::Map);
  for (const auto& [key, value] : overrides) node[key] = YAML::Load(value);
  KaldiFbankOptions options;
  ReadConfig(node, options);
  options.cmvn = cmvn;
  if (!cmvn) options.norm_var = false;  // the raw features
  return options;
}

struct Case {
  std::string name;
  int64_t batch, length;
  Overrides options;
};

// All reference cases go to one Python run (importing torch takes seconds).
class KaldiFbankParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cases_ = {
        // speaker-net's options (povey, energy, floor 0, raw energy, 20 Hz .. Nyquist, snip).
        {"speakernet_2s", 1, 32240, {}},
        {"speakernet_batch", 3, 32240, {}},
        {"speakernet_10s", 1, 160000, {}},  // several CPU blocks
        {"odd", 1, 24007, {}},
        {"batch_odd", 2, 17777, {}},
        {"one_frame", 1, 401, {}},
        {"hamming_no_energy", 2, 16003, {{"window_type", "hamming"}, {"use_energy", "false"}}},
        {"hanning_magnitude", 1, 9999, {{"window_type", "hanning"}, {"use_power", "false"}}},
        {"rectangular_floor", 1, 12001, {{"window_type", "rectangular"}, {"energy_floor", "1.0"}}},
        {"windowed_energy", 2, 20001, {{"raw_energy", "false"}}},
        {"no_dc_no_preemph", 1, 16000, {{"remove_dc_offset", "false"}, {"preemph_coeff", "0"}}},
        {"bins40_high_neg", 1, 12345, {{"num_bins", "40"}, {"high_freq", "-400"}}},
        {"bins64_band", 1, 15000, {{"num_bins", "64"}, {"low_freq", "0"}, {"high_freq", "7600"}}},
        {"no_pow2", 1, 8888, {{"round_to_power_of_two", "false"}, {"frame_length_ms", "30"}}},
        {"sr8k_bins23", 2, 8003, {{"samp_freq", "8000"}, {"num_bins", "23"}}},
        {"no_snip", 2, 16001, {{"snip_edges", "false"}}},
        {"no_snip_odd", 1, 4567, {{"snip_edges", "false"}, {"window_type", "hamming"}}},
        {"no_snip_short_win",
         1,
         3001,
         {{"snip_edges", "false"}, {"frame_length_ms", "8"}, {"frame_shift_ms", "10"}}},
        {"norm_var", 2, 20000, {{"norm_var", "true"}}},
        {"linear", 1, 16000, {{"use_log_fbank", "false"}}},
    };
    dir_ = new ScratchDir("kaldi_fbank_parity");
    std::ofstream manifest(*dir_ / "manifest.txt");
    int64_t seed = 1;
    for (const Case& c : cases_) {
      inputs_[c.name] = MakeWaves(c.batch, c.length, seed++);
      WriteRawFloats(*dir_ / (c.name + ".in"), ToVector(inputs_[c.name]));
      manifest << c.name << ' ' << c.batch << ' ' << c.length;
      for (const auto& [key, value] : c.options) manifest << ' ' << key << '=' << value;
      manifest << '\n';
    }
    manifest.close();
    RunPython(SourcePath("src/speakernet/features/kaldi_fbank_reference.py"), {dir_->str()});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static torch::Tensor Reference(const std::string& file, const torch::Tensor& like) {
    std::vector<float> data = ReadRawFloats(*dir_ / file);
    EXPECT_EQ(static_cast<int64_t>(data.size()), like.numel()) << file;
    if (static_cast<int64_t>(data.size()) != like.numel()) return torch::full_like(like, NAN);
    return torch::from_blob(data.data(), like.sizes(), torch::kFloat).clone();
  }

  static inline std::vector<Case> cases_;
  static inline std::map<std::string, torch::Tensor> inputs_;
  static inline ScratchDir* dir_ = nullptr;
};

TEST_F(KaldiFbankParity, MatchesTorchaudioKaldiFbank) {
  for (const Case& c : cases_) {
    for (const bool cmvn : {false, true}) {
      const KaldiFbank fbank(MakeOptions(c.options, cmvn));
      const torch::Tensor input = inputs_.at(c.name);
      const torch::Tensor ours = fbank(input);
      const int64_t frames = fbank.NumFrames(c.length);
      ASSERT_EQ(ours.sizes(), torch::IntArrayRef({c.batch, fbank.Dim(), frames})) << c.name;
      EXPECT_TRUE(ours.is_contiguous()) << c.name;
      // The file's element count also checks our frame count and dim against torchaudio's.
      const torch::Tensor ref = Reference(c.name + (cmvn ? ".cmn" : ".raw"), ours);
      const std::string label = c.name + (cmvn ? " cmn" : " raw");
      if (!fbank.options().use_log_fbank && !cmvn) {
        // Linear mel energies span many decades: compare relative to each value (the log
        // energy in row 0 absolutely).
        const int64_t e = fbank.options().use_energy ? 1 : 0;
        const torch::Tensor a = ours.narrow(1, e, ours.size(1) - e).to(torch::kDouble);
        const torch::Tensor b = ref.narrow(1, e, ref.size(1) - e).to(torch::kDouble);
        const double rel = ((a - b).abs() / (b.abs() + 1e-3)).max().item<double>();
        std::printf("[ parity ] %-24s [%ld, %ld, %ld] max relative diff %.3g\n", label.c_str(),
                    static_cast<long>(c.batch), static_cast<long>(ours.size(1)),
                    static_cast<long>(frames), rel);
        EXPECT_LE(rel, 1e-3) << label;  // = 1e-3 after the log
        EXPECT_LE(MaxAbsDiff(ours.narrow(1, 0, e), ref.narrow(1, 0, e)), 1e-3) << label;
        continue;
      }
      if (!fbank.options().use_log_fbank) continue;  // CMN of linear energies: not meaningful
      const double diff = MaxAbsDiff(ours, ref);
      std::printf("[ parity ] %-24s [%ld, %ld, %ld] max abs diff %.3g\n", label.c_str(),
                  static_cast<long>(c.batch), static_cast<long>(ours.size(1)),
                  static_cast<long>(frames), diff);
      EXPECT_LE(diff, 1e-3) << label;
    }
  }
}

TEST_F(KaldiFbankParity, GenericTensorPathMatchesToo) {
  // The tensor-op path (used on GPUs and for dither) on the CPU, via training with a dither so
  // small that it cannot show after int16 scaling: the same features within 1e-3.
  for (const Case& c : cases_) {
    KaldiFbankOptions options = MakeOptions(c.options, /*cmvn=*/false);
    if (!options.use_log_fbank) continue;
    options.dither = 1e-12;
    const KaldiFbank fbank(options);
    const torch::Tensor ours = fbank(inputs_.at(c.name), /*training=*/true);
    const torch::Tensor ref = Reference(c.name + ".raw", ours);
    EXPECT_LE(MaxAbsDiff(ours, ref), 1e-3) << c.name;
  }
}

TEST(KaldiFbank, FrameCountsAndDims) {
  const KaldiFbank fbank{KaldiFbankOptions{}};
  EXPECT_EQ(fbank.Dim(), 81);
  EXPECT_EQ(fbank.NumFrames(32240), 200);
  EXPECT_EQ(fbank.NumFrames(96240), 600);
  EXPECT_EQ(fbank.NumFrames(400), 1);
  EXPECT_EQ(fbank.NumFrames(559), 1);
  EXPECT_EQ(fbank.NumFrames(560), 2);
  const torch::Tensor out = fbank(MakeWaves(2, 32240, 3));
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, 81, 200}));
  KaldiFbankOptions no_energy;
  no_energy.use_energy = false;
  no_energy.snip_edges = false;
  const KaldiFbank other(no_energy);
  EXPECT_EQ(other.Dim(), 80);
  EXPECT_EQ(other.NumFrames(32240), 202);  // (T + shift / 2) / shift
  EXPECT_EQ(other.NumFrames(16079), 100);
  EXPECT_EQ(other.NumFrames(16080), 101);
}

TEST(KaldiFbank, BatchEqualsPerUtterance) {
  for (const bool snip : {true, false}) {
    KaldiFbankOptions options;
    options.snip_edges = snip;
    const KaldiFbank fbank(options);
    for (int64_t length : {32240, 96241, 1001}) {
      const torch::Tensor waves = MakeWaves(4, length, 42);
      const torch::Tensor batched = fbank(waves);
      for (int64_t b = 0; b < 4; ++b) {
        const torch::Tensor single = fbank(waves[b]);  // 1-D input -> [81, frames]
        ASSERT_EQ(single.sizes(), torch::IntArrayRef({81, fbank.NumFrames(length)}));
        EXPECT_LE(MaxAbsDiff(batched[b], single), 1e-5) << "length " << length << " row " << b;
      }
    }
  }
}

TEST(KaldiFbank, CmnGivesZeroMeanAndNormVarUnitVariance) {
  KaldiFbankOptions options;
  options.norm_var = true;
  const torch::Tensor out = KaldiFbank(options)(MakeWaves(2, 32240, 7));
  EXPECT_LE(out.mean(-1).abs().max().item<float>(), 1e-4);
  EXPECT_LE((out.var(-1, /*unbiased=*/false) - 1).abs().max().item<float>(), 1e-3);
}

TEST(KaldiFbank, ScaleToInt16IsAFactorOf32768) {
  // log features: scaling the input by 32768 adds 2 ln 32768 to every log energy.
  KaldiFbankOptions scaled;
  scaled.cmvn = false;
  KaldiFbankOptions unscaled = scaled;
  unscaled.scale_to_int16 = false;
  const torch::Tensor waves = MakeWaves(1, 16000, 21);
  const torch::Tensor a = KaldiFbank(scaled)(waves);
  const torch::Tensor b = KaldiFbank(unscaled)(waves * 32768.0);
  EXPECT_LE(MaxAbsDiff(a, b), 1e-4);
  const torch::Tensor c = KaldiFbank(unscaled)(waves);
  EXPECT_LE(MaxAbsDiff(a - c, torch::full_like(a, 2 * std::log(32768.0))), 1e-2);
}

TEST(KaldiFbank, DitherOnlyInTraining) {
  KaldiFbankOptions options;
  options.dither = 50.0;  // int16 scale, as in Kaldi
  const KaldiFbank fbank(options);
  const torch::Tensor waves = MakeWaves(1, 16000, 3);
  const torch::Tensor eval = fbank(waves);
  EXPECT_TRUE(torch::equal(eval, KaldiFbank{KaldiFbankOptions{}}(waves)));
  const torch::Tensor train = fbank(waves, /*training=*/true);
  EXPECT_GT(MaxAbsDiff(train, eval), 1e-4);
  // Small on average (weak bins of a few frames move more).
  EXPECT_LE((train - eval).abs().mean().item<double>(), 0.05);
}

TEST(KaldiFbank, InputIsNotModifiedAndDoubleIsAccepted) {
  const torch::Tensor waves = MakeWaves(2, 16000, 5);
  const torch::Tensor copy = waves.clone();
  const KaldiFbank fbank{KaldiFbankOptions{}};
  const torch::Tensor out = fbank(waves);
  EXPECT_TRUE(torch::equal(waves, copy));  // speaker-net scales in place; we must not
  const torch::Tensor from_double = fbank(waves.to(torch::kDouble));
  EXPECT_EQ(from_double.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(out, from_double));
  // A non-contiguous view works too.
  const torch::Tensor wide = MakeWaves(2, 32000, 5);
  const torch::Tensor view = wide.narrow(1, 100, 16000);
  EXPECT_LE(MaxAbsDiff(fbank(view), fbank(view.contiguous())), 0.0);
}

TEST(KaldiFbank, StaysFloat32UnderAutocast) {
  const KaldiFbank fbank{KaldiFbankOptions{}};
  const torch::Tensor waves = MakeWaves(2, 16000, 13);
  const torch::Tensor expected = fbank(waves);
  SetAutocastEnabled(c10::DeviceType::CPU, true);
  const torch::Tensor out = fbank(waves);
  SetAutocastEnabled(c10::DeviceType::CPU, false);
  EXPECT_EQ(out.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(out, expected));
}

TEST(KaldiFbank, ConcurrentCallsAgree) {
  const KaldiFbank fbank{KaldiFbankOptions{}};
  const torch::Tensor waves = MakeWaves(3, 32240, 9);
  const torch::Tensor expected = fbank(waves);
  std::vector<torch::Tensor> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      const KaldiFbank copy = fbank;
      for (int r = 0; r < 5; ++r) results[i] = copy(waves);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_TRUE(torch::equal(r, expected));
}

TEST(KaldiFbank, FollowsInputDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const bool snip : {true, false}) {
    KaldiFbankOptions options;
    options.snip_edges = snip;
    const KaldiFbank fbank(options);
    const torch::Tensor waves = MakeWaves(4, 32240, 11);
    const torch::Tensor cpu = fbank(waves);
    const torch::Tensor gpu = fbank(waves.to(torch::kCUDA));
    EXPECT_TRUE(gpu.is_cuda());
    EXPECT_LE(MaxAbsDiff(gpu.cpu(), cpu), 1e-3);
  }
}

TEST(KaldiFbank, RejectsBadInputsAndOptions) {
  const KaldiFbank fbank{KaldiFbankOptions{}};
  EXPECT_THROW(fbank(torch::randn({399})), Error);  // shorter than one window
  EXPECT_THROW(fbank(torch::randn({1, 2, 1000})), Error);
  EXPECT_THROW(fbank(torch::ones({1000}, torch::kLong)), Error);
  const std::vector<Overrides> bad = {
      {{"window_type", "blackmann"}},
      {{"num_bins", "3"}},
      {{"high_freq", "9000"}},
      {{"high_freq", "-8000"}},
      {{"low_freq", "8000"}},
      {{"preemph_coeff", "1.5"}},
      {{"frame_shift_ms", "0"}},
      {{"energy_floor", "-1"}},
      {{"dither", "-1"}},
      {{"low_freq", "5000"}, {"high_freq", "4000"}},
      {{"round_to_power_of_two", "false"}, {"frame_length_ms", "25.0625"}},  // 401 samples
  };
  for (const Overrides& o : bad) {
    EXPECT_THROW(KaldiFbank(MakeOptions(o, true)), Error) << o.front().first;
  }
}

}  // namespace
}  // namespace speakernet
