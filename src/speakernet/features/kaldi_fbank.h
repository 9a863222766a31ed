// speaker-net's "kaldi_fbank" front end (spec §1.5): Kaldi-compatible log mel filter banks with
// the semantics of torchaudio.compliance.kaldi.fbank (and so of Kaldi's compute-fbank-feats):
// snip-edges (or reflected-edge) framing, per-frame dither, DC removal, raw or windowed log
// energy, per-frame pre-emphasis with a replicated first sample, Povey/Hamming/Hanning/rectangular
// window, zero padding to a power of two, power (or magnitude) spectrum, Kaldi mel filters
// (1127 ln(1 + f / 700), triangles in mel) and log(max(x, FLT_EPSILON)). The waveform is scaled
// from [-1, 1] to int16 range first (like speaker-net, but never in place), the log energy is
// row 0 of the output, and per-utterance mean (and optionally variance) normalisation over time
// follows, as in speaker-net's Fbank.
// On the CPU (without dither) frames are processed in cache-sized blocks by plain loops and an
// own 8-frame SIMD FFT (power-of-two sizes; torch::fft::rfft otherwise); elsewhere, and for
// dither, the same computation runs as tensor ops on the input's device.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "speakernet/common/error.h"

namespace speakernet {

struct KaldiFbankOptions {
  int samp_freq = 16000;
  double frame_length_ms = 25;
  double frame_shift_ms = 10;
  double dither = 0.0;  // Gaussian std per frame sample (int16 scale), training only
  double preemph_coeff = 0.97;
  bool remove_dc_offset = true;
  std::string window_type = "povey";  // povey | hamming | hanning | rectangular
  bool round_to_power_of_two = true;
  bool snip_edges = true;
  int num_bins = 80;
  double low_freq = 20;
  double high_freq = 0;  // <= 0: offset from Nyquist
  bool use_energy = true;
  double energy_floor = 0;
  bool raw_energy = true;
  bool use_log_fbank = true;
  bool use_power = true;
  bool scale_to_int16 = true;  // multiply [-1, 1] input by 32768 (never in place)
  bool cmvn = true;
  bool norm_var = false;

  template <class V>
  void Fields(V& v) {
    v("samp_freq", samp_freq, "sampling rate in Hz");
    v("frame_length_ms", frame_length_ms, "frame length in ms");
    v("frame_shift_ms", frame_shift_ms, "frame shift in ms");
    v("dither", dither, "Gaussian dither std (int16 scale) added per frame in training only");
    v("preemph_coeff", preemph_coeff, "per-frame pre-emphasis coefficient in [0, 1], 0 = off");
    v("remove_dc_offset", remove_dc_offset, "subtract each frame's mean");
    v("window_type", window_type, "povey, hamming, hanning or rectangular");
    v("round_to_power_of_two", round_to_power_of_two, "zero-pad frames to a power of two");
    v("snip_edges", snip_edges, "only frames that fit; false: reflect the signal at the ends");
    v("num_bins", num_bins, "number of mel bins (> 3)");
    v("low_freq", low_freq, "lowest mel filter edge in Hz");
    v("high_freq", high_freq, "highest mel filter edge in Hz, <= 0: offset from Nyquist");
    v("use_energy", use_energy, "prepend the log frame energy as feature 0");
    v("energy_floor", energy_floor, "floor on the energy (absolute), 0 = none");
    v("raw_energy", raw_energy, "energy before pre-emphasis and window");
    v("use_log_fbank", use_log_fbank, "log(max(mel, FLT_EPSILON)), else linear mel energies");
    v("use_power", use_power, "power spectrum, else magnitude");
    v("scale_to_int16", scale_to_int16, "multiply the [-1, 1] input by 32768");
    v("cmvn", cmvn, "subtract the per-utterance mean of each feature");
    v("norm_var", norm_var, "also divide by the per-utterance std of each feature");
  }
  void Validate() const;

  int WindowShift() const;       // samples
  int WindowSize() const;        // samples
  int PaddedWindowSize() const;  // FFT size
  double HighFreq() const { return high_freq > 0 ? high_freq : samp_freq / 2.0 + high_freq; }
};

class KaldiFbank {
 public:
  explicit KaldiFbank(const KaldiFbankOptions& options);

  // waves: [B, T] or [T], float (converted to float32), any device, T >= the window size.
  // Returns float32 [B, Dim(), NumFrames(T)] ([Dim(), frames] for a 1-D input) on the input's
  // device; with use_energy the log energy is feature 0. Dither (if any) only when training.
  // Safe to call concurrently from several threads.
  torch::Tensor operator()(const torch::Tensor& waves, bool training = false) const;

  int64_t NumFrames(int64_t num_samples) const;
  int Dim() const { return options_.num_bins + (options_.use_energy ? 1 : 0); }
  const KaldiFbankOptions& options() const { return options_; }

  // The window ([WindowSize()]) and the mel filters ([num_bins, PaddedWindowSize() / 2 + 1],
  // the Nyquist column zero, torchaudio get_mel_banks layout), float32 on the CPU.
  const torch::Tensor& Window() const { return window_; }
  const torch::Tensor& MelBanks() const { return mel_banks_; }

 private:
  // Log energies [B, frames] and mel energies (not yet logged) [B, frames, num_bins].
  void GenericFeatures(const torch::Tensor& x, bool training, torch::Tensor& energy,
                       torch::Tensor& mel) const;
  // The CPU fast path (no dither): features of x * scale straight into out [B, dim, frames],
  // mel energies not yet logged.
  void CpuFeatures(const torch::Tensor& x, float scale, torch::Tensor& out) const;

  KaldiFbankOptions options_;
  int shift_ = 0, size_ = 0, padded_ = 0;
  torch::Tensor window_, mel_banks_;
  // CPU fast path: each filter's non-zero FFT-bin range and weights.
  std::vector<int> filter_begin_, filter_end_;
  std::vector<int> filter_offset_;  // into filter_weights_
  std::vector<float> filter_weights_;
  // CPU fast path: our power-spectrum FFT, 8 frames at a time (power-of-two FFT sizes only;
  // null otherwise, then torch::fft::rfft is used).
  struct PowerFft;
  std::shared_ptr<const PowerFft> power_fft_;
  // Window and mel filters copied to other devices on first use (shared by copies).
  struct DeviceTables;
  std::shared_ptr<DeviceTables> device_tables_;
  std::pair<torch::Tensor, torch::Tensor> TablesFor(const torch::Device& device) const;
};

}  // namespace speakernet
