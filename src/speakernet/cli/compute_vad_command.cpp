// speakernet compute-vad --data DIR --out DIR [--config FILE] [--sample-rate N]
//                        [--vad-energy-threshold X] [--vad-energy-mean-scale X]
//                        [--vad-frames-context N] [--vad-proportion-threshold X]
//
// Kaldi `compute-vad` on every utterance of a data dir: per-frame raw log energies (25 ms frames
// every 10 ms, snip edges, augmentation/vad.h) thresholded at
// vad_energy_threshold + vad_energy_mean_scale * mean(log energy) with context voting. Writes
// OUT/vad.ark and OUT/vad.scp as Kaldi float vectors of 1 (voiced) / 0 per frame (the format of
// Kaldi's vad.scp), then OUT/vad.yaml with the options used (last). speaker-net itself applies
// no frame VAD (spec §1.3); this is for Kaldi-style pipelines and inspection.
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

#include "speakernet/augmentation/augment_config.h"
#include "speakernet/augmentation/vad.h"
#include "speakernet/cli/commands.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/config.h"
#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/progress.h"
#include "speakernet/data/data_dir.h"

namespace speakernet {
namespace {

struct VadArgs {
  std::string data, out, config;
  int sample_rate = 16000;
  VadConfig vad;
};

void RunComputeVad(VadArgs& args, const CLI::App& cmd) {
  VadConfig vad;
  if (!args.config.empty()) ReadConfig(LoadYamlFile(args.config), vad);
  // Flags given on the command line win over the config file.
  if (cmd.count("--vad-energy-threshold")) vad.vad_energy_threshold = args.vad.vad_energy_threshold;
  if (cmd.count("--vad-energy-mean-scale")) {
    vad.vad_energy_mean_scale = args.vad.vad_energy_mean_scale;
  }
  if (cmd.count("--vad-frames-context")) vad.vad_frames_context = args.vad.vad_frames_context;
  if (cmd.count("--vad-proportion-threshold")) {
    vad.vad_proportion_threshold = args.vad.vad_proportion_threshold;
  }
  vad.Validate();
  SN_CHECK(args.sample_rate > 0, "compute-vad: --sample-rate must be > 0, got {}",
           args.sample_rate);

  const DataDir data = DataDir::Load(args.data);
  MakeDirs(args.out);
  kaldi::ArkWriter writer(args.out + "/vad.ark", args.out + "/vad.scp");
  ProgressMeter progress("compute-vad", data.NumUtterances(), "utterances");
  int64_t frames = 0, voiced = 0;
  for (const Utterance& u : data.utterances()) {
    const std::vector<float> audio = LoadUtteranceAudio(u, args.sample_rate);
    const std::vector<bool> decisions = ComputeVad(
        FrameLogEnergies(audio.data(), static_cast<int64_t>(audio.size()), args.sample_rate), vad);
    SN_CHECK(!decisions.empty(), "compute-vad: utterance {} ({}) is shorter than one 25 ms frame",
             u.id, u.wav);
    std::vector<float> v(decisions.size());
    for (size_t t = 0; t < v.size(); ++t) v[t] = decisions[t] ? 1.0f : 0.0f;
    writer.WriteVector(u.id, v.data(), static_cast<int64_t>(v.size()));
    frames += static_cast<int64_t>(v.size());
    for (bool d : decisions) voiced += d;
    progress.Advance();
  }
  writer.Close();
  progress.Finish();
  WriteTextAtomically(args.out + "/vad.yaml", YamlToString(ConfigToYaml(vad)));
  spdlog::info("compute-vad: {} utterances, {} frames, {:.1f}% voiced -> {}/vad.scp",
               data.NumUtterances(), frames, frames ? 100.0 * voiced / frames : 0.0, args.out);
}

}  // namespace

void AddComputeVadCommand(CLI::App& app) {
  auto args = std::make_shared<VadArgs>();
  auto* cmd = app.add_subcommand(
      "compute-vad", "per-frame energy VAD of a data dir (Kaldi compute-vad), as vad.scp/ark");
  cmd->add_option("--data", args->data, "data dir whose wav.scp lists the utterances")->required();
  cmd->add_option("--out", args->out, "output dir: vad.ark, vad.scp, vad.yaml")->required();
  cmd->add_option("--config", args->config,
                  "YAML file of VAD options (vad_energy_threshold, vad_energy_mean_scale, "
                  "vad_frames_context, vad_proportion_threshold)");
  cmd->add_option("--sample-rate", args->sample_rate, "audio is resampled to this rate")
      ->capture_default_str();
  cmd->add_option("--vad-energy-threshold", args->vad.vad_energy_threshold,
                  "constant part of the log-energy threshold [5]");
  cmd->add_option("--vad-energy-mean-scale", args->vad.vad_energy_mean_scale,
                  "times the mean log energy, added to the threshold [0.5]");
  cmd->add_option("--vad-frames-context", args->vad.vad_frames_context,
                  "frames either side that vote [0]");
  cmd->add_option("--vad-proportion-threshold", args->vad.vad_proportion_threshold,
                  "fraction of voting frames above the threshold for 'voiced' [0.6]");
  cmd->callback([args, cmd] { RunComputeVad(*args, *cmd); });
}

SPEAKERNET_REGISTER_COMMAND(15, AddComputeVadCommand);

}  // namespace speakernet
