#include "speakernet/training/wespeaker_import.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "speakernet/common/config.h"
#include "speakernet/common/error.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/training/experiment.h"

namespace speakernet {

namespace {

// WeSpeaker's recipe front end (processor.compute_fbank + apply_cmvn): torchaudio's Kaldi fbank
// of int16-scale samples with a hamming window and no energy, then mean normalisation.
FrontEndConfig WeSpeakerFrontEnd(const WeSpeakerFbankArgs& f) {
  FrontEndConfig fe;
  fe.type = "kaldi_fbank";
  KaldiFbankOptions& k = fe.kaldi;
  k.samp_freq = f.sample_rate;
  k.frame_length_ms = f.frame_length_ms;
  k.frame_shift_ms = f.frame_shift_ms;
  k.num_bins = f.num_mel_bins;
  k.dither = f.dither;
  k.window_type = "hamming";
  k.use_energy = false;
  k.scale_to_int16 = true;
  k.cmvn = true;
  k.norm_var = false;
  // torchaudio.compliance.kaldi.fbank's defaults for the rest (also KaldiFbankOptions').
  k.preemph_coeff = 0.97;
  k.remove_dc_offset = true;
  k.round_to_power_of_two = true;
  k.snip_edges = true;
  k.low_freq = 20;
  k.high_freq = 0;
  k.use_log_fbank = true;
  k.use_power = true;
  return fe;
}

void SetLoss(const WeSpeakerProjectionArgs& p, LossConfig& loss) {
  if (p.project_type == "arc_margin") {
    loss.method = "aam";
  } else if (p.project_type == "add_margin") {
    loss.method = "am";
  } else if (p.project_type == "softmax") {
    loss.method = "softmax";
  } else {
    spdlog::warn(
        "import: WeSpeaker projection_args.project_type '{}' has no speakernet loss; "
        "keeping loss.method {} for fine-tuning",
        p.project_type, loss.method);
    return;
  }
  if (loss.method != "softmax") {
    loss.s = p.scale;
    loss.m = p.final_margin;
    loss.K = 1;
  }
}

}  // namespace

TrainConfig WeSpeakerTrainConfig(const WeSpeakerRelease& release,
                                 const std::vector<std::string>& overrides) {
  TrainConfig config;
  config.model = release.model;
  config.features = WeSpeakerFrontEnd(release.fbank);
  config.loader.sample_rate = release.fbank.sample_rate;
  config.loader.chunk_seconds = release.fbank.num_frms * release.fbank.frame_shift_ms / 1000.0;
  SetLoss(release.projection, config.loss);
  // Fine-tuning takes the encoder, not the release's classifier of its training speakers.
  config.trainer.init_classifier = false;
  if (overrides.empty()) {
    config.Validate();
    return config;
  }
  YAML::Node root = ConfigToYaml(config);
  ApplyOverrides(root, overrides);
  TrainConfig out;
  ReadConfig(root, out);
  return out;
}

WeSpeakerImportResult ImportWeSpeakerRelease(const std::string& release_dir,
                                             const std::string& exp_dir, const std::string& tag,
                                             bool force,
                                             const std::vector<std::string>& overrides) {
  const WeSpeakerRelease release = ReadWeSpeakerRelease(release_dir);
  const TrainConfig config = WeSpeakerTrainConfig(release, overrides);
  const auto model = CreateModel(config.model);
  try {
    LoadStateDict(*model, release.encoder);
  } catch (const Error& e) {
    Fail(
        fmt::format("import --wespeaker: '{}/avg_model.pt' does not fit WeSpeaker's {} as "
                    "speakernet builds it: {}",
                    release_dir, release.architecture, e.what()));
  }
  if (release.projection_rows > 0) {
    spdlog::info("import: dropping the release's projection ({} training classes)",
                 release.projection_rows);
  }
  WeSpeakerImportResult result;
  result.architecture = release.architecture;
  result.description = DescribeModel(config.model, *model);
  result.checkpoint = Experiment(exp_dir).WriteSingleCheckpoint(tag, config, GetStateDict(*model),
                                                                release_dir, force);
  return result;
}

}  // namespace speakernet
