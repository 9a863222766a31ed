#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>

#include "speakernet/cli/commands.h"
#include "speakernet/training/launcher.h"
#include "speakernet/training/experiment.h"
#include "speakernet/training/trainer.h"

namespace speakernet {

void AddTrainCommand(CLI::App& app) {
  struct Args {
    std::string config, data, exp, resume, device, init_from;
    int nproc = 1;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("train", "train a speaker-embedding model on a Kaldi data dir");
  cmd->footer(
      "Any further --section.key=value argument overrides the config, e.g. --optimizer.lr=0.1.\n"
      "Augmentation, fixed egs, balanced sampling and the validation split are loader.* keys\n"
      "(docs/data-pipeline.md), e.g. --loader.augment.mode=speed.\n"
      "With --resume the experiment's saved config.yaml is used (overrides still apply).\n"
      "Multi-process data parallelism (docs/training.md): --nproc N starts N local workers\n"
      "(Gloo on CPU, NCCL on CUDA); or run under torchrun-style RANK/WORLD_SIZE/LOCAL_RANK/\n"
      "MASTER_ADDR/MASTER_PORT. loader.batch_size is the global batch, split over the ranks.");
  cmd->add_option("--config", args->config, "YAML config file (required unless resuming)");
  cmd->add_option("--data", args->data, "training data dir (wav.scp, utt2spk)")->required();
  cmd->add_option("--exp", args->exp, "experiment dir (config, checkpoints, logs)")->required();
  cmd->add_option("--resume", args->resume,
                  "continue from the newest checkpoint, or from the checkpoint dir given")
      ->expected(0, 1)
      ->default_str("latest");
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N (same as --runtime.device)");
  cmd->add_option("--nproc", args->nproc,
                  "run N local worker processes (data parallel; same as torchrun "
                  "--nproc_per_node=N)");
  cmd->add_option("--init-from", args->init_from,
                  "initialise model and classifier from a checkpoint dir or model.pt "
                  "(large-margin fine-tuning; same as --trainer.init_from)");
  cmd->allow_extras();
  cmd->callback([cmd, args] {
    if (args->nproc > 1 && std::getenv("WORLD_SIZE") == nullptr) {
      // Launcher: the workers run this same command line without --nproc.
      std::vector<std::string> argv;
      const auto own = OwnCommandLine();
      for (size_t i = 0; i < own.size(); ++i) {
        if (own[i] == "--nproc") {
          ++i;
          continue;
        }
        if (own[i].rfind("--nproc=", 0) == 0) continue;
        argv.push_back(own[i]);
      }
      const int rc = LaunchLocalWorkers(args->nproc, argv);
      SN_CHECK(rc == 0, "train --nproc {}: a worker failed (see above)", args->nproc);
      return;
    }
    const DistEnv dist = DistEnv::FromEnvironment();
    if (dist.rank > 0) {
      // Only rank 0 talks on the console; the others keep their full log in train.rank<r>.log.
      for (auto& sink : spdlog::default_logger()->sinks()) sink->set_level(spdlog::level::warn);
    }
    if (const char* fail = std::getenv("SPEAKERNET_TEST_FAIL_RANK");
        fail != nullptr && std::atoi(fail) == dist.rank && dist.world_size > 1) {
      // Fault injection for tests/train_cli_test.sh (the launcher must report a dead worker).
      Fail(fmt::format("rank {}: failing on purpose (SPEAKERNET_TEST_FAIL_RANK)", dist.rank));
    }
    const bool resuming = cmd->count("--resume") > 0;
    const std::string resume = resuming ? (args->resume.empty() ? "latest" : args->resume) : "";
    std::string config_path = args->config;
    if (resuming) {
      config_path = Experiment(args->exp).ConfigPath();
      if (!args->config.empty()) {
        spdlog::warn("train: --resume uses {} and ignores --config {}", config_path, args->config);
      }
    }
    SN_CHECK(!config_path.empty(), "train: --config is required for a new experiment");
    std::vector<std::string> overrides = cmd->remaining();
    if (!args->device.empty()) overrides.push_back("--runtime.device=" + args->device);
    if (!args->init_from.empty()) overrides.push_back("--trainer.init_from=" + args->init_from);
    TrainConfig config = LoadTrainConfig(config_path, overrides);
    Trainer trainer(config, args->data, args->exp, dist);
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
