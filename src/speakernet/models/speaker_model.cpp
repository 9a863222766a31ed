#include "speakernet/models/speaker_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "speakernet/common/error.h"
#include "speakernet/models/ecapa_tdnn.h"
#include "speakernet/models/repvgg.h"
#include "speakernet/models/resnet.h"
#include "speakernet/models/xvector.h"

namespace speakernet {

std::shared_ptr<SpeakerModel> CreateModel(const ModelConfig& config) {
  config.Validate();
  if (config.type == "resnet") return std::make_shared<ResNetSpeakerModel>(config);
  if (config.type == "ecapa") return std::make_shared<EcapaTdnnSpeakerModel>(config);
  if (config.type == "repvgg") return std::make_shared<RepVggSpeakerModel>(config);
  if (config.type == "xvector") return std::make_shared<XVectorSpeakerModel>(config);
  Fail(fmt::format("model.type '{}' is not supported", config.type));
}

int64_t CountParameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) n += p.numel();
  return n;
}

namespace {

std::string WithThousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}
}  // namespace

std::string DescribeModel(const ModelConfig& config, const SpeakerModel& model) {
  std::string pooling = config.pooling.type;
  if (config.pooling.type == "multi_head" || config.pooling.type == "multi_resolution") {
    pooling += fmt::format("-{}", config.pooling.num_head);
  }
  std::string details;
  if (config.type == "resnet") {
    details =
        fmt::format("{} [{}] x [{}], ", config.resnet.block, fmt::join(config.resnet.layers, ","),
                    fmt::join(config.resnet.planes, ","));
    if (config.resnet.se_ratio > 0) details += fmt::format("se-{}, ", config.resnet.se_ratio);
  } else if (config.type == "ecapa") {
    details = fmt::format("C {}, dilations [{}], scale {}, ", config.ecapa.channels,
                          fmt::join(config.ecapa.dilations, ","), config.ecapa.scale);
  } else if (config.type == "repvgg") {
    const auto* repvgg = dynamic_cast<const RepVggSpeakerModel*>(&model);
    details = fmt::format("{} [{}] x [{}], {}", config.repvgg.name,
                          fmt::join(config.repvgg.ResolvedNumBlocks(), ","),
                          fmt::join(config.repvgg.ResolvedPlanes(), ","),
                          repvgg != nullptr && repvgg->Deployed() ? "deploy, " : "");
  }
  return fmt::format("{} ({}{}, emb {}): {} parameters", config.type, details, pooling,
                     model.EmbeddingDim(), WithThousands(CountParameters(model)));
}

}  // namespace speakernet
