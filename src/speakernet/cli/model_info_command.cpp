#include <iostream>

#include "speakernet/cli/commands.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/training/train_config.h"

namespace speakernet {

void AddModelInfoCommand(CLI::App& app) {
  auto config_path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("model-info", "print a model's size for a config");
  cmd->add_option("--config", *config_path, "training YAML config")->required();
  cmd->allow_extras();
  cmd->callback([cmd, config_path] {
    const TrainConfig config = LoadTrainConfig(*config_path, cmd->remaining());
    const auto model = CreateModel(config.model);
    std::cout << "model: " << DescribeModel(config.model, *model) << "\n"
              << "parameters (without classifier): " << CountParameters(*model) << "\n"
              << "embedding dim: " << model->EmbeddingDim() << "\n";
  });
}

SPEAKERNET_REGISTER_COMMAND(35, AddModelInfoCommand);

}  // namespace speakernet
