// Tests of the augmentation layer. References are hand-derived formulas (scale=True mixing,
// direct-form circular convolution, sox output lengths from the spec), properties (SNR measured
// by a least-squares decomposition of the output, sine frequency after speed change, masked
// amounts, determinism and resumability) and torchaudio's Kaldi fbank for the frame energies.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "speakernet/augmentation/augment_config.h"
#include "speakernet/augmentation/spec_augment.h"
#include "speakernet/augmentation/vad.h"
#include "speakernet/augmentation/waveform_augment.h"
#include "speakernet/common/config.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> RandomSignal(int64_t n, uint32_t seed, double amp = 0.1) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> nd(0.0, amp);
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(nd(gen));
  return x;
}

std::vector<float> Speechlike(int64_t n, uint32_t seed) {
  std::vector<float> x = RandomSignal(n, seed, 0.02);
  for (int64_t i = 0; i < n; ++i) {
    x[i] += static_cast<float>(0.3 * std::sin(2 * kPi * 220.0 * i / 16000.0) *
                               (0.6 + 0.4 * std::sin(2 * kPi * 3.0 * i / 16000.0)));
  }
  return x;
}

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

double RmsD(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v * v;
  return std::sqrt(s / double(x.size()));
}

// Least-squares out ~ alpha*clean + beta*seg; returns {alpha, beta, max |residual|}.
struct Fit {
  double alpha, beta, max_resid;
};
Fit FitMixture(const std::vector<float>& out, const std::vector<float>& clean,
               const std::vector<float>& seg) {
  const double cc = Dot(clean, clean), cs = Dot(clean, seg), ss = Dot(seg, seg);
  const double oc = Dot(out, clean), os = Dot(out, seg);
  const double det = cc * ss - cs * cs;
  const double alpha = (oc * ss - os * cs) / det;
  const double beta = (os * cc - oc * cs) / det;
  double m = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    m = std::max(m, std::fabs(out[i] - alpha * clean[i] - beta * seg[i]));
  }
  return {alpha, beta, m};
}

double MeasuredSnr(const Fit& f, const std::vector<float>& clean, const std::vector<float>& seg) {
  return 20.0 * std::log10(std::fabs(f.alpha) * Rms(clean) / (std::fabs(f.beta) * Rms(seg)));
}

TEST(AugmentConfig, DefaultsAreSpeakerNetsAndValidate) {
  NoiseConfig noise;
  BabbleConfig babble;
  ReverbConfig reverb;
  SpeedConfig speed;
  SpecAugmentConfig spec;
  VadConfig vad;
  noise.Validate();
  babble.Validate();
  reverb.Validate();
  speed.Validate();
  spec.Validate();
  vad.Validate();
  EXPECT_EQ(noise.snr_low, 5.0);
  EXPECT_EQ(noise.snr_high, 15.0);
  EXPECT_EQ(babble.speaker_count_low, 4);
  EXPECT_EQ(babble.snr_low, 13.0);
  EXPECT_EQ(babble.snr_high, 20.0);
  EXPECT_EQ(speed.speeds, (std::vector<double>{0.9, 1.0, 1.1}));
  EXPECT_EQ(vad.vad_energy_threshold, 5.0);
  EXPECT_EQ(vad.vad_energy_mean_scale, 0.5);
  EXPECT_EQ(vad.vad_frames_context, 0);
  EXPECT_EQ(vad.vad_proportion_threshold, 0.6);
  EXPECT_EQ(vad.amp_th, 0.0005);
}

TEST(AugmentConfig, ReadsYamlAndRejectsBadValues) {
  SpeedConfig speed;
  ReadConfig(YAML::Load("{speeds: [1.0, 1.1], prob: 0.5}"), speed, "speed");
  EXPECT_EQ(speed.speeds, (std::vector<double>{1.0, 1.1}));
  EXPECT_EQ(speed.prob, 0.5);
  SpeedConfig bad_speed;
  EXPECT_THROW(ReadConfig(YAML::Load("{speeds: [0.8]}"), bad_speed, "speed"), Error);
  NoiseConfig noise;
  EXPECT_THROW(ReadConfig(YAML::Load("{snr_low: 10, snr_high: 5}"), noise, "noise"), Error);
  SpecAugmentConfig spec;
  EXPECT_THROW(ReadConfig(YAML::Load("{min_time_width: 5, max_time_width: 2}"), spec, "s"), Error);
  VadConfig vad;
  EXPECT_THROW(ReadConfig(YAML::Load("{vad_proportion_threshold: 1.5}"), vad, "vad"), Error);
  EXPECT_THROW(ReadConfig(YAML::Load("{typo: 1}"), vad, "vad"), Error);
}

TEST(Random, UniformIntCoversRangeAndUniformRealStaysInside) {
  std::mt19937_64 rng(5);
  std::vector<int> count(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const int64_t v = UniformInt(rng, 3, 9);
    ASSERT_GE(v, 3);
    ASSERT_LE(v, 9);
    ++count[v - 3];
  }
  for (int c : count) EXPECT_GT(c, 800);
  for (int i = 0; i < 1000; ++i) {
    const double u = UniformReal(rng, -2.0, 3.0);
    ASSERT_GE(u, -2.0);
    ASSERT_LT(u, 3.0);
  }
  EXPECT_EQ(UniformInt(rng, 4, 4), 4);
  EXPECT_THROW(UniformInt(rng, 5, 4), Error);
}

TEST(AddNoise, MeasuredSnrMatchesTargetForEqualAndShorterNoise) {
  const int64_t T = 8000;
  const std::vector<float> clean = Speechlike(T, 1);
  std::mt19937_64 rng(7);
  for (int64_t noise_len : {T, int64_t(3001), int64_t(T - 1)}) {
    const std::vector<float> noise = RandomSignal(noise_len, 2, 0.05);
    // Wrap padding from offset 0, built here by hand.
    std::vector<float> seg(T);
    for (int64_t i = 0; i < T; ++i) seg[i] = noise[i % noise_len];
    for (double snr : {0.0, 5.0, 13.0, 20.0, -3.0}) {
      const std::vector<float> out = AddNoise(clean, noise, snr, rng);
      ASSERT_EQ(out.size(), clean.size());
      const Fit f = FitMixture(out, clean, seg);
      EXPECT_LT(f.max_resid, 1e-5) << "noise " << noise_len << " snr " << snr;
      EXPECT_NEAR(MeasuredSnr(f, clean, seg), snr, 0.1) << "noise " << noise_len;
      const double a = std::pow(10.0, snr / 20.0);
      EXPECT_NEAR(f.alpha, a / (a + 1.0), 1e-5);  // clean * (1 - f)
      if (snr >= 0) {
        const double level = Rms(out) / Rms(clean);
        EXPECT_GT(level, 0.7);
        EXPECT_LT(level, 1.01);
      }
    }
  }
}

TEST(AddNoise, LongerNoiseIsARandomCropAtTheTargetSnr) {
  const int64_t T = 4000, extra = 300;
  const std::vector<float> clean = Speechlike(T, 3);
  const std::vector<float> noise = RandomSignal(T + extra, 4, 0.2);
  std::mt19937_64 rng(11);
  std::set<int64_t> offsets;
  for (int rep = 0; rep < 6; ++rep) {
    const std::vector<float> out = AddNoise(clean, noise, 10.0, rng);
    int64_t best = -1;
    Fit best_fit{0, 0, 1e9};
    for (int64_t o = 0; o <= extra; ++o) {
      const std::vector<float> seg(noise.begin() + o, noise.begin() + o + T);
      const Fit f = FitMixture(out, clean, seg);
      if (f.max_resid < best_fit.max_resid) best_fit = f, best = o;
    }
    ASSERT_LT(best_fit.max_resid, 1e-5);
    const std::vector<float> seg(noise.begin() + best, noise.begin() + best + T);
    EXPECT_NEAR(MeasuredSnr(best_fit, clean, seg), 10.0, 0.1);
    offsets.insert(best);
  }
  EXPECT_GT(offsets.size(), 1u);  // the crop moves
}

TEST(AddBabble, SumsTheSpeechThenMixesAtTheTargetSnr) {
  const int64_t T = 6000;
  const std::vector<float> clean = Speechlike(T, 5);
  std::vector<std::vector<float>> speech;
  for (uint32_t s = 0; s < 4; ++s) speech.push_back(Speechlike(s == 2 ? 2500 : T, 20 + s));
  std::vector<float> sum(T, 0.0f);
  for (const auto& s : speech) {
    for (int64_t i = 0; i < T; ++i) sum[i] += s[i % s.size()];
  }
  std::mt19937_64 rng(3);
  for (double snr : {13.0, 16.5, 20.0}) {
    const std::vector<float> out = AddBabble(clean, speech, snr, rng);
    const Fit f = FitMixture(out, clean, sum);
    EXPECT_LT(f.max_resid, 1e-5);
    EXPECT_NEAR(MeasuredSnr(f, clean, sum), snr, 0.1);
    EXPECT_GT(f.beta, 0);  // all talkers with the same gain, so the sum fits exactly
  }
  EXPECT_THROW(AddBabble(clean, {}, 10.0, rng), Error);
  EXPECT_THROW(AddNoise(clean, {}, 10.0, rng), Error);
}

TEST(Augment, SameSeedSameOutputAndCopiedRngResumes) {
  const int64_t T = 3000;
  const std::vector<float> clean = Speechlike(T, 8);
  const std::vector<float> noise = RandomSignal(5000, 9);
  const std::vector<std::vector<float>> speech = {RandomSignal(4000, 1), RandomSignal(7000, 2),
                                                  RandomSignal(1000, 3)};
  auto run = [&](std::mt19937_64& rng) {
    std::vector<std::vector<float>> outs;
    for (int i = 0; i < 3; ++i) {
      outs.push_back(AddNoise(clean, noise, UniformReal(rng, 5, 15), rng));
      outs.push_back(AddBabble(clean, speech, UniformReal(rng, 13, 20), rng));
    }
    return outs;
  };
  std::mt19937_64 a(1234), b(1234), c(99);
  const auto ra = run(a), rb = run(b), rc = run(c);
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, rc);
  // Take a copy mid-stream (as a checkpoint would) and continue both.
  std::mt19937_64 copy = a;
  EXPECT_EQ(run(a), run(copy));
  EXPECT_EQ(a, copy);
}

// Direct-form circular convolution of x with the RIR rolled to its direct path, renormalised.
std::vector<double> ReferenceReverb(const std::vector<float>& x, std::vector<float> rir) {
  const auto T = static_cast<int64_t>(x.size());
  if (static_cast<int64_t>(rir.size()) > T) rir.resize(T);
  const auto L = static_cast<int64_t>(rir.size());
  int64_t d = 0;
  for (int64_t i = 0; i < L; ++i) {
    if (std::fabs(rir[i]) > std::fabs(rir[d])) d = i;
  }
  // y[n] = sum_j rir[j] * x[(n - (j - d)) mod T]
  std::vector<double> y(T, 0.0);
  for (int64_t n = 0; n < T; ++n) {
    double s = 0;
    for (int64_t j = 0; j < L; ++j) {
      const int64_t m = (((n - (j - d)) % T) + T) % T;
      s += double(rir[j]) * x[m];
    }
    y[n] = s;
  }
  double xs = 0;
  for (float v : x) xs += double(v) * v;
  const double g = std::sqrt(xs / double(T)) / (RmsD(y) + 1e-14);
  for (auto& v : y) v *= g;
  return y;
}

std::vector<float> MakeRir(int64_t len, int64_t direct, uint32_t seed) {
  std::vector<float> rir = RandomSignal(len, seed, 0.05);
  for (int64_t i = 0; i < len; ++i) rir[i] *= static_cast<float>(std::exp(-double(i) / 300.0));
  rir[direct] = 0.9f;
  return rir;
}

TEST(Reverberate, EqualsDirectCircularConvolutionAndKeepsRms) {
  const std::vector<float> x = Speechlike(2500, 12);
  struct Case {
    int64_t len, direct;
  };
  for (const Case c :
       {Case{700, 37}, Case{700, 0}, Case{1, 0}, Case{4000, 120}, Case{2500, 2499}}) {
    const std::vector<float> rir = MakeRir(c.len, c.direct, 13);
    const std::vector<float> y = Reverberate(x, rir);
    const std::vector<double> ref = ReferenceReverb(x, rir);
    ASSERT_EQ(y.size(), x.size());
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(y[i] - ref[i]));
      max_ref = std::max(max_ref, std::fabs(ref[i]));
    }
    EXPECT_LT(max_diff, 1e-6 * std::max(1.0, max_ref)) << "rir " << c.len << " @" << c.direct;
    EXPECT_NEAR(Rms(y) / Rms(x), 1.0, 1e-6) << "rir " << c.len;
  }
  // A pure direct path anywhere is the identity (up to the renormalisation).
  std::vector<float> delta(300, 0.0f);
  delta[123] = -0.5f;
  const std::vector<float> y = Reverberate(x, delta);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(y[i], -x[i], 1e-6);
  EXPECT_THROW(Reverberate(x, {}), Error);
}

// Frequency (Hz, 0.5 Hz steps) with the largest DFT magnitude in [lo, hi].
double PeakFrequency(const std::vector<float>& x, int rate, double lo, double hi) {
  double best_f = lo, best = -1;
  for (double f = lo; f <= hi; f += 0.5) {
    double re = 0, im = 0;
    const double w = 2 * kPi * f / rate;
    for (size_t n = 0; n < x.size(); ++n) {
      re += x[n] * std::cos(w * n);
      im -= x[n] * std::sin(w * n);
    }
    const double m = re * re + im * im;
    if (m > best) best = m, best_f = f;
  }
  return best_f;
}

TEST(SpeedPerturb, OutputLengthsMatchSox) {
  const std::vector<float> x = RandomSignal(32240, 1);
  EXPECT_NEAR(double(SpeedPerturb(x, 0.9, 16000).size()), 35822, 1);
  EXPECT_NEAR(double(SpeedPerturb(x, 1.1, 16000).size()), 29309, 1);
  EXPECT_EQ(SpeedPerturb(x, 1.0, 16000), x);
  // A factor whose rate is not an integer still gives round(T / s) samples.
  EXPECT_NEAR(double(SpeedPerturb(x, 0.95, 16000).size()), 32240 / 0.95, 1);
  EXPECT_THROW(SpeedPerturb(x, 0.0, 16000), Error);
}

TEST(SpeedPerturb, SineFrequencyScalesBySpeed) {
  const int rate = 16000;
  const double f0 = 1000.0;
  std::vector<float> x(rate);
  for (int i = 0; i < rate; ++i) x[i] = static_cast<float>(0.5 * std::sin(2 * kPi * f0 * i / rate));
  for (double s : {0.9, 1.1}) {
    const std::vector<float> y = SpeedPerturb(x, s, rate);
    // Keep the middle (away from the resampler's edges).
    const std::vector<float> mid(y.begin() + 1000, y.end() - 1000);
    EXPECT_NEAR(PeakFrequency(mid, rate, 800, 1200), s * f0, 1.0) << "speed " << s;
    EXPECT_NEAR(Rms(mid), 0.5 / std::sqrt(2.0), 0.01);
  }
}

TEST(SpeedPerturb, LabelOffsets) {
  EXPECT_EQ(SpeedLabelOffset(1.0), 0);
  EXPECT_EQ(SpeedLabelOffset(0.9), 1);
  EXPECT_EQ(SpeedLabelOffset(1.1), 2);
  EXPECT_THROW(SpeedLabelOffset(1.2), Error);
}

TEST(Vad, FrameEnergiesMatchTorchaudioKaldiFbank) {
  test::ScratchDir dir("augmentation_vad");
  std::vector<float> x = Speechlike(8000, 31);
  for (int i = 2000; i < 4000; ++i) x[i] *= 1e-3f;
  test::WriteRawFloats(dir / "x.raw", x);
  test::RunPython(test::SourcePath("src/speakernet/augmentation/vad_reference.py"),
                  {dir / "x.raw", dir / "e.raw"});
  const std::vector<float> ref = test::ReadRawFloats(dir / "e.raw");
  const std::vector<float> got = FrameLogEnergies(x.data(), int64_t(x.size()));
  ASSERT_EQ(got.size(), ref.size());
  ASSERT_EQ(got.size(), size_t((8000 - 400) / 160 + 1));
  for (size_t t = 0; t < got.size(); ++t) EXPECT_NEAR(got[t], ref[t], 1e-3) << "frame " << t;
}

TEST(Vad, MarksToneBurstsVoicedAndNearSilenceUnvoiced) {
  const int rate = 16000;
  // [start, end) sample regions, alternately near-silence and tone bursts.
  const std::vector<int64_t> edges = {0, 4800, 12800, 19200, 24000, 28800, 32000};
  std::vector<float> x = RandomSignal(edges.back(), 77, 1e-4);  // near-silence floor
  for (size_t r = 1; r + 1 < edges.size(); r += 2) {
    for (int64_t i = edges[r]; i < edges[r + 1]; ++i) {
      x[i] += static_cast<float>(0.3 * std::sin(2 * kPi * 440.0 * i / rate));
    }
  }
  const std::vector<float> e = FrameLogEnergies(x.data(), int64_t(x.size()), rate);
  const auto frames = static_cast<int64_t>(e.size());
  // Region of frame t (samples [160t, 160t+400)): index r if fully inside, else -1.
  auto region = [&](int64_t t) -> int {
    for (size_t r = 0; r + 1 < edges.size(); ++r) {
      if (160 * t >= edges[r] && 160 * t + 400 <= edges[r + 1]) return int(r);
    }
    return -1;
  };
  for (int context : {0, 2}) {
    VadConfig cfg;
    cfg.vad_frames_context = context;
    const std::vector<bool> voiced = ComputeVad(e, cfg);
    ASSERT_EQ(int64_t(voiced.size()), frames);
    int checked = 0;
    for (int64_t t = 0; t < frames; ++t) {
      const int r = region(t);
      bool clear = r >= 0;
      for (int64_t u = std::max<int64_t>(0, t - context); u <= std::min(frames - 1, t + context);
           ++u) {
        clear = clear && region(u) == r;
      }
      if (!clear) continue;
      ++checked;
      EXPECT_EQ(voiced[t], r % 2 == 1) << "frame " << t << " context " << context;
    }
    EXPECT_GT(checked, frames * 8 / 10);
  }
}

TEST(Vad, KaldiThresholdAndProportionRules) {
  // Hand-computed: mean = 4, threshold = 5 + 0.5*4 = 7; only 8 and 9 are above it.
  const std::vector<float> e = {0, 8, 9, 0, 3};
  VadConfig cfg;
  EXPECT_EQ(ComputeVad(e, cfg), (std::vector<bool>{false, true, true, false, false}));
  // Context 1, proportion 0.6: frame 0 sees {0,8} (1/2 = 0.5) -> no; frame 3 sees {9,0,3} (1/3).
  cfg.vad_frames_context = 1;
  EXPECT_EQ(ComputeVad(e, cfg), (std::vector<bool>{false, true, true, false, false}));
  cfg.vad_proportion_threshold = 0.5;  // now 1 of 2 is enough at the edge
  EXPECT_EQ(ComputeVad(e, cfg), (std::vector<bool>{true, true, true, false, false}));
  EXPECT_TRUE(ComputeVad({}, cfg).empty());
}

TEST(Vad, IsSilentChunk) {
  std::vector<float> zeros(1000, 0.0f);
  EXPECT_TRUE(IsSilentChunk(zeros.data(), 1000));
  std::vector<float> low(1000, 0.0004f), high(1000, -0.0006f), alt(1000);
  for (int i = 0; i < 1000; ++i) alt[i] = (i % 2 ? 0.001f : -0.001f);
  EXPECT_TRUE(IsSilentChunk(low.data(), 1000));
  EXPECT_FALSE(IsSilentChunk(high.data(), 1000));
  EXPECT_FALSE(IsSilentChunk(alt.data(), 1000));  // mean |x| = 0.001 although mean x = 0
  // One loud sample among 999 zeros: mean |x| = 0.6/1000 = 0.0006.
  zeros[500] = 0.6f;
  EXPECT_FALSE(IsSilentChunk(zeros.data(), 1000));
  EXPECT_TRUE(IsSilentChunk(zeros.data(), 1000, 0.001));
  EXPECT_TRUE(IsSilentChunk(nullptr, 0));
}

TEST(SpecAugment, MasksTheConfiguredAmounts) {
  const int64_t B = 4, F = 80, T = 200;
  torch::Generator gen = at::detail::createCPUGenerator(42);
  torch::Tensor feats = torch::rand({B, F, T}) + 1.0;  // no natural zeros
  SpecAugmentConfig cfg;
  cfg.num_time_masks = 1;
  cfg.min_time_width = cfg.max_time_width = 7;
  cfg.num_freq_masks = 1;
  cfg.min_freq_width = cfg.max_freq_width = 5;
  SpecAugment(feats, cfg, gen);
  const torch::Tensor zero = feats == 0;
  for (int64_t b = 0; b < B; ++b) {
    EXPECT_EQ(zero[b].all(1).sum().item<int64_t>(), 5) << "item " << b;  // masked bins
    EXPECT_EQ(zero[b].all(0).sum().item<int64_t>(), 7) << "item " << b;  // masked frames
    EXPECT_EQ(zero[b].sum().item<int64_t>(), 5 * T + 7 * F - 5 * 7);
  }
  // Several masks of random widths: the masked frames number at most the sum of widths.
  cfg.num_time_masks = 3;
  cfg.min_time_width = 0;
  cfg.max_time_width = 10;
  cfg.num_freq_masks = 0;
  torch::Tensor f2 = torch::rand({B, F, T}) + 1.0;
  SpecAugment(f2, cfg, gen);
  const torch::Tensor z2 = f2 == 0;
  EXPECT_EQ(z2.all(2).sum().item<int64_t>(), 0);  // no frequency masks
  for (int64_t b = 0; b < B; ++b) {
    const int64_t cols = z2[b].all(0).sum().item<int64_t>();
    EXPECT_LE(cols, 30);
    EXPECT_EQ(z2[b].sum().item<int64_t>(), cols * F);  // whole columns only
  }
  // Mask value and zero widths.
  cfg = SpecAugmentConfig{};
  cfg.max_time_width = cfg.max_freq_width = 0;
  torch::Tensor f3 = torch::rand({B, F, T}) + 1.0;
  const torch::Tensor before = f3.clone();
  SpecAugment(f3, cfg, gen);
  EXPECT_TRUE(torch::equal(f3, before));
  cfg = SpecAugmentConfig{};
  cfg.min_freq_width = cfg.max_freq_width = 3;
  cfg.num_time_masks = 0;
  cfg.mask_value = -7.5;
  SpecAugment(f3, cfg, gen);
  EXPECT_EQ((f3 == -7.5).sum().item<int64_t>(), B * 3 * T);
}

TEST(SpecAugment, SameGeneratorStateSameMasks) {
  SpecAugmentConfig cfg;
  cfg.num_time_masks = 2;
  cfg.num_freq_masks = 2;
  torch::Generator g1 = at::detail::createCPUGenerator(7);
  torch::Tensor warm = torch::ones({2, 40, 100});
  SpecAugment(warm, cfg, g1);
  torch::Generator g2 = g1.clone();  // resume point
  torch::Tensor a = torch::ones({3, 40, 100}), b = torch::ones({3, 40, 100});
  SpecAugment(a, cfg, g1);
  SpecAugment(b, cfg, g2);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a[0], a[1]) && torch::equal(a[1], a[2]));  // per-item masks
  if (torch::cuda::is_available()) {
    torch::Generator g3 = at::detail::createCPUGenerator(7);
    torch::Generator g4 = at::detail::createCPUGenerator(7);
    torch::Tensor c = torch::ones({3, 40, 100}), d = torch::ones({3, 40, 100}, torch::kCUDA);
    SpecAugment(c, cfg, g3);
    SpecAugment(d, cfg, g4);
    EXPECT_EQ(d.device().type(), torch::kCUDA);
    EXPECT_TRUE(torch::equal(c, d.cpu()));
  }
  torch::Tensor bad = torch::ones({40, 100});
  EXPECT_THROW(SpecAugment(bad, cfg, g1), Error);
}

}  // namespace
}  // namespace speakernet
