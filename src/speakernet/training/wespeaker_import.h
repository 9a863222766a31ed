// WeSpeaker release -> speakernet experiment (`speakernet import --wespeaker DIR --out EXP`).
//
// The experiment's config.yaml describes the release's model (models/wespeaker_release.h) and
// WeSpeaker's front end, as its recipe extracts embeddings (wespeaker/dataset/processor.py):
// features.type kaldi_fbank with 80 (num_mel_bins) bins, 25/10 ms frames, hamming window, no
// energy, int16-scale samples, per-utterance mean normalisation, and the release's training
// dither (applied only when fine-tuning; extraction has none). The checkpoint holds the encoder
// only: the release's projection (training head for its own speakers) is dropped, so
// fine-tuning starts a fresh classifier (train --init-from CKPT --trainer.init_classifier=false).
// The loss settings are taken from projection_args (arc_margin -> aam, add_margin -> am,
// softmax -> softmax; scale -> loss.s, margin_update.final_margin -> loss.m), the training chunk
// from dataset_args.num_frms.
#pragma once

#include <string>
#include <vector>

#include "speakernet/models/wespeaker_release.h"
#include "speakernet/training/train_config.h"

namespace speakernet {

// The experiment config for a release (`overrides` as --a.b=c, applied last).
TrainConfig WeSpeakerTrainConfig(const WeSpeakerRelease& release,
                                 const std::vector<std::string>& overrides = {});

struct WeSpeakerImportResult {
  std::string checkpoint;   // EXP/checkpoints/<tag>
  std::string description;  // DescribeModel's line
  std::string architecture;
};

// Reads the release in `release_dir`, checks every weight against the model (missing,
// unexpected and mis-shaped keys are reported together, by name) and writes the experiment
// `exp_dir` with one checkpoint `tag` (Experiment::WriteSingleCheckpoint).
WeSpeakerImportResult ImportWeSpeakerRelease(const std::string& release_dir,
                                             const std::string& exp_dir, const std::string& tag,
                                             bool force,
                                             const std::vector<std::string>& overrides = {});

}  // namespace speakernet
