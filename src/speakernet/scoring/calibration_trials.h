// Calibration trials for QMF (speaker-net local/make_calib_trials.py, spec §7.2 item 4): from a
// training data dir (utt2spk + utt2dur), utterances are "short" (short_min <= d < short_max
// seconds) or "long" (d >= long_min). Each condition short-short, short-long and long-long gets
// up to `per_condition` target trials (one per speaker, speakers drawn at random; a speaker
// without the needed utterances is skipped, so fewer trials come out when few speakers qualify)
// and `per_condition` non-target trials (a random pair of distinct speakers, one random
// utterance of the needed class each; no pair twice). The random stream is std::mt19937_64 with
// `seed`, so the lists are reproducible but not the same as speaker-net's numpy draw.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "speakernet/scoring/qmf_calibration.h"
#include "speakernet/scoring/trials.h"
#include "speakernet/common/error.h"

namespace speakernet {

struct CalibrationTrialsOptions {
  int64_t per_condition = 5000;  // target trials, and non-target trials, per condition
  double short_min = 2, short_max = 6, long_min = 6;
  uint64_t seed = 1024;
  template <class V>
  void Fields(V& v) {
    v("per_condition", per_condition, "target (and non-target) trials per condition");
    v("short_min", short_min, "shortest 'short' utterance, seconds");
    v("short_max", short_max, "'short' utterances are shorter than this");
    v("long_min", long_min, "shortest 'long' utterance, seconds");
    v("seed", seed, "random seed");
  }
  void Validate() const {
    SN_CHECK(per_condition >= 1, "per_condition must be >= 1, got {}", per_condition);
    SN_CHECK(short_min < short_max && short_max <= long_min,
             "need short_min < short_max <= long_min, got {} {} {}", short_min, short_max,
             long_min);
  }
};

// Trials in condition order (short-short, short-long, long-long), each condition's targets then
// non-targets; enroll is the first class of the condition's name.
std::vector<Trial> MakeCalibrationTrials(
    const std::vector<std::pair<std::string, std::string>>& utt2spk, const Durations& durations,
    const CalibrationTrialsOptions& options = {});

}  // namespace speakernet
