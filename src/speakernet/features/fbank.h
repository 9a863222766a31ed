// speaker-net's default "fbank" front end (spec §1.5): optional dither, whole-signal
// pre-emphasis, a torchaudio-MelSpectrogram-equivalent power mel spectrogram (centered reflect
// padding, periodic Hamming window zero-padded to n_fft, HTK mel filters without area norm),
// log(x + 1e-6) and per-utterance mean (and optionally variance) normalisation over time.
// Note: this is not Kaldi fbank (no DC removal, no Povey window, centered frames).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "speakernet/common/error.h"

namespace speakernet {

struct FbankOptions {
  int sample_rate = 16000;
  int n_fft = 512;
  double window_size = 0.025;   // seconds; win_length = int(window_size * sample_rate)
  double window_stride = 0.01;  // seconds; hop_length = int(window_stride * sample_rate)
  int num_bins = 80;
  double preemph = 0.97;  // <= 0 turns pre-emphasis off
  bool log = true;
  double dither = 0.0;  // only applied when training
  bool cmvn = true;
  bool norm_var = false;
  double f_min = 0;
  double f_max = 0;  // 0 = Nyquist

  template <class V>
  void Fields(V& v) {
    v("sample_rate", sample_rate, "sampling rate in Hz");
    v("n_fft", n_fft, "FFT size (the window is zero-padded centrally to it)");
    v("window_size", window_size, "window length in seconds");
    v("window_stride", window_stride, "hop in seconds");
    v("num_bins", num_bins, "number of mel bins");
    v("preemph", preemph, "pre-emphasis coefficient, <= 0 = off");
    v("log", log, "take log(mel + 1e-6)");
    v("dither", dither, "Gaussian dither std added in training only");
    v("cmvn", cmvn, "subtract the per-utterance mean of each bin");
    v("norm_var", norm_var, "also divide by the per-utterance std of each bin");
    v("f_min", f_min, "lowest mel filter edge in Hz");
    v("f_max", f_max, "highest mel filter edge in Hz, 0 = Nyquist");
  }
  void Validate() const;

  int WinLength() const { return static_cast<int>(window_size * sample_rate); }
  int HopLength() const { return static_cast<int>(window_stride * sample_rate); }
  double FMax() const { return f_max > 0 ? f_max : sample_rate / 2; }
};

class Fbank {
 public:
  explicit Fbank(const FbankOptions& options);

  // waves: [B, T] or [T], float (converted to float32), any device, T > n_fft / 2.
  // Returns float32 [B, num_bins, NumFrames(T)] ([num_bins, frames] for a 1-D input) on the
  // input's device. Safe to call concurrently from several threads.
  torch::Tensor operator()(const torch::Tensor& waves, bool training = false) const;

  int64_t NumFrames(int64_t num_samples) const { return 1 + num_samples / hop_; }
  int Dim() const { return options_.num_bins; }
  const FbankOptions& options() const { return options_; }

  // The periodic Hamming window zero-padded centrally to n_fft ([n_fft]) and the mel filter
  // matrix ([n_fft / 2 + 1, num_bins], torchaudio melscale_fbanks layout), on the CPU.
  torch::Tensor Window() const;
  torch::Tensor MelMatrix() const;

 private:
  struct DeviceTables;
  struct State;
  const DeviceTables& TablesFor(const torch::Device& device) const;
  void MelBlock(const torch::Tensor& padded, const DeviceTables& tables, int64_t b0, int64_t nb,
                int64_t f0, int64_t nf, int64_t num_frames, torch::Tensor& mel) const;

  FbankOptions options_;
  int win_ = 0, hop_ = 0;
  std::shared_ptr<State> state_;  // per-device tables; shared by copies, guarded by a mutex
};

}  // namespace speakernet
