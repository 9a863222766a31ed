// The feature front end a model is trained and used with, chosen by `features.type`:
//   fbank        speaker-net's torchaudio-MelSpectrogram log-mel fbank (features/fbank.h); its
//                options sit directly under `features:` (sample_rate, num_bins, preemph, ...);
//   kaldi_fbank  Kaldi-compatible fbank (features/kaldi_fbank.h), speaker-net's "kaldi_fbank" of
//                resnet101.yaml; its options under `features.kaldi:` (samp_freq, num_bins,
//                use_energy, window_type, ...). With use_energy the log energy is feature 0, so
//                the model input has num_bins + 1 rows (81 for speaker-net's resnet101).
// Training, validation, extraction and the model commands all build their features through
// FrontEnd, from the experiment's config.yaml, so a model is always fed the features it was
// trained on.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "speakernet/features/fbank.h"
#include "speakernet/features/kaldi_fbank.h"

namespace speakernet {

struct FrontEndConfig {
  std::string type = "fbank";  // fbank | kaldi_fbank
  FbankOptions fbank;          // type fbank; its keys directly under `features:`
  KaldiFbankOptions kaldi;     // type kaldi_fbank; `features.kaldi.*`

  template <class V>
  void Fields(V& v) {
    v("type", type, "front end: fbank (speaker-net's default) | kaldi_fbank (Kaldi-compatible)");
    fbank.Fields(v);  // flat: configs written before `type` existed keep loading
    v("kaldi", kaldi);
  }
  void Validate() const;

  bool IsKaldi() const { return type == "kaldi_fbank"; }
  // Input sampling rate (fbank: sample_rate; kaldi_fbank: kaldi.samp_freq).
  int SampleRate() const;
  // Feature rows per frame (fbank: num_bins; kaldi_fbank: kaldi.num_bins + use_energy).
  int Dim() const;
  // Where Dim() comes from, for error messages ("kaldi_fbank: 80 mel bins + log energy").
  std::string DescribeDim() const;
};

class FrontEnd {
 public:
  explicit FrontEnd(const FrontEndConfig& config);

  // waves: [B, samples] (or [samples]), float, on any device. Returns float32
  // [B, Dim(), NumFrames(samples)] ([Dim(), frames] for 1-D input) on the input's device, with
  // the front end's per-utterance mean normalisation. Dither (if configured) only when training.
  // Safe to call concurrently from several threads.
  torch::Tensor operator()(const torch::Tensor& waves, bool training = false) const;

  int Dim() const { return config_.Dim(); }
  int SampleRate() const { return config_.SampleRate(); }
  int64_t NumFrames(int64_t num_samples) const;
  // Centre of frame t, in samples from the start of the signal (fbank frames are centred on
  // t * hop; Kaldi's snip-edges frames start at t * shift; without snip-edges they are centred
  // on t * shift + shift / 2).
  double FrameCenter(int64_t t) const;
  const FrontEndConfig& config() const { return config_; }

 private:
  FrontEndConfig config_;
  std::shared_ptr<const Fbank> fbank_;             // type fbank
  std::shared_ptr<const KaldiFbank> kaldi_fbank_;  // type kaldi_fbank
};

}  // namespace speakernet
