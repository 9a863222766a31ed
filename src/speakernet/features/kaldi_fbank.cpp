#include "speakernet/features/kaldi_fbank.h"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace speakernet {

namespace {

constexpr double kEpsilon = FLT_EPSILON;  // Kaldi's floor on energies before the log
constexpr double kVarEps = 1e-8;          // x / sqrt(var + 1e-8), as in Fbank
constexpr double kInt16Scale = 32768.0;
// The CPU path frames, transforms and filters this many frames at a time so that the frame
// buffer and its spectrum stay cache-resident.
constexpr int64_t kCpuBlockFrames = 256;

int NextPowerOfTwo(int x) {
  int p = 1;
  while (p < x) p *= 2;
  return p;
}

// In place over time (last dim) of a contiguous [B, dim, frames] tensor.
void Normalize(torch::Tensor& out, bool cmvn, bool norm_var) {
  if (norm_var) {
    auto [var, mean] = torch::var_mean(out, {2}, /*unbiased=*/false, /*keepdim=*/true);
    if (cmvn) out.sub_(mean);
    out.div_(var.add_(kVarEps).sqrt_());
  } else if (cmvn) {
    out.sub_(out.mean({2}, /*keepdim=*/true));
  }
}

}  // namespace

int KaldiFbankOptions::WindowShift() const {
  return static_cast<int>(samp_freq * frame_shift_ms * 0.001);
}
int KaldiFbankOptions::WindowSize() const {
  return static_cast<int>(samp_freq * frame_length_ms * 0.001);
}
int KaldiFbankOptions::PaddedWindowSize() const {
  return round_to_power_of_two ? NextPowerOfTwo(WindowSize()) : WindowSize();
}

void KaldiFbankOptions::Validate() const {
  SN_CHECK(samp_freq > 0, "kaldi_fbank.samp_freq must be > 0, got {}", samp_freq);
  SN_CHECK(WindowShift() >= 1,
           "kaldi_fbank.frame_shift_ms = {} gives a shift of {} samples, must be >= 1",
           frame_shift_ms, WindowShift());
  SN_CHECK(WindowSize() >= 2,
           "kaldi_fbank.frame_length_ms = {} gives a window of {} samples, must be >= 2",
           frame_length_ms, WindowSize());
  SN_CHECK(PaddedWindowSize() % 2 == 0,
           "kaldi_fbank: the FFT size {} must be even; set round_to_power_of_two or change "
           "frame_length_ms",
           PaddedWindowSize());
  SN_CHECK(dither >= 0, "kaldi_fbank.dither must be >= 0, got {}", dither);
  SN_CHECK(preemph_coeff >= 0 && preemph_coeff <= 1,
           "kaldi_fbank.preemph_coeff must be in [0, 1], got {}", preemph_coeff);
  SN_CHECK(window_type == "povey" || window_type == "hamming" || window_type == "hanning" ||
               window_type == "rectangular",
           "kaldi_fbank.window_type must be povey, hamming, hanning or rectangular, got '{}'",
           window_type);
  SN_CHECK(num_bins > 3, "kaldi_fbank.num_bins must be > 3, got {}", num_bins);
  const double nyquist = samp_freq / 2.0;
  SN_CHECK(low_freq >= 0 && low_freq < nyquist,
           "kaldi_fbank.low_freq must be in [0, Nyquist = {}), got {}", nyquist, low_freq);
  SN_CHECK(HighFreq() > 0 && HighFreq() <= nyquist,
           "kaldi_fbank.high_freq = {} gives {} Hz, must be in (0, Nyquist = {}] (<= 0 is an "
           "offset from Nyquist)",
           high_freq, HighFreq(), nyquist);
  SN_CHECK(low_freq < HighFreq(), "kaldi_fbank.low_freq ({}) must be below high_freq ({} Hz)",
           low_freq, HighFreq());
  SN_CHECK(energy_floor >= 0, "kaldi_fbank.energy_floor must be >= 0, got {}", energy_floor);
}

namespace {

// Eight float lanes (GCC/Clang vector extension; lowered to SSE or AVX by the compiler): the FFT
// below transforms eight frames at once, one per lane.
typedef float V8 __attribute__((vector_size(32)));
constexpr int kFftLanes = 8;

void Broadcast(double v, std::vector<V8>& out) {
  const float f = static_cast<float>(v);
  out.push_back(V8{f, f, f, f, f, f, f, f});
}

// Function multi-versioning is an x86-64 GCC/Clang feature; other targets get one build.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SPEAKERNET_FMA_CLONES __attribute__((target_clones("fma", "default")))
#else
#define SPEAKERNET_FMA_CLONES
#endif

// The FFT of PowerFft::Power (below); compiled for AVX + FMA as well, picked at load time.
SPEAKERNET_FMA_CLONES void PowerFftKernel(
    int m, const int* slot, const V8* tw_re, const V8* tw_im, const V8* post_re, const V8* post_im,
    const float* frames, int count, int64_t row_stride, float* power, int64_t power_stride, V8* re,
    V8* im) {
  if (count < kFftLanes) {
    for (int c = 0; c < m; ++c) re[c] = im[c] = V8{};
  }
  for (int lane = 0; lane < count; ++lane) {
    const float* x = frames + lane * row_stride;
    for (int c = 0; c < m; ++c) {
      re[slot[c]][lane] = x[2 * c];
      im[slot[c]][lane] = x[2 * c + 1];
    }
  }
  for (int half = 1; half < m; half *= 2) {
    const V8* wr = tw_re + (half - 1);
    const V8* wi = tw_im + (half - 1);
    for (int start = 0; start < m; start += 2 * half) {
      V8* ar = re + start;
      V8* ai = im + start;
      for (int j = 0; j < half; ++j) {
        const V8 xr = ar[j + half], xi = ai[j + half];
        const V8 vr = xr * wr[j] - xi * wi[j];
        const V8 vi = xr * wi[j] + xi * wr[j];
        const V8 ur = ar[j], ui = ai[j];
        ar[j] = ur + vr;
        ai[j] = ui + vi;
        ar[j + half] = ur - vr;
        ai[j + half] = ui - vi;
      }
    }
  }
  // Z = FFT(even + i odd): E[k] = (Z[k] + conj Z[m-k]) / 2, O[k] = (Z[k] - conj Z[m-k]) / 2i,
  // X[k] = E[k] + e^{-2 pi i k / n} O[k], with Z[m] = Z[0].
  const V8 half = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  for (int k = 0; k <= m; ++k) {
    const int kk = k == m ? 0 : k, mk = k == 0 ? 0 : m - k;
    const V8 zr = re[kk], zi = im[kk], cr = re[mk], ci = im[mk];
    const V8 er = (zr + cr) * half, ei = (zi - ci) * half;
    const V8 orr = (zi + ci) * half, oi = (cr - zr) * half;
    const V8 xr = er + orr * post_re[k] - oi * post_im[k];
    const V8 xi = ei + orr * post_im[k] + oi * post_re[k];
    const V8 p = xr * xr + xi * xi;
    std::memcpy(power + k * power_stride, &p, sizeof(p));
  }
}

}  // namespace

// Power spectrum |X[k]|^2, k = 0 .. n / 2, of real frames of a power-of-two length n >= 16,
// eight frames at a time: the n real samples of each frame are packed as n / 2 complex ones
// (even samples real, odd imaginary), transformed by an iterative radix-2 decimation-in-time
// FFT (input in bit-reversed order, output in natural order), and the two interleaved real
// spectra are separated afterwards. All arithmetic is float32, the twiddles come from double.
struct KaldiFbank::PowerFft {
  int n = 0, m = 0;       // real length, complex length (n / 2)
  std::vector<int> slot;  // complex sample index -> bit-reversed slot
  // Twiddles, broadcast to all lanes (a scalar operand would be broadcast through the stack
  // on every use): stage twiddles (half h uses [h - 1, 2h - 1)) and e^{-2 pi i k / n}, k <= m.
  std::vector<V8> tw_re, tw_im, post_re, post_im;

  explicit PowerFft(int length) : n(length), m(length / 2) {
    int bits = 0;
    while ((1 << bits) < m) ++bits;
    slot.resize(m);
    for (int i = 0; i < m; ++i) {
      int r = 0;
      for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
      slot[i] = r;
    }
    for (int half = 1; half < m; half *= 2) {
      for (int j = 0; j < half; ++j) {
        const double angle = -M_PI * j / half;
        Broadcast(std::cos(angle), tw_re);
        Broadcast(std::sin(angle), tw_im);
      }
    }
    for (int k = 0; k <= m; ++k) {
      const double angle = -2 * M_PI * k / n;
      Broadcast(std::cos(angle), post_re);
      Broadcast(std::sin(angle), post_im);
    }
  }

  // frames: `count` (<= 8) rows of n floats, `row_stride` apart. Writes |X[k]|^2 of frame i to
  // power[k * power_stride + i] for all 8 lanes (lanes past `count` get zero). re/im: scratch
  // of m vectors each.
  void Power(const float* frames, int count, int64_t row_stride, float* power, int64_t power_stride,
             V8* re, V8* im) const {
    PowerFftKernel(m, slot.data(), tw_re.data(), tw_im.data(), post_re.data(), post_im.data(),
                   frames, count, row_stride, power, power_stride, re, im);
  }
};

struct KaldiFbank::DeviceTables {
  std::mutex mutex;
  std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> by_device;
};

std::pair<torch::Tensor, torch::Tensor> KaldiFbank::TablesFor(const torch::Device& device) const {
  if (device.is_cpu()) return {window_, mel_banks_};
  std::lock_guard<std::mutex> lock(device_tables_->mutex);
  auto it = device_tables_->by_device.find(device.str());
  if (it == device_tables_->by_device.end()) {
    it = device_tables_->by_device
             .emplace(device.str(), std::make_pair(window_.to(device), mel_banks_.to(device)))
             .first;
  }
  return it->second;
}

KaldiFbank::KaldiFbank(const KaldiFbankOptions& options)
    : options_(options), device_tables_(std::make_shared<DeviceTables>()) {
  options_.Validate();
  torch::NoGradGuard no_grad;
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  shift_ = options_.WindowShift();
  size_ = options_.WindowSize();
  padded_ = options_.PaddedWindowSize();

  // Windows as torchaudio builds them (symmetric, float32).
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat);
  const std::string& type = options_.window_type;
  if (type == "hanning") {
    window_ = torch::hann_window(size_, /*periodic=*/false, f32);
  } else if (type == "hamming") {
    window_ = torch::hamming_window(size_, /*periodic=*/false, 0.54, 0.46, f32);
  } else if (type == "povey") {
    window_ = torch::hann_window(size_, /*periodic=*/false, f32).pow(0.85);
  } else {
    window_ = torch::ones({size_}, f32);
  }

  // Kaldi mel filters in float32 with double scalars, the same operations as torchaudio's
  // get_mel_banks (no VTLN): triangles on the mel scale, sampled at the FFT bin centres.
  auto mel_scale = [](double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); };
  const int num_bins = options_.num_bins;
  const double mel_low = mel_scale(options_.low_freq);
  const double mel_high = mel_scale(options_.HighFreq());
  const double delta = (mel_high - mel_low) / (num_bins + 1);
  const double fft_bin_width = static_cast<double>(options_.samp_freq) / padded_;
  const torch::Tensor bin = torch::arange(num_bins, torch::kLong).unsqueeze(1);
  const torch::Tensor left = mel_low + bin * delta;
  const torch::Tensor center = mel_low + (bin + 1.0) * delta;
  const torch::Tensor right = mel_low + (bin + 2.0) * delta;
  const torch::Tensor mel = (1.0 + (fft_bin_width * torch::arange(padded_ / 2, f32)) / 700.0)
                                .log()
                                .mul(1127.0)
                                .unsqueeze(0);
  const torch::Tensor up = (mel - left) / (center - left);
  const torch::Tensor down = (right - mel) / (right - center);
  mel_banks_ = torch::constant_pad_nd(torch::clamp_min(torch::minimum(up, down), 0.0), {0, 1}, 0)
                   .contiguous();  // [num_bins, padded / 2 + 1]

  if (padded_ >= 16 && (padded_ & (padded_ - 1)) == 0) {
    power_fft_ = std::make_shared<const PowerFft>(padded_);
  }
  const torch::Tensor banks = mel_banks_;
  const float* w = banks.data_ptr<float>();
  const int num_freqs = padded_ / 2 + 1;
  for (int j = 0; j < num_bins; ++j) {
    int begin = 0, end = 0;
    for (int k = 0; k < num_freqs; ++k) {
      if (w[j * num_freqs + k] != 0.f) {
        if (end == 0) begin = k;
        end = k + 1;
      }
    }
    filter_begin_.push_back(begin);
    filter_end_.push_back(end);
    filter_offset_.push_back(static_cast<int>(filter_weights_.size()));
    for (int k = begin; k < end; ++k) filter_weights_.push_back(w[j * num_freqs + k]);
  }
}

int64_t KaldiFbank::NumFrames(int64_t num_samples) const {
  if (options_.snip_edges) {
    return num_samples < size_ ? 0 : 1 + (num_samples - size_) / shift_;
  }
  return (num_samples + shift_ / 2) / shift_;
}

namespace {

// The signal frames are cut from ([B, S], frame f starting at f * shift): the input itself with
// snip_edges, otherwise the input with reflected ends as Kaldi does (the reflection repeats the
// edge sample: x[p-1] .. x[0] x[0] .. x[T-1] x[T-1] .. x[0]).
torch::Tensor FramingSource(const torch::Tensor& x, int size, int shift, bool snip_edges) {
  if (snip_edges) return x.contiguous();
  const int64_t pad = size / 2 - shift / 2;
  const torch::Tensor reversed = x.flip({1});
  if (pad > 0) {
    return torch::cat({x.narrow(1, 0, pad).flip({1}), x, reversed}, 1);
  }
  return torch::cat({x.narrow(1, -pad, x.size(1) + pad), reversed}, 1);
}

}  // namespace

void KaldiFbank::GenericFeatures(const torch::Tensor& x, bool training, torch::Tensor& energy,
                                 torch::Tensor& mel) const {
  const int64_t batch = x.size(0), num_frames = NumFrames(x.size(1));
  const torch::Tensor source = FramingSource(x, size_, shift_, options_.snip_edges);
  const int64_t source_len = source.size(1);
  torch::Tensor frames = source.as_strided({batch, num_frames, size_}, {source_len, shift_, 1},
                                           source.storage_offset());
  if (training && options_.dither > 0) {
    frames = frames + torch::randn_like(frames) * options_.dither;
  }
  if (options_.remove_dc_offset) frames = frames - frames.mean({2}, /*keepdim=*/true);
  const auto log_energy = [&](const torch::Tensor& f) {
    torch::Tensor e = f.square().sum({2}).clamp_min_(kEpsilon).log_();
    if (options_.energy_floor > 0) e.clamp_min_(std::log(options_.energy_floor));
    return e;
  };
  if (options_.raw_energy) energy = log_energy(frames);
  if (options_.preemph_coeff != 0) {
    const torch::Tensor previous =
        torch::cat({frames.narrow(2, 0, 1), frames.narrow(2, 0, size_ - 1)}, 2);
    frames = frames - previous * options_.preemph_coeff;
  }
  const auto [window, mel_banks] = TablesFor(x.device());
  frames = frames * window;
  if (padded_ != size_) frames = torch::constant_pad_nd(frames, {0, padded_ - size_}, 0);
  if (!options_.raw_energy) energy = log_energy(frames);
  torch::Tensor spectrum = torch::fft::rfft(frames).abs();  // [B, frames, padded / 2 + 1]
  if (options_.use_power) spectrum = spectrum.square();
  mel = torch::matmul(spectrum, mel_banks.t());  // [B, frames, num_bins]
}

namespace {

constexpr int kLanes = 16;  // independent accumulators: lets the compiler vectorize sums

// Sum of n floats (float precision like torchaudio's per-frame mean, but in kLanes lanes: a
// single accumulator is a serial chain of dependent adds).
float Sum(const float* x, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j];
  }
  for (; i < n; ++i) acc[0] += x[i];
  float sum = 0;
  for (int j = 0; j < kLanes; ++j) sum += acc[j];
  return sum;
}

// Sum of (x - mean)^2 over n floats, likewise.
float SumSquares(const float* x, int n, float mean = 0.f) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] += (x[i + j] - mean) * (x[i + j] - mean);
  }
  for (; i < n; ++i) acc[0] += (x[i] - mean) * (x[i] - mean);
  float sum = 0;
  for (int j = 0; j < kLanes; ++j) sum += acc[j];
  return sum;
}

}  // namespace

void KaldiFbank::CpuFeatures(const torch::Tensor& x, float scale, torch::Tensor& out) const {
  const int64_t batch = x.size(0), num_frames = NumFrames(x.size(1));
  const torch::Tensor source = FramingSource(x, size_, shift_, options_.snip_edges);
  const int64_t source_len = source.size(1);
  // The input scale folds into the window and the energy: scale is a power of two, so the
  // result is the same as scaling the signal first, without a pass over it.
  std::vector<float> window(window_.data_ptr<float>(), window_.data_ptr<float>() + size_);
  for (float& w : window) w *= scale;
  const double energy_scale = static_cast<double>(scale) * scale;
  const int num_freqs = padded_ / 2 + 1, num_bins = options_.num_bins;
  const int mel_row0 = options_.use_energy ? 1 : 0;
  const float preemph = static_cast<float>(options_.preemph_coeff);
  const double log_floor = options_.energy_floor > 0 ? std::log(options_.energy_floor) : -HUGE_VAL;
  // Blocks run over the frames of the whole batch (utterance-major), so that many short
  // utterances share FFT calls.
  const int64_t total = batch * num_frames, dim = out.size(1);
  const int64_t block = std::min(kCpuBlockFrames, std::max<int64_t>(total, 1));
  torch::Tensor buffer = torch::zeros({block, padded_}, torch::kFloat);  // padding stays zero
  // Power spectrum of a block transposed, [num_freqs][block]: the filters then run over
  // contiguous frames (vectorized). Rows padded to whole tiles of kTile frames.
  constexpr int64_t kTile = 16;
  const int64_t stride = (block + kTile - 1) / kTile * kTile;
  std::vector<float> power_t(static_cast<size_t>(num_freqs * stride), 0.f);
  std::vector<int64_t> base(stride);  // per frame of the block: offset of its row-0 output
  std::vector<V8> fft_re(padded_ / 2), fft_im(padded_ / 2);  // FFT scratch
  const float* src = source.data_ptr<float>();
  float* out_data = out.data_ptr<float>();

  for (int64_t g0 = 0; g0 < total; g0 += block) {
    const int64_t nf = std::min(block, total - g0);
    float* buf = buffer.data_ptr<float>();
    for (int64_t i = 0; i < nf; ++i) {
      const int64_t b = (g0 + i) / num_frames, f = (g0 + i) % num_frames;
      base[i] = b * dim * num_frames + f;
      const float* in = src + b * source_len + f * shift_;
      float* dst = buf + i * padded_;
      // DC removal, pre-emphasis and window fused: (x[n] - m) - p (x[n-1] - m), times w[n].
      const float mean =
          options_.remove_dc_offset ? Sum(in, size_) / static_cast<float>(size_) : 0.f;
      float energy = 0;
      if (options_.raw_energy && options_.use_energy) energy = SumSquares(in, size_, mean);
      const float first = in[0] - mean;
      dst[0] = (first - preemph * first) * window[0];
      for (int n = 1; n < size_; ++n) {
        dst[n] = ((in[n] - mean) - preemph * (in[n - 1] - mean)) * window[n];
      }
      double scaled_energy = energy * energy_scale;
      if (!options_.raw_energy && options_.use_energy) scaled_energy = SumSquares(dst, size_);
      if (options_.use_energy) {
        const double e = std::max(std::log(std::max(scaled_energy, kEpsilon)), log_floor);
        out_data[base[i]] = static_cast<float>(e);
      }
    }
    if (power_fft_) {
      for (int64_t i0 = 0; i0 < nf; i0 += kFftLanes) {
        const int count = static_cast<int>(std::min<int64_t>(kFftLanes, nf - i0));
        power_fft_->Power(buf + i0 * padded_, count, padded_, power_t.data() + i0, stride,
                          fft_re.data(), fft_im.data());
      }
    }
    // Otherwise torch's FFT, its power transposed in tiles of kTile frames (each k writes a
    // whole cache line).
    const torch::Tensor spectrum =
        power_fft_ ? torch::Tensor()
                   : torch::view_as_real(torch::fft::rfft(buffer.narrow(0, 0, nf)));
    const float* spec = power_fft_ ? nullptr : spectrum.data_ptr<float>();  // [nf, freqs, 2]
    for (int64_t i0 = 0; !power_fft_ && i0 < nf; i0 += kTile) {
      const int64_t ni = std::min(kTile, nf - i0);
      for (int k = 0; k < num_freqs; ++k) {
        const float* s = spec + i0 * num_freqs * 2 + 2 * k;
        float* p = power_t.data() + k * stride + i0;
        for (int64_t i = 0; i < ni; ++i, s += 2 * num_freqs) p[i] = s[0] * s[0] + s[1] * s[1];
      }
    }
    if (!options_.use_power) {
      for (float& v : power_t) v = std::sqrt(v);
    }
    // Each filter over a tile of frames, accumulated in registers.
    for (int64_t i0 = 0; i0 < nf; i0 += kTile) {
      const int64_t ni = std::min(kTile, nf - i0);
      // A full tile within one utterance is a contiguous run of each output row.
      const bool run = ni == kTile && base[i0 + kTile - 1] - base[i0] == kTile - 1;
      for (int j = 0; j < num_bins; ++j) {
        float acc[kTile] = {};
        const float* w = filter_weights_.data() + filter_offset_[j];
        const float* p = power_t.data() + filter_begin_[j] * stride + i0;
        for (int k = filter_begin_[j]; k < filter_end_[j]; ++k, ++w, p += stride) {
          const float weight = *w;
          for (int64_t i = 0; i < kTile; ++i) acc[i] += weight * p[i];
        }
        const int64_t row = (mel_row0 + j) * num_frames;
        if (run) {  // fixed count: vector stores
          float* dst = out_data + base[i0] + row;
          for (int64_t i = 0; i < kTile; ++i) dst[i] = acc[i];
        } else {
          for (int64_t i = 0; i < ni; ++i) out_data[base[i0 + i] + row] = acc[i];
        }
      }
    }
  }
}

torch::Tensor KaldiFbank::operator()(const torch::Tensor& waves, bool training) const {
  SN_CHECK(waves.defined() && (waves.dim() == 1 || waves.dim() == 2),
           "KaldiFbank expects waves of shape [B, T] or [T], got {}",
           waves.defined() ? c10::str(waves.sizes()) : std::string("undefined"));
  SN_CHECK(waves.is_floating_point(), "KaldiFbank expects float waves, got {}",
           std::string(c10::toString(waves.scalar_type())));
  torch::NoGradGuard no_grad;
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  torch::Tensor x = (waves.dim() == 1 ? waves.unsqueeze(0) : waves).to(torch::kFloat);
  const int64_t batch = x.size(0), length = x.size(1);
  SN_CHECK(length >= size_,
           "KaldiFbank needs at least one window ({} samples) per signal, got {} samples", size_,
           length);
  const float scale = options_.scale_to_int16 ? static_cast<float>(kInt16Scale) : 1.f;
  const int64_t num_frames = NumFrames(length);
  const int dim = Dim(), mel_row0 = options_.use_energy ? 1 : 0;

  torch::Tensor out;
  if (x.is_cpu() && !(training && options_.dither > 0)) {
    out = torch::empty({batch, dim, num_frames}, x.options());
    CpuFeatures(x, scale, out);
    if (options_.use_log_fbank) {
      out.narrow(1, mel_row0, options_.num_bins).clamp_min_(kEpsilon).log_();
    }
  } else {
    torch::Tensor energy, mel;
    // A new tensor: the caller's waves are never modified.
    GenericFeatures(scale != 1.f ? x * scale : x.contiguous(), training, energy, mel);
    if (options_.use_log_fbank) mel = mel.clamp_min(kEpsilon).log_();
    out = torch::empty({batch, dim, num_frames}, x.options());
    if (options_.use_energy) out.select(1, 0).copy_(energy);
    out.narrow(1, mel_row0, options_.num_bins).copy_(mel.transpose(1, 2));
  }
  Normalize(out, options_.cmvn, options_.norm_var);
  return waves.dim() == 1 ? out.squeeze(0) : out;
}

}  // namespace speakernet
