// `speakernet average`: speaker-net's average_checkpoints (training/checkpointer.py): the mean of
// the model state dicts (model + classifier) of consecutive end-of-epoch checkpoints,
//
//   speakernet average --exp exp/resnet34-32 --epochs 36-40 --out exp/resnet34-32_avg
//
// averages EXP/checkpoints/epoch-36 .. epoch-40 (models/state_dict.h AverageStateDicts: floats
// summed in order and divided by the count as speaker-net does, num_batches_tracked floored)
// and writes a new experiment dir: EXP's config.yaml and speakers.txt, and
// checkpoints/<tag>/model.pt, which `speakernet extract --exp OUT` uses like any checkpoint.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <regex>

#include "speakernet/cli/commands.h"
#include "speakernet/common/error.h"
#include "speakernet/training/checkpointer.h"
#include "speakernet/training/experiment.h"
#include "speakernet/training/train_config.h"
#include "speakernet/training/trainer.h"

namespace speakernet {

namespace fs = std::filesystem;

// Defined in import_command.cpp.
std::string WriteSingleCheckpointExp(const std::string& exp_dir, const std::string& tag,
                                     const TrainConfig& config, const StateDict& state,
                                     const std::string& source, bool force);

namespace {

// "A-B" (or "A") -> the checkpoint dirs epoch-A .. epoch-B of `exp`, which must all exist.
std::vector<std::string> EpochCheckpoints(const std::string& exp, const std::string& range) {
  std::smatch m;
  SN_CHECK(std::regex_match(range, m, std::regex(R"((\d+)(?:-(\d+))?)")),
           "average: --epochs must be A-B or A (1-based epoch numbers), got '{}'", range);
  const int64_t first = std::stoll(m[1].str());
  const int64_t last = m[2].matched ? std::stoll(m[2].str()) : first;
  SN_CHECK(first >= 1 && last >= first, "average: --epochs '{}' must satisfy 1 <= A <= B", range);
  std::vector<std::string> dirs;
  for (int64_t e = first; e <= last; ++e) {
    const fs::path dir = fs::path(exp) / "checkpoints" / ("epoch-" + std::to_string(e));
    SN_CHECK(fs::is_regular_file(dir / "model.pt"),
             "average: {} is missing (--epochs {} of experiment '{}')", (dir / "model.pt").string(),
             range, exp);
    dirs.push_back(dir.string());
  }
  return dirs;
}

}  // namespace

void AddAverageCommand(CLI::App& app) {
  struct Args {
    std::string exp, epochs, out, tag;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "average", "average the model weights of epoch checkpoints into a new experiment");
  cmd->add_option("--exp", args->exp, "experiment dir holding checkpoints/epoch-N")->required();
  cmd->add_option("--epochs", args->epochs, "A-B: epoch-A .. epoch-B, both included")->required();
  cmd->add_option("--out", args->out, "experiment dir to write")->required();
  cmd->add_option("--tag", args->tag, "checkpoint name under OUT/checkpoints (default avg-A-B)");
  cmd->add_flag("--force", args->force, "overwrite an existing experiment in OUT");
  cmd->callback([args] {
    SN_CHECK(
        fs::absolute(args->exp).lexically_normal() != fs::absolute(args->out).lexically_normal(),
        "average: --out must differ from --exp");
    const Experiment exp = Experiment::Open(args->exp);
    const TrainConfig config = exp.LoadConfig();
    const std::vector<std::string> dirs = EpochCheckpoints(args->exp, args->epochs);
    std::vector<StateDict> states;
    for (const auto& dir : dirs) states.push_back(Checkpointer::LoadModelState(dir));
    const StateDict mean = AverageStateDicts(states, dirs);
    const std::string tag = args->tag.empty() ? "avg-" + args->epochs : args->tag;
    const std::string source =
        fmt::format("average of {} epoch checkpoints of {}: {}", dirs.size(), args->exp,
                    args->epochs);
    const std::string dir =
        WriteSingleCheckpointExp(args->out, tag, config, mean, source, args->force);
    const std::vector<std::string> speakers = exp.LoadSpeakers();
    if (!speakers.empty()) Experiment(args->out).WriteSpeakers(speakers);
    spdlog::info("average: {} -> {}", source, dir);
  });
}

SPEAKERNET_REGISTER_COMMAND(33, AddAverageCommand);

}  // namespace speakernet
