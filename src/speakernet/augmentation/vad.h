// Energy voice-activity detection with Kaldi `compute-vad` semantics, and speaker-net's
// chunk amplitude gate (the only "VAD" speaker-net itself applies, spec §1.3).
#pragma once

#include <cstdint>
#include <vector>

#include "speakernet/augmentation/augment_config.h"

namespace speakernet {

// Per-frame log energies as Kaldi's raw energy (column 0 of kaldi_fbank / MFCC with
// use_energy, raw_energy, snip_edges): the waveform is scaled by 32768 (Kaldi's int16 range),
// cut into frames of frame_ms (25) every shift_ms (10) with snip edges
// ((n - len) / shift + 1 frames), each frame's DC offset is removed, and the energy is
// log(max(sum x^2, FLT_EPSILON)). No dither, no pre-emphasis (Kaldi measures raw energy before
// them).
std::vector<float> FrameLogEnergies(const float* x, int64_t n, int sample_rate = 16000,
                                    double frame_ms = 25.0, double shift_ms = 10.0);

// Kaldi compute-vad: threshold = vad_energy_threshold + vad_energy_mean_scale * mean(log_energy);
// frame t is voiced (true) when, among the frames t-context..t+context that exist, the number
// with log energy > threshold is >= vad_proportion_threshold times their count.
std::vector<bool> ComputeVad(const std::vector<float>& log_energy, const VadConfig& config);

// speaker-net's silent-chunk filter: mean(|x|) < amp_th (an empty chunk is silent).
bool IsSilentChunk(const float* x, int64_t n, double amp_th = 0.0005);

}  // namespace speakernet
