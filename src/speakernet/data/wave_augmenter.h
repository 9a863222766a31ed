// speaker-net's online waveform augmentation (spec §1.4) for the chunk loader: optional speed
// perturbation, then one environment corruption drawn from weighted entries
//   clean | noise (MUSAN music + noise) | babble (MUSAN speech) | reverb (simulated RIRs) |
//   reverb_noise (real RIRs, then point-source noise with its own probability),
// which is speaker-net's `speech_aug_chain.yaml` (mode "chain"), `speech_aug_random.yaml`
// (mode "random", no speed) or `speed_perturb.yaml` (mode "speed").
//
// Noise and RIR sets are Kaldi data dirs (wav.scp, segments honoured) or folders searched
// recursively for audio files. Sampling without replacement is made stateless so that batch k
// of epoch e depends only on (seed, e, k): each pool is ordered by a permutation seeded by
// (seed, epoch), and draw j of the item at position g of the epoch takes entry
// perm[(g * stride + j) mod size], so consecutive items walk through the permutation and no
// state has to be checkpointed. Every other random number (choice of corruption, SNR, crop
// offsets, speed) comes from the per-item RNG the caller passes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "speakernet/augmentation/augment_config.h"
#include "speakernet/data/data_dir.h"

namespace speakernet {

struct AugmentConfig {
  std::string mode = "none";  // none | chain | random | speed
  SpeedConfig speed;
  // Weights of speaker-net's `mod: random` entries (the implicit clean entry has weight 1).
  double clean_weight = 1.0;
  double noise_weight = 1.0;
  double babble_weight = 0.5;
  double reverb_weight = 0.8;
  double reverb_noise_weight = 0.8;
  std::vector<std::string> noise_sets;        // add_noise: MUSAN music + noise
  std::vector<std::string> babble_sets;       // add_babble_noise: MUSAN speech
  std::vector<std::string> reverb_sets;       // add_rev: simulated small + medium room RIRs
  std::vector<std::string> real_reverb_sets;  // add_rev_noise: real RIRs
  std::vector<std::string> point_noise_sets;  // add_rev_noise: point-source noises
  NoiseConfig noise;                          // SNR U[5, 15], prob 1
  BabbleConfig babble;                        // 4 speakers, SNR U[13, 20], prob 1
  ReverbConfig reverb;                        // prob 1 (both reverb entries)
  NoiseConfig point_noise{0.5, 0.0, 15.0};    // inside reverb_noise: prob 0.5, SNR U[0, 15]
  bool preload = false;                       // decode every noise/RIR file once, up front
  bool spec_augment = false;                  // SpecAugment on the features (trainer)
  SpecAugmentConfig spec;

  template <class V>
  void Fields(V& v) {
    v("mode", mode, "none | chain (speed, then random corruption) | random | speed");
    v("speed", speed);
    v("clean_weight", clean_weight, "weight of the clean (untouched) entry");
    v("noise_weight", noise_weight, "weight of additive noise");
    v("babble_weight", babble_weight, "weight of babble");
    v("reverb_weight", reverb_weight, "weight of reverberation with reverb_sets");
    v("reverb_noise_weight", reverb_noise_weight,
      "weight of real-RIR reverberation followed by point-source noise");
    v("noise_sets", noise_sets, "data dirs or folders of noise/music");
    v("babble_sets", babble_sets, "data dirs or folders of speech for babble");
    v("reverb_sets", reverb_sets, "data dirs or folders of (simulated) RIRs");
    v("real_reverb_sets", real_reverb_sets, "data dirs or folders of real RIRs");
    v("point_noise_sets", point_noise_sets, "data dirs or folders of point-source noises");
    v("noise", noise);
    v("babble", babble);
    v("reverb", reverb);
    v("point_noise", point_noise);
    v("preload", preload, "keep every noise/RIR signal in memory");
    v("spec_augment", spec_augment, "apply SpecAugment to training features");
    v("spec", spec);
  }
  void Validate() const;

  bool Enabled() const { return mode != "none"; }
  bool SpeedEnabled() const { return mode == "chain" || mode == "speed"; }
  bool EnvEnabled() const { return mode == "chain" || mode == "random"; }
  // Label multiplier range: classes = num_speakers * LabelMultiplier().
  int LabelMultiplier() const;
};

// What Apply() did, for labels and tests.
struct AugmentDraw {
  double speed = 1.0;
  int label_offset = 0;  // SpeedLabelOffset(speed)
  int kind = 0;          // 0 clean, 1 noise, 2 babble, 3 reverb, 4 reverb_noise
};

class WaveAugmenter {
 public:
  // Loads the pool listings (and their audio when config.preload). Throws when an entry with a
  // positive weight has no set, or a set is empty.
  WaveAugmenter(const AugmentConfig& config, int sample_rate);
  ~WaveAugmenter();

  // One permutation per pool for `epoch`, shared by every item of the epoch.
  struct EpochPools {
    std::vector<std::vector<int64_t>> perms;
  };
  EpochPools ForEpoch(int64_t seed, int64_t epoch) const;

  // Augments `x` in place. `position` is the item's index in the epoch (batch * B + item).
  // A `forced_speed` replaces the drawn speed factor (the draws are still made, so the rest of
  // the item's stream is unchanged): the paired sampler gives a pair's second chunk the speed of
  // its first (spec §2.2). Ignored when speed perturbation is off.
  AugmentDraw Apply(std::vector<float>& x, const EpochPools& pools, int64_t position,
                    std::mt19937_64& rng, std::optional<double> forced_speed = std::nullopt) const;

 private:
  struct Pool;
  // A length-`length` piece of entry perm[slot] of `pool`: random crop or wrap (CropOrWrap
  // semantics), decoding only the crop when not preloaded.
  std::vector<float> Segment(int pool, const EpochPools& pools, int64_t slot, int64_t length,
                             std::mt19937_64& rng) const;
  std::vector<float> Whole(int pool, const EpochPools& pools, int64_t slot) const;

  AugmentConfig config_;
  int sample_rate_;
  std::vector<std::unique_ptr<Pool>> pools_;  // kNoise, kBabble, kReverb, kRealReverb, kPoint
};

// A uniformly random crop to `length` when longer, wrap padding (signal k times, then a random
// contiguous piece of the remainder) when shorter: speaker-net `_pad_or_truncate`.
std::vector<float> PadOrTruncate(const std::vector<float>& x, int64_t length,
                                 std::mt19937_64& rng);

// Lists the audio of a noise/RIR set: a Kaldi data dir (has wav.scp) or a folder searched
// recursively for .wav/.flac/.ogg/.mp3/.sph files (sorted by path). Durations are filled.
std::vector<Utterance> ListAudioSet(const std::string& path);

}  // namespace speakernet
