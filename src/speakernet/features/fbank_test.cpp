#include "speakernet/features/fbank.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "speakernet/common/test_util.h"
#include "speakernet/common/torch_compat.h"
#include "speakernet/features/test_signals_test_util.h"

namespace speakernet {
namespace {

using test::MakeWaves;
using test::MaxAbsDiff;
using test::ReadRawFloats;
using test::RunPython;
using test::ScratchDir;
using test::SourcePath;
using test::ToVector;
using test::WriteRawFloats;

struct Case {
  std::string name;
  int64_t batch, length;
  double preemph = 0.97;
  bool log = true, cmvn = true, norm_var = false;
};

// All reference cases go to one Python run (importing torch takes seconds).
class FbankParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cases_ = {
        {"1s", 1, 16000},
        {"2015ms", 1, 32240},
        {"odd_short", 1, 4001},
        {"odd", 1, 24007},
        {"6s", 1, 96240},
        {"batch", 5, 32240},
        {"batch_odd", 3, 17777},
        {"no_cmvn", 2, 32240, 0.97, true, false, false},
        {"norm_var", 2, 32240, 0.97, true, true, true},
        {"norm_var_no_cmvn", 1, 20000, 0.97, true, false, true},
        {"no_preemph", 2, 16000, 0.0, true, true, false},
        {"no_log", 1, 16000, 0.97, false, false, false},
    };
    dir_ = new ScratchDir("fbank_parity");
    std::ofstream manifest(*dir_ / "manifest.txt");
    int64_t seed = 1;
    for (const Case& c : cases_) {
      inputs_[c.name] = MakeWaves(c.batch, c.length, seed++);
      WriteRawFloats(*dir_ / (c.name + ".in"), ToVector(inputs_[c.name]));
      manifest << c.name << ' ' << c.batch << ' ' << c.length << ' ' << c.preemph << ' ' << c.log
               << ' ' << c.cmvn << ' ' << c.norm_var << '\n';
    }
    manifest.close();
    RunPython(SourcePath("src/speakernet/features/fbank_reference.py"), {dir_->str()});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static torch::Tensor Reference(const std::string& name, int64_t batch, int64_t frames) {
    std::vector<float> data = ReadRawFloats(*dir_ / (name + ".out"));
    EXPECT_EQ(static_cast<int64_t>(data.size()), batch * 80 * frames) << name;
    return torch::from_blob(data.data(), {batch, 80, frames}, torch::kFloat).clone();
  }

  static inline std::vector<Case> cases_;
  static inline std::map<std::string, torch::Tensor> inputs_;
  static inline ScratchDir* dir_ = nullptr;
};

TEST_F(FbankParity, MatchesTorchaudioMelSpectrogramPipeline) {
  for (const Case& c : cases_) {
    FbankOptions options;
    options.preemph = c.preemph;
    options.log = c.log;
    options.cmvn = c.cmvn;
    options.norm_var = c.norm_var;
    const Fbank fbank(options);
    const torch::Tensor ours = fbank(inputs_.at(c.name));
    const int64_t frames = 1 + c.length / 160;
    ASSERT_EQ(ours.sizes(), torch::IntArrayRef({c.batch, 80, frames})) << c.name;
    EXPECT_TRUE(ours.is_contiguous()) << c.name;
    const torch::Tensor ref = Reference(c.name, c.batch, frames);
    if (c.log) {
      const double diff = MaxAbsDiff(ours, ref);
      std::printf("[ parity ] %-17s [%ld, 80, %ld] max abs diff %.3g\n", c.name.c_str(),
                  static_cast<long>(c.batch), static_cast<long>(frames), diff);
      EXPECT_LE(diff, 1e-3) << c.name;
    } else {
      // Raw power spans many decades: compare relative to each value.
      const double rel =
          ((ours.to(torch::kDouble) - ref.to(torch::kDouble)).abs() / (ref.abs() + 1e-6))
              .max()
              .item<double>();
      std::printf("[ parity ] %-17s max relative diff %.3g\n", c.name.c_str(), rel);
      EXPECT_LE(rel, 1e-3) << c.name;
    }
  }
}

TEST_F(FbankParity, MelMatrixMatchesTorchaudioMelscaleFbanks) {
  const Fbank fbank{FbankOptions{}};
  std::vector<float> data = ReadRawFloats(*dir_ / "melscale.out");
  ASSERT_EQ(data.size(), 257u * 80u);
  const torch::Tensor ref = torch::from_blob(data.data(), {257, 80}, torch::kFloat);
  const torch::Tensor ours = fbank.MelMatrix();
  ASSERT_EQ(ours.sizes(), ref.sizes());
  EXPECT_LE(MaxAbsDiff(ours, ref), 1e-6);
}

TEST(Fbank, FrameCounts) {
  const Fbank fbank{FbankOptions{}};
  EXPECT_EQ(fbank.Dim(), 80);
  EXPECT_EQ(fbank.NumFrames(32240), 202);
  EXPECT_EQ(fbank.NumFrames(96240), 602);
  EXPECT_EQ(fbank.NumFrames(16000), 101);
  EXPECT_EQ(fbank.NumFrames(159), 1);
  EXPECT_EQ(fbank.NumFrames(160), 2);
  for (int64_t length : {257, 32240, 96240, 12345}) {
    const torch::Tensor out = fbank(torch::randn({2, length}));
    EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, 80, fbank.NumFrames(length)})) << length;
  }
}

TEST(Fbank, WindowIsCenteredPeriodicHamming) {
  const torch::Tensor w = Fbank{FbankOptions{}}.Window();
  ASSERT_EQ(w.numel(), 512);
  EXPECT_EQ(w.narrow(0, 0, 56).abs().sum().item<float>(), 0.f);
  EXPECT_EQ(w.narrow(0, 456, 56).abs().sum().item<float>(), 0.f);
  // Periodic Hamming of length N: 0.54 - 0.46 cos(2 pi n / N), n = 0..N-1.
  for (int n : {0, 1, 100, 200, 399}) {
    EXPECT_NEAR(w[56 + n].item<float>(), 0.54 - 0.46 * std::cos(2 * M_PI * n / 400.0), 1e-6);
  }
}

TEST(Fbank, BatchEqualsPerUtterance) {
  const Fbank fbank{FbankOptions{}};
  for (int64_t length : {32240, 96240, 3000}) {  // short, long (several CPU blocks), tiny
    const torch::Tensor waves = MakeWaves(6, length, 42);
    const torch::Tensor batched = fbank(waves);
    for (int64_t b = 0; b < 6; ++b) {
      const torch::Tensor single = fbank(waves[b]);  // 1-D input -> [80, frames]
      ASSERT_EQ(single.sizes(), torch::IntArrayRef({80, fbank.NumFrames(length)}));
      EXPECT_LE(MaxAbsDiff(batched[b], single), 1e-5) << "length " << length << " row " << b;
    }
  }
}

TEST(Fbank, CmnGivesZeroMeanAndNormVarUnitVariance) {
  FbankOptions options;
  options.norm_var = true;
  const torch::Tensor out = Fbank(options)(MakeWaves(2, 32240, 7));
  EXPECT_LE(out.mean(-1).abs().max().item<float>(), 1e-4);
  EXPECT_LE((out.var(-1, /*unbiased=*/false) - 1).abs().max().item<float>(), 1e-3);
}

TEST(Fbank, DitherOnlyInTraining) {
  FbankOptions options;
  options.dither = 0.01;
  const Fbank fbank(options);
  const torch::Tensor waves = MakeWaves(1, 16000, 3);
  const torch::Tensor eval = fbank(waves);
  EXPECT_TRUE(torch::equal(eval, Fbank{FbankOptions{}}(waves)));
  EXPECT_GT(MaxAbsDiff(fbank(waves, /*training=*/true), eval), 1e-3);
  FbankOptions no_dither;
  EXPECT_TRUE(torch::equal(Fbank(no_dither)(waves, /*training=*/true), eval));
}

TEST(Fbank, InputIsNotModifiedAndDoubleIsAccepted) {
  const torch::Tensor waves = MakeWaves(2, 16000, 5);
  const torch::Tensor copy = waves.clone();
  const Fbank fbank{FbankOptions{}};
  const torch::Tensor out = fbank(waves);
  EXPECT_TRUE(torch::equal(waves, copy));
  const torch::Tensor from_double = fbank(waves.to(torch::kDouble));
  EXPECT_EQ(from_double.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(out, from_double));
}

TEST(Fbank, StaysFloat32UnderAutocast) {
  const Fbank fbank{FbankOptions{}};
  const torch::Tensor waves = MakeWaves(2, 16000, 13);
  const torch::Tensor expected = fbank(waves);
  SetAutocastEnabled(c10::DeviceType::CPU, true);
  const torch::Tensor out = fbank(waves);
  SetAutocastEnabled(c10::DeviceType::CPU, false);
  EXPECT_EQ(out.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(out, expected));
}

TEST(Fbank, ConcurrentCallsAgree) {
  const Fbank fbank{FbankOptions{}};
  const torch::Tensor waves = MakeWaves(3, 32240, 9);
  const torch::Tensor expected = fbank(waves);
  std::vector<torch::Tensor> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      const Fbank copy = fbank;  // copies share the tables
      for (int r = 0; r < 5; ++r) results[i] = copy(waves);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_TRUE(torch::equal(r, expected));
}

TEST(Fbank, FollowsInputDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Fbank fbank{FbankOptions{}};
  const torch::Tensor waves = MakeWaves(4, 32240, 11);
  const torch::Tensor cpu = fbank(waves);
  const torch::Tensor gpu = fbank(waves.to(torch::kCUDA));
  EXPECT_TRUE(gpu.is_cuda());
  EXPECT_LE(MaxAbsDiff(gpu.cpu(), cpu), 1e-3);
}

TEST(Fbank, RejectsBadInputsAndOptions) {
  const Fbank fbank{FbankOptions{}};
  EXPECT_THROW(fbank(torch::randn({256})), Error);  // reflect padding needs > 256 samples
  EXPECT_THROW(fbank(torch::randn({1, 2, 1000})), Error);
  EXPECT_THROW(fbank(torch::ones({1000}, torch::kLong)), Error);
  FbankOptions bad;
  bad.f_max = 9000;
  EXPECT_THROW(Fbank{bad}, Error);
  bad = FbankOptions{};
  bad.window_size = 0.05;  // 800 samples > n_fft
  EXPECT_THROW(Fbank{bad}, Error);
  bad = FbankOptions{};
  bad.num_bins = 0;
  EXPECT_THROW(Fbank{bad}, Error);
}

}  // namespace
}  // namespace speakernet
