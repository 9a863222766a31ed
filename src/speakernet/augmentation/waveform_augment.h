// Waveform-domain augmentation primitives of speaker-net (spec §1.4), as plain functions on mono
// float signals. They are deterministic: any randomness (noise crop offsets) is drawn from the
// std::mt19937_64 the caller passes, through the portable UniformInt/UniformReal below (not the
// implementation-defined std:: distributions), so the same RNG state gives the same output on
// every platform, and a copy of the RNG taken at any point (e.g. saved in a checkpoint) resumes
// the same stream.
//
// RMS is sqrt(mean(x^2)) over the whole signal; sums are accumulated in double.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace speakernet {

// Uniform integer in [lo, hi] (inclusive) by rejection sampling; exact and portable.
int64_t UniformInt(std::mt19937_64& rng, int64_t lo, int64_t hi);
// Uniform real in [lo, hi) with 53 random bits; portable.
double UniformReal(std::mt19937_64& rng, double lo, double hi);

double Rms(const std::vector<float>& x);

// A length-`length` piece of `noise`: a uniformly random crop (offset in [0, size - length])
// when the noise is longer, the noise itself when equal, otherwise the noise repeated k times
// followed by noise[0, r) (wrap padding from offset 0, no randomness; speaker-net pad_noise=wrap).
std::vector<float> CropOrWrap(const std::vector<float>& noise, int64_t length,
                              std::mt19937_64& rng);

// speaker-net AddNoise with scale=True: a = 10^(snr_db/20), f = 1/(a+1),
//   out = clean*(1-f) + seg * f*rms(clean)/(rms(seg)+1e-14),
// seg = CropOrWrap(noise, clean.size(), rng). The clean-to-noise RMS ratio of the two terms is
// exactly a, and the mixture keeps roughly the clean level. Empty noise is an Error.
std::vector<float> AddNoise(const std::vector<float>& clean, const std::vector<float>& noise,
                            double snr_db, std::mt19937_64& rng);

// speaker-net AddBabble: every speech signal is cropped/wrapped to clean.size() (in order, each
// crop drawing from rng), the pieces are summed, and the sum is mixed like AddNoise.
std::vector<float> AddBabble(const std::vector<float>& clean,
                             const std::vector<std::vector<float>>& speech, double snr_db,
                             std::mt19937_64& rng);

// speaker-net reverberate(): circular convolution of x (length T) with the RIR truncated to T
// and rolled so that its direct path d = argmax|rir| (first on ties) lands at index 0, i.e. the
// kernel [rir[d:], 0...0, rir[:d]]; equal to irfft(rfft(x)*rfft(k), n=T), computed in float64
// with torch::fft as a linear convolution of fast (2-3-5-smooth) FFT length folded modulo T
// (an FFT of length T is slow when T has a large prime factor), then rescaled to the RMS of x: y/(rms(y)+1e-14)*rms(x). The tail wraps round to
// the start of the signal (by design, spec §10.2.13).
std::vector<float> Reverberate(const std::vector<float>& x, const std::vector<float>& rir);

// sox `speed s` followed by `rate <sample_rate>`: pitch and tempo both scale by s and the result
// is back at sample_rate, i.e. the signal resampled by 1/s with libsoxr (Resample from
// audio/audio_reader.h, rates sample_rate*s -> sample_rate). Output length round(T/s), like sox
// (32240 -> 35822 for 0.9, 29309 for 1.1). speed 1 returns x unchanged.
std::vector<float> SpeedPerturb(const std::vector<float>& x, double speed, int sample_rate = 16000);

// speaker-net's speed label multiplier: label = speaker + SpeedLabelOffset(s) * num_speakers,
// {1.0: 0, 0.9: 1, 1.1: 2}. Any other factor is an Error.
int SpeedLabelOffset(double speed);

}  // namespace speakernet
