// Reads an unpacked WeSpeaker release directory (what WeSpeaker's own loader reads):
//   DIR/config.yaml   the training config: `model` (architecture name), `model_args`,
//                     `dataset_args.fbank_args` (and `resample_rate`), `projection_args`, ...
//   DIR/avg_model.pt  torch.save of the model's state dict (projection.* = the training head)
// into our model config (model.type wespeaker_resnet | wespeaker_ecapa | campplus) and its
// weights. Supported `model` names: ResNet18/34/50/101/152/221/293, ECAPA_TDNN_c512,
// ECAPA_TDNN_GLOB_c512, ECAPA_TDNN_c1024, ECAPA_TDNN_GLOB_c1024, CAMPPlus. Another name, a
// model_args or fbank_args key we do not know, a pooling_func other than TSTP/TAP/TSDP/ASTP or a
// front end other than fbank is an Error naming it (config.yaml keys that only concern
// WeSpeaker's training, e.g. optimizer_args, are not read).
#pragma once

#include <cstdint>
#include <string>

#include "speakernet/models/model_config.h"
#include "speakernet/models/state_dict.h"

namespace speakernet {

// dataset_args.fbank_args (WeSpeaker's defaults where absent) and the sampling rate.
struct WeSpeakerFbankArgs {
  int num_mel_bins = 80;
  double frame_length_ms = 25;
  double frame_shift_ms = 10;
  double dither = 1.0;  // training only; WeSpeaker extracts without dither
  int sample_rate = 16000;
  int64_t num_frms = 200;  // training chunk length in frames
};

// projection_args: the training head (not imported; it seeds the fine-tuning loss settings).
struct WeSpeakerProjectionArgs {
  std::string project_type = "arc_margin";
  double scale = 32.0;
  double final_margin = 0.2;  // margin_update.final_margin
};

struct WeSpeakerRelease {
  std::string dir;
  std::string architecture;  // config.yaml's `model`, e.g. "ResNet34"
  ModelConfig model;
  WeSpeakerFbankArgs fbank;
  WeSpeakerProjectionArgs projection;
  StateDict encoder;            // avg_model.pt without projection.* ("module." prefixes removed)
  int64_t projection_rows = 0;  // rows of projection.weight (training classes), 0 when absent
};

// The model and front-end parts of a release's config.yaml (no weights). `conv_out_channels`
// of ECAPA models is WeSpeaker's current 1536; ReadWeSpeakerRelease takes it from the weights.
WeSpeakerRelease ReadWeSpeakerReleaseConfig(const std::string& config_yaml);

// config.yaml + avg_model.pt of `dir`.
WeSpeakerRelease ReadWeSpeakerRelease(const std::string& dir);

}  // namespace speakernet
