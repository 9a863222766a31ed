#include "speakernet/augmentation/waveform_augment.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/common/error.h"

namespace speakernet {

int64_t UniformInt(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  SN_CHECK(lo <= hi, "UniformInt: empty range [{}, {}]", lo, hi);
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == std::numeric_limits<uint64_t>::max()) return static_cast<int64_t>(rng());
  const uint64_t n = span + 1;
  // Largest multiple of n that fits: values at or above it are rejected (no modulo bias).
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - (std::numeric_limits<uint64_t>::max() % n);
  uint64_t v;
  do {
    v = rng();
  } while (v >= limit);
  return lo + static_cast<int64_t>(v % n);
}

double UniformReal(std::mt19937_64& rng, double lo, double hi) {
  const double u = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
  return lo + (hi - lo) * u;
}

double Rms(const std::vector<float>& x) {
  if (x.empty()) return 0.0;
  double s = 0;
  for (float v : x) s += double(v) * v;
  return std::sqrt(s / double(x.size()));
}

std::vector<float> CropOrWrap(const std::vector<float>& noise, int64_t length,
                              std::mt19937_64& rng) {
  SN_CHECK(!noise.empty(), "noise/babble signal is empty");
  SN_CHECK(length >= 0, "CropOrWrap: negative length {}", length);
  const auto n = static_cast<int64_t>(noise.size());
  if (n > length) {
    const int64_t start = UniformInt(rng, 0, n - length);
    return std::vector<float>(noise.begin() + start, noise.begin() + start + length);
  }
  std::vector<float> out;
  out.reserve(length);
  while (static_cast<int64_t>(out.size()) + n <= length)
    out.insert(out.end(), noise.begin(), noise.end());
  const int64_t r = length - static_cast<int64_t>(out.size());
  out.insert(out.end(), noise.begin(), noise.begin() + r);
  return out;
}

namespace {

// The scale=True mixing rule on an already length-matched noise segment.
std::vector<float> MixScaled(const std::vector<float>& clean, const std::vector<float>& seg,
                             double snr_db) {
  SN_CHECK(std::isfinite(snr_db), "AddNoise: SNR must be finite, got {}", snr_db);
  const double a = std::pow(10.0, snr_db / 20.0);
  const double f = 1.0 / (a + 1.0);
  const double clean_gain = 1.0 - f;
  const double noise_gain = f * Rms(clean) / (Rms(seg) + 1e-14);
  std::vector<float> out(clean.size());
  for (size_t i = 0; i < clean.size(); ++i) {
    out[i] = static_cast<float>(clean_gain * clean[i] + noise_gain * seg[i]);
  }
  return out;
}

}  // namespace

std::vector<float> AddNoise(const std::vector<float>& clean, const std::vector<float>& noise,
                            double snr_db, std::mt19937_64& rng) {
  return MixScaled(clean, CropOrWrap(noise, static_cast<int64_t>(clean.size()), rng), snr_db);
}

std::vector<float> AddBabble(const std::vector<float>& clean,
                             const std::vector<std::vector<float>>& speech, double snr_db,
                             std::mt19937_64& rng) {
  SN_CHECK(!speech.empty(), "AddBabble: no babble speech signals");
  std::vector<double> sum(clean.size(), 0.0);
  for (const auto& s : speech) {
    const std::vector<float> seg = CropOrWrap(s, static_cast<int64_t>(clean.size()), rng);
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += seg[i];
  }
  return MixScaled(clean, std::vector<float>(sum.begin(), sum.end()), snr_db);
}

namespace {

// Smallest n >= want whose only prime factors are 2, 3 and 5 (pocketfft's fast lengths).
int64_t FastFftSize(int64_t want) {
  for (int64_t n = std::max<int64_t>(want, 1);; ++n) {
    int64_t m = n;
    for (int64_t p : {2, 3, 5}) {
      while (m % p == 0) m /= p;
    }
    if (m == 1) return n;
  }
}

}  // namespace

std::vector<float> Reverberate(const std::vector<float>& x, const std::vector<float>& rir) {
  SN_CHECK(!rir.empty(), "Reverberate: empty RIR");
  const auto T = static_cast<int64_t>(x.size());
  if (T == 0) return {};
  const int64_t L = std::min<int64_t>(static_cast<int64_t>(rir.size()), T);
  int64_t d = 0;
  for (int64_t i = 1; i < L; ++i) {
    if (std::fabs(rir[i]) > std::fabs(rir[d])) d = i;
  }
  // The circular convolution with the rolled kernel [rir[d:L], zeros(T-L), rir[0:d]] is
  //   y[n] = sum_j rir[j] x[(n - j + d) mod T],
  // i.e. the linear convolution z = x * rir[0:L] (length T+L-1) folded: y[(m - d) mod T] += z[m].
  // z is computed with FFTs of a 2-3-5-smooth length >= T+L-1, because an FFT of length T
  // itself can be ~7x slower when T has a large prime factor (after speed perturbation
  // T = 35822 = 2 * 17911). Same result as irfft(rfft(x)*rfft(k), n=T) up to float64 rounding.
  const int64_t Z = T + L - 1;
  const int64_t N = FastFftSize(Z);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  // Both forward transforms in one call (signal in row 0, RIR in row 1).
  torch::Tensor both = torch::zeros({2, N}, opts);
  double* xp = both.data_ptr<double>();
  double* hp = xp + N;
  for (int64_t i = 0; i < T; ++i) xp[i] = x[i];
  for (int64_t i = 0; i < L; ++i) hp[i] = rir[i];
  const torch::Tensor spec = torch::fft::rfft(both, N, 1);
  const torch::Tensor z = torch::fft::irfft(spec[0] * spec[1], N).contiguous();
  const double* zp = z.data_ptr<double>();
  std::vector<double> y(T, 0.0);
  for (int64_t m = 0; m < Z; ++m) {
    int64_t n = (m - d) % T;
    if (n < 0) n += T;
    y[n] += zp[m];
  }
  double ss = 0;
  for (int64_t i = 0; i < T; ++i) ss += y[i] * y[i];
  const double gain = Rms(x) / (std::sqrt(ss / double(T)) + 1e-14);
  std::vector<float> out(T);
  for (int64_t i = 0; i < T; ++i) out[i] = static_cast<float>(y[i] * gain);
  return out;
}

std::vector<float> SpeedPerturb(const std::vector<float>& x, double speed, int sample_rate) {
  SN_CHECK(speed > 0 && std::isfinite(speed), "SpeedPerturb: speed must be > 0, got {}", speed);
  SN_CHECK(sample_rate > 0, "SpeedPerturb: sample rate must be > 0, got {}", sample_rate);
  if (speed == 1.0 || x.empty()) return x;
  // sox `speed s` relabels the input as sample_rate*s; `rate` brings it back. Resample takes
  // integer rates, so scale both by 1000 when sample_rate*s is not an integer (the ratio is
  // what soxr uses).
  const double from = sample_rate * speed;
  int from_rate = static_cast<int>(std::lround(from));
  int to_rate = sample_rate;
  if (std::fabs(from - from_rate) > 1e-9) {
    from_rate = static_cast<int>(std::lround(from * 1000.0));
    to_rate = sample_rate * 1000;
  }
  std::vector<float> y = Resample(x, from_rate, to_rate);
  // Resample rounds the length up; sox rounds to nearest.
  const auto want = static_cast<size_t>(std::llround(double(x.size()) / speed));
  y.resize(want, y.empty() ? 0.0f : y.back());
  return y;
}

int SpeedLabelOffset(double speed) {
  if (std::fabs(speed - 1.0) < 1e-9) return 0;
  if (std::fabs(speed - 0.9) < 1e-9) return 1;
  if (std::fabs(speed - 1.1) < 1e-9) return 2;
  Fail(fmt::format("speed factor {} has no label offset (speaker-net knows 1.0, 0.9, 1.1)", speed));
}

}  // namespace speakernet
