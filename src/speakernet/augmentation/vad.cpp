#include "speakernet/augmentation/vad.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "speakernet/common/error.h"

namespace speakernet {

std::vector<float> FrameLogEnergies(const float* x, int64_t n, int sample_rate, double frame_ms,
                                    double shift_ms) {
  SN_CHECK(sample_rate > 0 && frame_ms > 0 && shift_ms > 0,
           "FrameLogEnergies: bad framing (rate {}, frame {} ms, shift {} ms)", sample_rate,
           frame_ms, shift_ms);
  const auto len = static_cast<int64_t>(sample_rate * 0.001 * frame_ms);
  const auto shift = static_cast<int64_t>(sample_rate * 0.001 * shift_ms);
  SN_CHECK(len > 0 && shift > 0, "FrameLogEnergies: frame of {} samples, shift {}", len, shift);
  if (n < len) return {};
  const int64_t frames = (n - len) / shift + 1;
  std::vector<float> out(frames);
  for (int64_t t = 0; t < frames; ++t) {
    const float* f = x + t * shift;
    double mean = 0;
    for (int64_t i = 0; i < len; ++i) mean += double(f[i]) * 32768.0;
    mean /= double(len);
    double e = 0;
    for (int64_t i = 0; i < len; ++i) {
      const double v = double(f[i]) * 32768.0 - mean;
      e += v * v;
    }
    out[t] = static_cast<float>(std::log(std::max(e, double(FLT_EPSILON))));
  }
  return out;
}

std::vector<bool> ComputeVad(const std::vector<float>& log_energy, const VadConfig& config) {
  config.Validate();
  const auto T = static_cast<int64_t>(log_energy.size());
  std::vector<bool> voiced(T, false);
  if (T == 0) return voiced;
  double threshold = config.vad_energy_threshold;
  if (config.vad_energy_mean_scale != 0.0) {
    double sum = 0;
    for (float e : log_energy) sum += e;
    threshold += config.vad_energy_mean_scale * sum / double(T);
  }
  const int64_t context = config.vad_frames_context;
  for (int64_t t = 0; t < T; ++t) {
    int64_t num = 0, den = 0;
    for (int64_t u = std::max<int64_t>(0, t - context); u <= std::min(T - 1, t + context); ++u) {
      ++den;
      if (log_energy[u] > threshold) ++num;
    }
    voiced[t] = double(num) >= double(den) * config.vad_proportion_threshold;
  }
  return voiced;
}

bool IsSilentChunk(const float* x, int64_t n, double amp_th) {
  if (n <= 0) return true;
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(x[i]);
  return s / double(n) < amp_th;
}

}  // namespace speakernet
