// `speakernet convert --deploy`: re-parameterise a RepVGG experiment for inference
// (speaker-net's `extract_embeddings.py --re-param true`):
//
//   speakernet convert --deploy --exp exp/repvgg --out exp/repvgg_deploy
//
// loads the checkpoint, fuses every block into one 3x3 conv with bias (models/repvgg.h,
// SwitchToDeploy) and writes a new experiment dir: config.yaml with model.repvgg.deploy: true
// and checkpoints/deploy/model.pt (deployed weights + loss.weight), which `speakernet extract`
// runs as it is. speakers.txt is copied when present.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "speakernet/cli/commands.h"
#include "speakernet/common/error.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/training/experiment.h"

namespace speakernet {

namespace fs = std::filesystem;

// Defined in import_command.cpp.
std::string WriteSingleCheckpointExp(const std::string& exp_dir, const std::string& tag,
                                     const TrainConfig& config, const StateDict& state,
                                     const std::string& source, bool force);

void AddConvertCommand(CLI::App& app) {
  struct Args {
    std::string exp, checkpoint, out, tag = "deploy";
    bool deploy = false, force = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("convert", "convert an experiment's model (RepVGG --deploy)");
  cmd->add_flag("--deploy", args->deploy,
                "fuse RepVGG's branches into single 3x3 convs (inference graph)")
      ->required();
  cmd->add_option("--exp", args->exp, "experiment dir to convert")->required();
  cmd->add_option("--checkpoint", args->checkpoint, "checkpoint dir (default: newest)");
  cmd->add_option("--out", args->out, "experiment dir to write")->required();
  cmd->add_option("--tag", args->tag, "checkpoint name under OUT/checkpoints")
      ->capture_default_str();
  cmd->add_flag("--force", args->force, "overwrite an existing experiment in OUT");
  cmd->callback([args] {
    SN_CHECK(
        fs::absolute(args->exp).lexically_normal() != fs::absolute(args->out).lexically_normal(),
        "convert: --out must differ from --exp");
    const Experiment exp = Experiment::Open(args->exp);
    const std::string type = exp.LoadConfig().model.type;
    SN_CHECK(type == "repvgg",
             "convert --deploy: '{}' has model.type '{}'; only repvgg can be re-parameterised",
             exp.ConfigPath(), type);
    const TrainedModel m = exp.LoadModel(args->checkpoint, /*deploy=*/true);
    StateDict out = GetStateDict(*m.model);
    out.insert(out.end(), m.classifier.begin(), m.classifier.end());
    const std::string dir =
        WriteSingleCheckpointExp(args->out, args->tag, m.config, out, m.source, args->force);
    const std::vector<std::string> speakers = exp.LoadSpeakers();
    if (!speakers.empty()) Experiment(args->out).WriteSpeakers(speakers);
    spdlog::info("convert: {} -> {} ({})", m.source, dir, DescribeModel(m.config.model, *m.model));
  });
}

SPEAKERNET_REGISTER_COMMAND(32, AddConvertCommand);

}  // namespace speakernet
