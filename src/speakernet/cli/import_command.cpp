// `speakernet import`: a speaker-net (Python) checkpoint or a WeSpeaker release -> a speakernet
// experiment directory.
//
//   speakernet import --config resnet34-32.yaml --in encoder.ckpt --out exp/imported
//   speakernet import --wespeaker voxceleb_resnet34 --out exp/wespeaker_resnet34
//
// --wespeaker DIR reads an unpacked WeSpeaker release (config.yaml + avg_model.pt; see
// training/wespeaker_import.h for what is imported). Otherwise:
//
// reads encoder.ckpt (torch.save of the model's state_dict: an OrderedDict in the zip format;
// DDP's "module." prefix and the extract_fbank.* buffers are handled, see
// models/speaker_net_interop.h), checks every model key against the model the config describes
// (missing, unexpected and mis-shaped keys are reported together, by name) and writes
//   EXP/config.yaml                          the resolved config (with any --a.b=c overrides)
//   EXP/checkpoints/<tag>/model.pt           model + classifier, our checkpoint format
//   EXP/checkpoints/<tag>/state.yaml         position 0 (epoch 0, step 0)
// which `speakernet extract --exp EXP` uses directly. The classifier must be the one the
// config's loss.method builds (loss.weight [classes * K, emb, 1] for am/aam; loss.affine.weight
// and loss.affine.bias for softmax), checked by name and shape. There is no optimizer state, so
// `train --resume` cannot continue from it.
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "speakernet/cli/commands.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/config.h"
#include "speakernet/common/error.h"
#include "speakernet/losses/loss_factory.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/speaker_net_interop.h"
#include "speakernet/models/torch_save_reader.h"
#include "speakernet/training/checkpointer.h"
#include "speakernet/training/train_config.h"
#include "speakernet/training/experiment.h"
#include "speakernet/training/wespeaker_import.h"

namespace speakernet {

namespace fs = std::filesystem;

// Writes an experiment directory holding one checkpoint (no optimizer state), in the layout of
// training/checkpointer.h, for the extractor. Shared with convert_command.cpp. The checkpoint
// directory is written under a temporary name and renamed into place.
std::string WriteSingleCheckpointExp(const std::string& exp_dir, const std::string& tag,
                                     const TrainConfig& config, const StateDict& state,
                                     const std::string& source, bool force) {
  return Experiment(exp_dir).WriteSingleCheckpoint(tag, config, state, source, force);
}

namespace {

// The classifier entries (loss.*) of `state`, checked by name and shape against the classifier
// that `loss` builds for `emb_dim` (its number of classes taken from the file), as float32.
StateDict ImportClassifier(const StateDict& state, const LossConfig& loss, int64_t emb_dim,
                           const std::string& file) {
  StateDict entries;
  for (const auto& kv : state) {
    if (kv.first.rfind(kClassifierPrefix, 0) == 0) entries.push_back(kv);
  }
  if (entries.empty()) return {};
  const std::string rows_key =
      std::string(kClassifierPrefix) + (loss.IsSoftmax() ? "affine.weight" : "weight");
  const auto rows = std::find_if(entries.begin(), entries.end(),
                                 [&](const auto& kv) { return kv.first == rows_key; });
  SN_CHECK(rows != entries.end() && rows->second.dim() >= 1,
           "import: '{}': the classifier key '{}' is not '{}', which loss.method {} needs (pass "
           "the loss.method the checkpoint was trained with, or --no-classifier)",
           file, entries.front().first, rows_key, loss.method);
  const int64_t k = loss.IsSoftmax() ? 1 : loss.K;
  SN_CHECK(rows->second.size(0) % k == 0,
           "import: '{}': key '{}' has {} rows, not a multiple of loss.K {}", file, rows_key,
           rows->second.size(0), k);
  const auto classifier = MakeClassifierLoss(loss, emb_dim, rows->second.size(0) / k);
  try {
    LoadStateDict(*classifier, entries, kClassifierPrefix);
  } catch (const Error& e) {
    Fail(fmt::format("import: '{}': the classifier does not fit loss.method {}: {}", file,
                     loss.method, e.what()));
  }
  return GetStateDict(*classifier, kClassifierPrefix);
}

}  // namespace

void AddImportCommand(CLI::App& app) {
  struct Args {
    std::string config, in, out, wespeaker, tag = "imported";
    bool force = false, no_classifier = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "import", "turn a speaker-net (Python) checkpoint into a speakernet experiment dir");
  cmd->footer(
      "Further --section.key=value arguments override the config. The result is used by\n"
      "`speakernet extract --exp OUT`.");
  cmd->add_option("--config", args->config, "training YAML config describing the model");
  cmd->add_option("--in", args->in, "speaker-net checkpoint (torch.save'd state_dict)");
  cmd->add_option("--wespeaker", args->wespeaker,
                  "unpacked WeSpeaker release dir (config.yaml + avg_model.pt) instead of "
                  "--config/--in");
  cmd->add_option("--out", args->out, "experiment dir to write")->required();
  cmd->add_option("--tag", args->tag, "checkpoint name under OUT/checkpoints")
      ->capture_default_str();
  cmd->add_flag("--no-classifier", args->no_classifier, "drop loss.* (the classifier weight)");
  cmd->add_flag("--force", args->force, "overwrite an existing experiment in OUT");
  cmd->allow_extras();
  cmd->callback([cmd, args] {
    if (!args->wespeaker.empty()) {
      SN_CHECK(args->config.empty() && args->in.empty(),
               "import: --wespeaker takes the model from the release; drop --config/--in");
      const auto r = ImportWeSpeakerRelease(args->wespeaker, args->out, args->tag, args->force,
                                            cmd->remaining());
      spdlog::info("import: WeSpeaker {} {} -> {} ({})", r.architecture, args->wespeaker,
                   r.checkpoint, r.description);
      return;
    }
    SN_CHECK(!args->config.empty() && !args->in.empty(),
             "import: pass --config and --in (a speaker-net checkpoint) or --wespeaker DIR");
    const TrainConfig config = LoadTrainConfig(args->config, cmd->remaining());
    std::vector<std::string> dropped;
    const StateDict state = FromSpeakerNetStateDict(ReadTorchSaveStateDict(args->in), &dropped);
    if (!dropped.empty()) {
      spdlog::info("import: ignoring {} feature-extractor buffers ({} ...)", dropped.size(),
                   dropped.front());
    }
    const auto model = CreateModel(config.model);
    try {
      LoadStateDict(*model, WithoutClassifier(state));
    } catch (const Error& e) {
      Fail(fmt::format("import: '{}' does not fit the model of '{}': {}", args->in, args->config,
                       e.what()));
    }
    StateDict out = GetStateDict(*model);
    if (!args->no_classifier) {
      for (auto& kv : ImportClassifier(state, config.loss, model->EmbeddingDim(), args->in)) {
        out.push_back(std::move(kv));
      }
    }
    const std::string dir =
        WriteSingleCheckpointExp(args->out, args->tag, config, out, args->in, args->force);
    spdlog::info("import: {} -> {} ({})", args->in, dir, DescribeModel(config.model, *model));
  });
}

SPEAKERNET_REGISTER_COMMAND(30, AddImportCommand);

}  // namespace speakernet
