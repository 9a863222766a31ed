#include "speakernet/features/fbank.h"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace speakernet {

namespace {

constexpr double kLogOffset = 1e-6;  // log(mel + 1e-6)
constexpr double kVarEps = 1e-8;     // x / sqrt(var + 1e-8)
// CPU work is done in blocks of about this many frames so that the framed signal, its
// spectrum and the power stay cache-resident (measured: whole 32 x 2 s batches at once made
// the FFT ~35 % slower per frame).
constexpr int64_t kCpuBlockFrames = 512;
// Mel filters are applied in groups of this many adjacent filters, each group only over the
// FFT bins where its filters are non-zero (the filter matrix is ~2 % non-zero).
constexpr int64_t kFiltersPerGroup = 10;

double HzToMel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }

}  // namespace

void FbankOptions::Validate() const {
  SN_CHECK(sample_rate > 0, "fbank.sample_rate must be > 0, got {}", sample_rate);
  SN_CHECK(n_fft >= 2, "fbank.n_fft must be >= 2, got {}", n_fft);
  SN_CHECK(WinLength() >= 1 && WinLength() <= n_fft,
           "fbank.window_size * sample_rate = {} samples must be in [1, n_fft = {}]", WinLength(),
           n_fft);
  SN_CHECK(HopLength() >= 1, "fbank.window_stride * sample_rate = {} samples must be >= 1",
           HopLength());
  SN_CHECK(num_bins >= 1, "fbank.num_bins must be >= 1, got {}", num_bins);
  SN_CHECK(dither >= 0, "fbank.dither must be >= 0, got {}", dither);
  SN_CHECK(f_min >= 0, "fbank.f_min must be >= 0, got {}", f_min);
  SN_CHECK(f_max >= 0 && f_max <= sample_rate / 2.0,
           "fbank.f_max must be in [0, sample_rate / 2 = {}] (0 = Nyquist), got {}",
           sample_rate / 2.0, f_max);
  SN_CHECK(FMax() > f_min, "fbank.f_min ({}) must be below f_max ({} Hz)", f_min, FMax());
}

// One group of adjacent mel filters [first, first + count), non-zero only on FFT bins
// [bin0, bin0 + num_bins_used). `weights` is [2 * num_bins_used, count]: each bin's row appears
// twice so that multiplying the squared (re, im) pairs sums them, |X|^2 folded into the matmul.
struct MelGroup {
  int64_t first = 0, count = 0, bin0 = 0, num_bins_used = 0;
  torch::Tensor weights;
};

struct Fbank::DeviceTables {
  torch::Tensor window;  // [n_fft]
  std::vector<MelGroup> groups;

  DeviceTables To(const torch::Device& device) const {
    DeviceTables out;
    out.window = window.to(device);
    out.groups = groups;
    for (auto& g : out.groups) {
      if (g.weights.defined()) g.weights = g.weights.to(device);
    }
    return out;
  }
};

struct Fbank::State {
  std::mutex mutex;
  std::map<std::string, DeviceTables> by_device;  // node addresses are stable
  const DeviceTables* cpu = nullptr;
};

Fbank::Fbank(const FbankOptions& options)
    : options_(options),
      win_(options.WinLength()),
      hop_(options.HopLength()),
      state_(std::make_shared<State>()) {
  options_.Validate();
  DeviceTables cpu;
  cpu.window = Window();
  const torch::Tensor mel = MelMatrix();  // [n_fft / 2 + 1, num_bins]
  const torch::Tensor nonzero = mel.gt(0);
  for (int64_t first = 0; first < options_.num_bins; first += kFiltersPerGroup) {
    MelGroup g;
    g.first = first;
    g.count = std::min<int64_t>(kFiltersPerGroup, options_.num_bins - first);
    const torch::Tensor rows = nonzero.narrow(1, first, g.count).any(1).nonzero().view(-1);
    if (rows.numel() > 0) {
      g.bin0 = rows.min().item<int64_t>();
      g.num_bins_used = rows.max().item<int64_t>() + 1 - g.bin0;
      g.weights = mel.narrow(0, g.bin0, g.num_bins_used)
                      .narrow(1, first, g.count)
                      .repeat_interleave(2, 0)
                      .contiguous();
    }
    cpu.groups.push_back(std::move(g));
  }
  state_->cpu = &state_->by_device.emplace("cpu", std::move(cpu)).first->second;
}

torch::Tensor Fbank::Window() const {
  torch::NoGradGuard no_grad;
  const torch::Tensor hamming = torch::hamming_window(win_, /*periodic=*/true, torch::kFloat);
  torch::Tensor window = torch::zeros({options_.n_fft}, torch::kFloat);
  window.narrow(0, (options_.n_fft - win_) / 2, win_).copy_(hamming);  // centered, like stft
  return window;
}

torch::Tensor Fbank::MelMatrix() const {
  // Triangular HTK-mel filters defined in Hz and sampled on the linear FFT-bin grid (no area
  // normalisation), computed in float32 as torchaudio's melscale_fbanks does.
  torch::NoGradGuard no_grad;
  const int64_t num_freqs = options_.n_fft / 2 + 1;
  const torch::Tensor freqs =
      torch::linspace(0, options_.sample_rate / 2, num_freqs, torch::kFloat);  // integer Nyquist
  const torch::Tensor mels = torch::linspace(HzToMel(options_.f_min), HzToMel(options_.FMax()),
                                             options_.num_bins + 2, torch::kFloat);
  const torch::Tensor edges = 700.0 * (torch::pow(10.0, mels / 2595.0) - 1.0);  // [num_bins + 2]
  const torch::Tensor widths =
      edges.narrow(0, 1, options_.num_bins + 1) - edges.narrow(0, 0, options_.num_bins + 1);
  // offset[k][j] = edges[j] - freqs[k]
  const torch::Tensor offset = edges.unsqueeze(0) - freqs.unsqueeze(1);
  const torch::Tensor rising =
      -offset.narrow(1, 0, options_.num_bins) / widths.narrow(0, 0, options_.num_bins);
  const torch::Tensor falling =
      offset.narrow(1, 2, options_.num_bins) / widths.narrow(0, 1, options_.num_bins);
  return torch::clamp_min(torch::minimum(rising, falling), 0.0);
}

const Fbank::DeviceTables& Fbank::TablesFor(const torch::Device& device) const {
  if (device.is_cpu()) return *state_->cpu;
  std::lock_guard<std::mutex> lock(state_->mutex);
  const std::string key = device.str();
  auto it = state_->by_device.find(key);
  if (it == state_->by_device.end()) {
    it = state_->by_device.emplace(key, state_->cpu->To(device)).first;
  }
  return it->second;
}

// Mel energies of frames [f0, f0 + nf) of utterances [b0, b0 + nb) (either nb == 1 or the
// whole utterances) into the matching rows of `mel` ([B * num_frames, num_bins]).
void Fbank::MelBlock(const torch::Tensor& padded, const DeviceTables& tables, int64_t b0,
                     int64_t nb, int64_t f0, int64_t nf, int64_t num_frames,
                     torch::Tensor& mel) const {
  const int64_t padded_len = padded.size(1);
  const torch::Tensor frames =
      padded.as_strided({nb, nf, options_.n_fft}, {padded_len, hop_, 1},
                        padded.storage_offset() + b0 * padded_len + f0 * hop_);
  const torch::Tensor spectrum = torch::fft::rfft(frames * tables.window);  // [nb, nf, bins]
  // (re^2, im^2) interleaved; the duplicated filter rows sum the pairs inside the matmul.
  const torch::Tensor squares = torch::view_as_real(spectrum).square_().view({nb * nf, -1});
  torch::Tensor rows = mel.narrow(0, b0 * num_frames + f0, nb * nf);
  for (const MelGroup& g : tables.groups) {
    torch::Tensor out = rows.narrow(1, g.first, g.count);
    if (g.num_bins_used == 0) {
      out.zero_();
    } else {
      torch::mm_out(out, squares.narrow(1, 2 * g.bin0, 2 * g.num_bins_used), g.weights);
    }
  }
}

torch::Tensor Fbank::operator()(const torch::Tensor& waves, bool training) const {
  SN_CHECK(waves.defined() && (waves.dim() == 1 || waves.dim() == 2),
           "Fbank expects waves of shape [B, T] or [T], got {}",
           waves.defined() ? c10::str(waves.sizes()) : std::string("undefined"));
  SN_CHECK(waves.is_floating_point(), "Fbank expects float waves, got {}",
           std::string(c10::toString(waves.scalar_type())));
  torch::NoGradGuard no_grad;
  // Always fp32, like speaker-net's autocast(enabled=False) around the front end.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  torch::Tensor x = (waves.dim() == 1 ? waves.unsqueeze(0) : waves).to(torch::kFloat);
  const int64_t batch = x.size(0), length = x.size(1), pad = options_.n_fft / 2;
  SN_CHECK(length > pad,
           "Fbank needs more than n_fft / 2 = {} samples per signal (reflect padding), got {}", pad,
           length);
  if (training && options_.dither > 0) x = x + torch::randn_like(x) * options_.dither;
  const DeviceTables& tables = TablesFor(x.device());

  // Pre-emphasised signal, reflect-padded by n_fft / 2 on both sides (center=True).
  torch::Tensor padded = torch::empty({batch, length + 2 * pad}, x.options());
  torch::Tensor center = padded.narrow(1, pad, length);
  if (options_.preemph > 0) {
    // y[0] = x[0] (x[-1] = 0); y[n] = x[n] - (p * x[n-1]), rounded like the reference (a fused
    // x - p * x' differs by up to ~5e-5 after the log on weak low-frequency bins).
    center.narrow(1, 0, 1).copy_(x.narrow(1, 0, 1));
    torch::Tensor rest = center.narrow(1, 1, length - 1);
    torch::mul_out(rest, x.narrow(1, 0, length - 1), options_.preemph);
    torch::sub_out(rest, x.narrow(1, 1, length - 1), rest);
  } else {
    center.copy_(x);
  }
  padded.narrow(1, 0, pad).copy_(center.narrow(1, 1, pad).flip({1}));
  padded.narrow(1, pad + length, pad).copy_(center.narrow(1, length - 1 - pad, pad).flip({1}));

  const int64_t num_frames = NumFrames(length), bins = options_.num_bins;
  torch::Tensor mel = torch::empty({batch * num_frames, bins}, x.options());
  if (!x.is_cpu()) {
    MelBlock(padded, tables, 0, batch, 0, num_frames, num_frames, mel);
  } else if (num_frames >= kCpuBlockFrames) {
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t f0 = 0; f0 < num_frames; f0 += kCpuBlockFrames) {
        MelBlock(padded, tables, b, 1, f0, std::min(kCpuBlockFrames, num_frames - f0), num_frames,
                 mel);
      }
    }
  } else {
    const int64_t per_block = std::max<int64_t>(1, kCpuBlockFrames / num_frames);
    for (int64_t b0 = 0; b0 < batch; b0 += per_block) {
      MelBlock(padded, tables, b0, std::min(per_block, batch - b0), 0, num_frames, num_frames, mel);
    }
  }
  if (options_.log) mel.add_(kLogOffset).log_();

  // [B * frames, bins] -> [B, bins, frames], fused with the normalisation where there is one
  // (explicit contiguous outputs: elementwise ops would keep the transposed strides).
  const torch::Tensor by_time = mel.view({batch, num_frames, bins}).transpose(1, 2);
  torch::Tensor out = torch::empty({batch, bins, num_frames}, x.options());
  if (options_.norm_var) {
    auto [var, mean] = torch::var_mean(by_time, {2}, /*unbiased=*/false, /*keepdim=*/true);
    if (options_.cmvn) {
      torch::sub_out(out, by_time, mean);
    } else {
      out.copy_(by_time);
    }
    out.div_(var.add_(kVarEps).sqrt_());
  } else if (options_.cmvn) {
    torch::sub_out(out, by_time, by_time.mean({2}, /*keepdim=*/true));
  } else {
    out.copy_(by_time);
  }
  return waves.dim() == 1 ? out.squeeze(0) : out;
}

}  // namespace speakernet
