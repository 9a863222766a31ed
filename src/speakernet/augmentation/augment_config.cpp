#include "speakernet/augmentation/augment_config.h"

#include <cmath>

#include "speakernet/augmentation/waveform_augment.h"
#include "speakernet/common/error.h"

namespace speakernet {

namespace {
void CheckProb(const char* key, double p) {
  SN_CHECK(p >= 0.0 && p <= 1.0, "{} must be in [0, 1], got {}", key, p);
}
}  // namespace

void NoiseConfig::Validate() const {
  CheckProb("noise.prob", prob);
  SN_CHECK(std::isfinite(snr_low) && std::isfinite(snr_high) && snr_low <= snr_high,
           "noise.snr_low ({}) must be <= noise.snr_high ({})", snr_low, snr_high);
}

void BabbleConfig::Validate() const {
  CheckProb("babble.prob", prob);
  SN_CHECK(speaker_count_low >= 1 && speaker_count_low <= speaker_count_high,
           "babble.speaker_count_low ({}) must be >= 1 and <= babble.speaker_count_high ({})",
           speaker_count_low, speaker_count_high);
  SN_CHECK(std::isfinite(snr_low) && std::isfinite(snr_high) && snr_low <= snr_high,
           "babble.snr_low ({}) must be <= babble.snr_high ({})", snr_low, snr_high);
}

void ReverbConfig::Validate() const { CheckProb("reverb.prob", prob); }

void SpeedConfig::Validate() const {
  CheckProb("speed.prob", prob);
  SN_CHECK(!speeds.empty(), "speed.speeds must not be empty");
  for (double s : speeds) {
    SN_CHECK(s > 0, "speed.speeds: factors must be > 0, got {}", s);
    SpeedLabelOffset(s);  // throws for a factor without a label offset
  }
}

void SpecAugmentConfig::Validate() const {
  SN_CHECK(num_time_masks >= 0, "spec_augment.num_time_masks must be >= 0, got {}", num_time_masks);
  SN_CHECK(num_freq_masks >= 0, "spec_augment.num_freq_masks must be >= 0, got {}", num_freq_masks);
  SN_CHECK(min_time_width >= 0 && min_time_width <= max_time_width,
           "spec_augment: need 0 <= min_time_width ({}) <= max_time_width ({})", min_time_width,
           max_time_width);
  SN_CHECK(min_freq_width >= 0 && min_freq_width <= max_freq_width,
           "spec_augment: need 0 <= min_freq_width ({}) <= max_freq_width ({})", min_freq_width,
           max_freq_width);
}

void VadConfig::Validate() const {
  SN_CHECK(vad_frames_context >= 0, "vad.vad_frames_context must be >= 0, got {}",
           vad_frames_context);
  SN_CHECK(vad_proportion_threshold > 0 && vad_proportion_threshold < 1,
           "vad.vad_proportion_threshold must be in (0, 1), got {}", vad_proportion_threshold);
  SN_CHECK(amp_th >= 0, "vad.amp_th must be >= 0, got {}", amp_th);
}

}  // namespace speakernet
