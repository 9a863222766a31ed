// `speakernet model-info`: size and compute of the model a config describes.
//
//   parameters (without classifier)  speaker-net's count (spec §3.8: "loss" not in name)
//   parameters (with classifier)     + the classifier: margin softmax num_classes * loss.K *
//                                    emb_dim; softmax num_classes * (emb_dim + 1)
//   features                         the front end (features.type) and its dimension
//   MACs per second of audio         one forward pass on 100 frames (10 ms shift) of the
//                                    configured features, conv and matrix-product layers only
//                                    (models/mac_count.h)
// --deploy counts RepVGG's re-parameterised inference graph (one 3x3 conv with bias per block,
// what `speakernet convert --deploy` writes; spec §3.6: 25,053,248 for RepVGG-B1).
#include <fmt/format.h>

#include <iostream>

#include "speakernet/cli/commands.h"
#include "speakernet/common/error.h"
#include "speakernet/losses/loss_factory.h"
#include "speakernet/models/mac_count.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/training/train_config.h"

namespace speakernet {

void AddModelInfoCommand(CLI::App& app) {
  struct Args {
    std::string config;
    // VoxCeleb2 dev's 5,994 speakers x 3 speed-perturbation classes, speaker-net's recipe
    // (spec §3.8: the loss weight is 17982 * K * emb).
    int64_t num_classes = 17982;
    int64_t frames = 100;
    bool deploy = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("model-info", "print a model's size and compute for a config");
  cmd->add_option("--config", args->config, "training YAML config")->required();
  cmd->add_option("--num-classes", args->num_classes,
                  "classifier classes for the with-classifier count")
      ->capture_default_str();
  cmd->add_option("--frames", args->frames, "frames per forward pass for the MAC count")
      ->capture_default_str();
  cmd->add_flag("--deploy", args->deploy,
                "RepVGG: describe the re-parameterised inference graph (convert --deploy)");
  cmd->allow_extras();
  cmd->callback([cmd, args] {
    TrainConfig config = LoadTrainConfig(args->config, cmd->remaining());
    if (args->deploy) {
      SN_CHECK(config.model.type == "repvgg",
               "model-info --deploy: '{}' has model.type '{}'; only repvgg is re-parameterised",
               args->config, config.model.type);
      config.model.repvgg.deploy = true;
    }
    const auto model = CreateModel(config.model);
    const int64_t params = CountParameters(*model);
    const int64_t classifier =
        ClassifierParameterCount(config.loss, model->EmbeddingDim(), args->num_classes);
    const std::string classes =
        config.loss.IsSoftmax()
            ? fmt::format("{} classes, softmax", args->num_classes)
            : fmt::format("{} classes x K {}", args->num_classes, config.loss.K);
    const int64_t macs = CountForwardMacs(*model, config.model.feat_dim, args->frames);
    std::cout << "model: " << DescribeModel(config.model, *model) << "\n"
              << "parameters (without classifier): " << params << "\n"
              << fmt::format("parameters (with classifier, {}): {}\n", classes, params + classifier)
              << "embedding dim: " << model->EmbeddingDim() << "\n"
              << fmt::format("features: {} ({}-d)\n", config.features.type, config.features.Dim())
              << fmt::format("MACs per {} frames ({:g} s of audio): {} ({:.3f} G)\n", args->frames,
                             args->frames / 100.0, macs, macs / 1e9);
  });
}

SPEAKERNET_REGISTER_COMMAND(35, AddModelInfoCommand);

}  // namespace speakernet
