#include "speakernet/models/speaker_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "speakernet/common/error.h"
#include "speakernet/models/resnet.h"

namespace speakernet {

std::shared_ptr<SpeakerModel> CreateModel(const ModelConfig& config) {
  config.Validate();
  if (config.type == "resnet") return std::make_shared<ResNetSpeakerModel>(config);
  Fail(fmt::format("model.type '{}' is not supported", config.type));
}

int64_t CountParameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) n += p.numel();
  return n;
}

namespace {

void CollectState(const torch::nn::Module& module, const std::string& prefix,
                  std::vector<std::pair<std::string, torch::Tensor>>& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    if (p.value().defined()) out.emplace_back(prefix + p.key(), p.value());
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    if (b.value().defined()) out.emplace_back(prefix + b.key(), b.value());
  }
  for (const auto& child : module.named_children()) {
    CollectState(*child.value(), prefix + child.key() + ".", out);
  }
}

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

std::vector<std::pair<std::string, torch::Tensor>> NamedStateTensors(
    const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  CollectState(module, "", out);
  return out;
}

std::string DescribeModel(const ModelConfig& config, const SpeakerModel& model) {
  std::string pooling = config.pooling.type;
  if (config.pooling.type == "multi_head") pooling += fmt::format("-{}", config.pooling.num_head);
  std::string details;
  if (config.type == "resnet") {
    details =
        fmt::format("{} [{}] x [{}], ", config.resnet.block, fmt::join(config.resnet.layers, ","),
                    fmt::join(config.resnet.planes, ","));
  }
  return fmt::format("{} ({}{}, emb {}): {} parameters", config.type, details, pooling,
                     model.EmbeddingDim(), WithThousands(CountParameters(model)));
}

}  // namespace speakernet
