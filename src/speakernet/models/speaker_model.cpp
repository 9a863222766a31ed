#include "speakernet/models/speaker_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "speakernet/common/error.h"
#include "speakernet/models/campplus.h"
#include "speakernet/models/ecapa_tdnn.h"
#include "speakernet/models/repvgg.h"
#include "speakernet/models/resnet.h"
#include "speakernet/models/wespeaker_ecapa.h"
#include "speakernet/models/wespeaker_resnet.h"
#include "speakernet/models/xvector.h"

namespace speakernet {

std::shared_ptr<SpeakerModel> CreateModel(const ModelConfig& config) {
  config.Validate();
  if (config.type == "resnet") return std::make_shared<ResNetSpeakerModel>(config);
  if (config.type == "ecapa") return std::make_shared<EcapaTdnnSpeakerModel>(config);
  if (config.type == "repvgg") return std::make_shared<RepVggSpeakerModel>(config);
  if (config.type == "xvector") return std::make_shared<XVectorSpeakerModel>(config);
  if (config.type == "wespeaker_resnet") return std::make_shared<WeSpeakerResNetModel>(config);
  if (config.type == "wespeaker_ecapa") return std::make_shared<WeSpeakerEcapaModel>(config);
  if (config.type == "campplus") return std::make_shared<CamPlusModel>(config);
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

std::string DescribeWeSpeakerModel(const ModelConfig& config, const SpeakerModel& model) {
  std::string details;
  const WeSpeakerPoolingConfig* pooling = nullptr;
  if (config.type == "wespeaker_resnet") {
    const auto& c = config.wespeaker_resnet;
    details = fmt::format("{} [{}] x m_channels {}{}, ", c.block, fmt::join(c.layers, ","),
                          c.m_channels, c.two_emb_layer ? ", two_emb_layer" : "");
    pooling = &c.pooling;
  } else if (config.type == "wespeaker_ecapa") {
    const auto& c = config.wespeaker_ecapa;
    details = fmt::format("C {}, conv {}{}, ", c.channels, c.conv_out_channels,
                          c.emb_bn ? ", emb_bn" : "");
    pooling = &c.pooling;
  } else {
    const auto& c = config.campplus;
    details =
        fmt::format("dense [{}] x growth {}, ", fmt::join(c.dense_layers, ","), c.growth_rate);
    pooling = &c.pooling;
  }
  const std::string pool =
      pooling->type + (pooling->type == "ASTP" && pooling->global_context_att ? "-glob" : "");
  return fmt::format("{} ({}{}, emb {}): {} parameters", config.type, details, pool,
                     model.EmbeddingDim(), WithThousands(CountParameters(model)));
}
}  // namespace

std::string DescribeModel(const ModelConfig& config, const SpeakerModel& model) {
  std::string pooling = config.pooling.type;
  if (config.pooling.type == "multi_head" || config.pooling.type == "multi_resolution") {
    pooling += fmt::format("-{}", config.pooling.num_head);
  }
  std::string details;
  if (config.type == "wespeaker_resnet" || config.type == "wespeaker_ecapa" ||
      config.type == "campplus") {
    return DescribeWeSpeakerModel(config, model);
  }
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
