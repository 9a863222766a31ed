#include <spdlog/spdlog.h>

#include <filesystem>

#include "speakernet/cli/commands.h"
#include "speakernet/training/trainer.h"

namespace speakernet {

void AddTrainCommand(CLI::App& app) {
  struct Args {
    std::string config, data, exp, resume, device;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("train", "train a speaker-embedding model on a Kaldi data dir");
  cmd->footer(
      "Any further --section.key=value argument overrides the config, e.g. --optimizer.lr=0.1.\n"
      "Augmentation, fixed egs, balanced sampling and the validation split are loader.* keys\n"
      "(docs/data-pipeline.md), e.g. --loader.augment.mode=speed.\n"
      "With --resume the experiment's saved config.yaml is used (overrides still apply).");
  cmd->add_option("--config", args->config, "YAML config file (required unless resuming)");
  cmd->add_option("--data", args->data, "training data dir (wav.scp, utt2spk)")->required();
  cmd->add_option("--exp", args->exp, "experiment dir (config, checkpoints, logs)")->required();
  cmd->add_option("--resume", args->resume,
                  "continue from the newest checkpoint, or from the checkpoint dir given")
      ->expected(0, 1)
      ->default_str("latest");
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N (same as --runtime.device)");
  cmd->allow_extras();
  cmd->callback([cmd, args] {
    const bool resuming = cmd->count("--resume") > 0;
    const std::string resume = resuming ? (args->resume.empty() ? "latest" : args->resume) : "";
    std::string config_path = args->config;
    if (resuming) {
      config_path = ExpConfigPath(args->exp);
      if (!args->config.empty()) {
        spdlog::warn("train: --resume uses {} and ignores --config {}", config_path, args->config);
      }
    }
    SN_CHECK(!config_path.empty(), "train: --config is required for a new experiment");
    std::vector<std::string> overrides = cmd->remaining();
    if (!args->device.empty()) overrides.push_back("--runtime.device=" + args->device);
    TrainConfig config = LoadTrainConfig(config_path, overrides);
    Trainer trainer(config, args->data, args->exp);
    const TrainSummary summary = trainer.Run(resume);
    spdlog::info("train: done, {} steps in this run, last loss {:.4f}, accuracy {:.2f}%, {}",
                 summary.steps, summary.last_loss, 100 * summary.last_accuracy,
                 summary.last_checkpoint);
    if (summary.valid_loss >= 0) {
      spdlog::info("train: last validation loss {:.4f}, accuracy {:.2f}% (see valid_log.csv)",
                   summary.valid_loss, 100 * summary.valid_accuracy);
    }
  });
}

SPEAKERNET_REGISTER_COMMAND(20, AddTrainCommand);

}  // namespace speakernet
