// Options of the augmentation primitives, one struct per component (see common/config.h).
// Defaults are speaker-net's recipe settings (spec §1.4: `speech_aug_chain.yaml`) and Kaldi's
// compute-vad defaults.
#pragma once

#include <cstdint>
#include <vector>

namespace speakernet {

// Additive noise (speaker-net `add_noise`): SNR ~ U[snr_low, snr_high] dB, scale=True mixing.
struct NoiseConfig {
  double prob = 1.0;  // probability of applying it
  double snr_low = 5.0;
  double snr_high = 15.0;

  template <class V>
  void Fields(V& v) {
    v("prob", prob, "probability of adding noise");
    v("snr_low", snr_low, "lowest SNR in dB");
    v("snr_high", snr_high, "highest SNR in dB");
  }
  void Validate() const;
};

// Babble (speaker-net `add_babble_noise`): speaker_count ~ U{low..high} speech signals summed.
struct BabbleConfig {
  double prob = 1.0;
  int speaker_count_low = 4;
  int speaker_count_high = 4;
  double snr_low = 13.0;
  double snr_high = 20.0;

  template <class V>
  void Fields(V& v) {
    v("prob", prob, "probability of adding babble");
    v("speaker_count_low", speaker_count_low, "fewest babble speakers");
    v("speaker_count_high", speaker_count_high, "most babble speakers");
    v("snr_low", snr_low, "lowest SNR in dB");
    v("snr_high", snr_high, "highest SNR in dB");
  }
  void Validate() const;
};

// Reverberation (speaker-net `add_rev`): circular FFT convolution with an RIR.
struct ReverbConfig {
  double prob = 1.0;

  template <class V>
  void Fields(V& v) {
    v("prob", prob, "probability of reverberating");
  }
  void Validate() const;
};

// Speed perturbation (sox speed + rate): one of `speeds`, uniformly.
struct SpeedConfig {
  double prob = 1.0;
  std::vector<double> speeds = {0.9, 1.0, 1.1};

  template <class V>
  void Fields(V& v) {
    v("prob", prob, "probability of perturbing the speed");
    v("speeds", speeds, "speed factors drawn uniformly (each needs a label offset)");
  }
  void Validate() const;
};

// SpecAugment on [B, F, T] features: per item, num_*_masks masks of a width drawn uniformly
// from [min_*_width, max_*_width], set to mask_value (0 = the mean after CMN).
struct SpecAugmentConfig {
  int num_time_masks = 1;
  int min_time_width = 0;
  int max_time_width = 20;
  int num_freq_masks = 1;
  int min_freq_width = 0;
  int max_freq_width = 10;
  double mask_value = 0.0;

  template <class V>
  void Fields(V& v) {
    v("num_time_masks", num_time_masks, "time masks per item");
    v("min_time_width", min_time_width, "narrowest time mask in frames");
    v("max_time_width", max_time_width, "widest time mask in frames");
    v("num_freq_masks", num_freq_masks, "frequency masks per item");
    v("min_freq_width", min_freq_width, "narrowest frequency mask in bins");
    v("max_freq_width", max_freq_width, "widest frequency mask in bins");
    v("mask_value", mask_value, "value written into masked cells");
  }
  void Validate() const;
};

// Kaldi compute-vad options (defaults are Kaldi's) plus speaker-net's chunk amplitude gate.
struct VadConfig {
  double vad_energy_threshold = 5.0;
  double vad_energy_mean_scale = 0.5;
  int vad_frames_context = 0;
  double vad_proportion_threshold = 0.6;
  double amp_th = 0.0005;  // IsSilentChunk: mean(|x|) below this is silent

  template <class V>
  void Fields(V& v) {
    v("vad_energy_threshold", vad_energy_threshold, "constant part of the log-energy threshold");
    v("vad_energy_mean_scale", vad_energy_mean_scale, "times the mean log energy, added to it");
    v("vad_frames_context", vad_frames_context, "frames either side that vote");
    v("vad_proportion_threshold", vad_proportion_threshold,
      "fraction of voting frames over the threshold needed for 'voiced'");
    v("amp_th", amp_th, "chunks with mean |x| below this are silent (speaker-net amp_th)");
  }
  void Validate() const;
};

}  // namespace speakernet
