#include "speakernet/models/model_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "speakernet/common/error.h"

namespace speakernet {

void ResNetConfig::Validate() const {
  SN_CHECK(block == "basic" || block == "bottleneck",
           "model.resnet.block must be 'basic' or 'bottleneck', got '{}'", block);
  SN_CHECK(layers.size() == 4, "model.resnet.layers must list 4 stages, got [{}]",
           fmt::join(layers, ", "));
  SN_CHECK(planes.size() == 4, "model.resnet.planes must list 4 stages, got [{}]",
           fmt::join(planes, ", "));
  for (size_t i = 0; i < 4; ++i) {
    SN_CHECK(layers[i] > 0, "model.resnet.layers[{}] must be > 0, got {}", i, layers[i]);
    SN_CHECK(planes[i] > 0, "model.resnet.planes[{}] must be > 0, got {}", i, planes[i]);
  }
  SN_CHECK(bn_momentum > 0 && bn_momentum <= 1,
           "model.resnet.bn_momentum must be in (0, 1], got {}", bn_momentum);
  SN_CHECK(full_pre_activation,
           "model.resnet.full_pre_activation: only true (speaker-net's setting) is supported");
  SN_CHECK(se_ratio >= 0, "model.resnet.se_ratio must be >= 0 (0 = no SE), got {}", se_ratio);
  if (se_ratio > 0) {
    const int64_t expansion = block == "bottleneck" ? 4 : 1;
    for (size_t i = 0; i < 4; ++i) {
      SN_CHECK(planes[i] * expansion >= se_ratio,
               "model.resnet.se_ratio {} leaves no SE units for the {} channels of stage {}",
               se_ratio, planes[i] * expansion, i + 1);
    }
  }
}

void EcapaConfig::Validate() const {
  SN_CHECK(channels > 0, "model.ecapa.channels must be > 0, got {}", channels);
  SN_CHECK(scale > 1 && channels % scale == 0,
           "model.ecapa.scale must be > 1 and divide model.ecapa.channels {}, got {}", channels,
           scale);
  SN_CHECK(!dilations.empty(), "model.ecapa.dilations must list at least one block");
  for (size_t i = 0; i < dilations.size(); ++i) {
    SN_CHECK(dilations[i] > 0, "model.ecapa.dilations[{}] must be > 0, got {}", i, dilations[i]);
  }
  SN_CHECK(se_reduction > 0 && channels % se_reduction == 0,
           "model.ecapa.se_reduction must be > 0 and divide model.ecapa.channels {}, got {}",
           channels, se_reduction);
  SN_CHECK(bn_momentum > 0 && bn_momentum <= 1, "model.ecapa.bn_momentum must be in (0, 1], got {}",
           bn_momentum);
}

namespace {

// RepVGG presets: blocks per stage and per-stage widths (the RepVGG paper's width multipliers
// a, a, a, b applied to 64, 128, 256, 512), and the groups of the optional group-wise layers.
struct RepVggPreset {
  const char* name;
  std::vector<int64_t> num_blocks;
  std::vector<double> width;
  int64_t groups;  // of the layers 2, 4, ..., 26 (1 = none)
};

const std::vector<RepVggPreset>& RepVggPresets() {
  static const std::vector<int64_t> kA{2, 4, 14, 1};
  static const std::vector<int64_t> kB{4, 6, 16, 1};
  static const std::vector<RepVggPreset> presets{
      {"RepVGG-B1-custom", {3, 4, 23, 3}, {1, 1, 1, 1}, 1},
      {"RepVGG-A0", kA, {0.75, 0.75, 0.75, 2.5}, 1},
      {"RepVGG-A1", kA, {1, 1, 1, 2.5}, 1},
      {"RepVGG-A2", kA, {1.5, 1.5, 1.5, 2.75}, 1},
      {"RepVGG-B0", kB, {1, 1, 1, 2.5}, 1},
      {"RepVGG-B1", kB, {2, 2, 2, 4}, 1},
      {"RepVGG-B1g2", kB, {2, 2, 2, 4}, 2},
      {"RepVGG-B1g4", kB, {2, 2, 2, 4}, 4},
      {"RepVGG-B2", kB, {2.5, 2.5, 2.5, 5}, 1},
      {"RepVGG-B2g2", kB, {2.5, 2.5, 2.5, 5}, 2},
      {"RepVGG-B2g4", kB, {2.5, 2.5, 2.5, 5}, 4},
      {"RepVGG-B3", kB, {3, 3, 3, 5}, 1},
      {"RepVGG-B3g2", kB, {3, 3, 3, 5}, 2},
      {"RepVGG-B3g4", kB, {3, 3, 3, 5}, 4},
  };
  return presets;
}

const RepVggPreset* FindRepVggPreset(const std::string& name) {
  for (const auto& p : RepVggPresets()) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

const RepVggPreset& RepVggPresetOrThrow(const std::string& name) {
  const auto* p = FindRepVggPreset(name);
  SN_CHECK(p != nullptr, "model.repvgg.name must be one of {}, got '{}'",
           fmt::join(RepVggConfig::PresetNames(), ", "), name);
  return *p;
}

}  // namespace

std::vector<std::string> RepVggConfig::PresetNames() {
  std::vector<std::string> names;
  for (const auto& p : RepVggPresets()) names.emplace_back(p.name);
  return names;
}

std::vector<int64_t> RepVggConfig::ResolvedNumBlocks() const {
  return num_blocks.empty() ? RepVggPresetOrThrow(name).num_blocks : num_blocks;
}

std::vector<int64_t> RepVggConfig::ResolvedPlanes() const {
  if (!planes.empty()) return planes;
  const auto& preset = RepVggPresetOrThrow(name);
  const int64_t base[4] = {64, 128, 256, 512};
  std::vector<int64_t> out;
  for (size_t i = 0; i < 4; ++i) out.push_back(static_cast<int64_t>(base[i] * preset.width[i]));
  return out;
}

int64_t RepVggConfig::GroupsOfLayer(int64_t layer_index) const {
  const int64_t groups = RepVggPresetOrThrow(name).groups;
  const bool groupwise = layer_index >= 2 && layer_index <= 26 && layer_index % 2 == 0;
  return groupwise ? groups : 1;
}

void RepVggConfig::Validate() const {
  const auto& preset = RepVggPresetOrThrow(name);
  SN_CHECK(num_blocks.empty() || num_blocks.size() == 4,
           "model.repvgg.num_blocks must be empty (the preset's) or list 4 stages, got [{}]",
           fmt::join(num_blocks, ", "));
  SN_CHECK(planes.empty() || planes.size() == 4,
           "model.repvgg.planes must be empty (the preset's) or list 4 stages, got [{}]",
           fmt::join(planes, ", "));
  SN_CHECK(strides.size() == 5, "model.repvgg.strides must list 5 stages (stage0..4), got [{}]",
           fmt::join(strides, ", "));
  for (size_t i = 0; i < num_blocks.size(); ++i) {
    SN_CHECK(num_blocks[i] > 0, "model.repvgg.num_blocks[{}] must be > 0, got {}", i,
             num_blocks[i]);
  }
  for (size_t i = 0; i < planes.size(); ++i) {
    SN_CHECK(planes[i] > 0, "model.repvgg.planes[{}] must be > 0, got {}", i, planes[i]);
  }
  for (size_t i = 0; i < strides.size(); ++i) {
    SN_CHECK(strides[i] > 0, "model.repvgg.strides[{}] must be > 0, got {}", i, strides[i]);
  }
  SN_CHECK(bn_momentum > 0 && bn_momentum <= 1,
           "model.repvgg.bn_momentum must be in (0, 1], got {}", bn_momentum);
  if (preset.groups > 1) {
    // A group-wise layer's input is the previous layer's output: stage0's min(64, planes[0])
    // or a stage's planes; both must split into the groups.
    const auto p = ResolvedPlanes();
    SN_CHECK(std::min<int64_t>(64, p[0]) % preset.groups == 0,
             "model.repvgg: {} needs stage0's {} channels divisible by {}", name,
             std::min<int64_t>(64, p[0]), preset.groups);
    for (size_t i = 0; i < 4; ++i) {
      SN_CHECK(p[i] % preset.groups == 0,
               "model.repvgg: {} needs planes[{}] = {} divisible by its {} groups", name, i, p[i],
               preset.groups);
    }
  }
}

void PoolingConfig::Validate() const {
  SN_CHECK(type == "multi_head" || type == "statistics" || type == "channel_context" ||
               type == "attentive" || type == "multi_resolution",
           "model.pooling.type must be multi_head, statistics, channel_context, attentive or "
           "multi_resolution, got '{}'",
           type);
  SN_CHECK(num_head > 0, "model.pooling.num_head must be > 0, got {}", num_head);
  SN_CHECK(hidden_size > 0, "model.pooling.hidden_size must be > 0, got {}", hidden_size);
}

void ModelConfig::Validate() const {
  SN_CHECK(type == "resnet" || type == "ecapa" || type == "xvector" || type == "repvgg" ||
               type == "wespeaker_resnet" || type == "wespeaker_ecapa" || type == "campplus",
           "model.type must be 'resnet', 'ecapa', 'xvector', 'repvgg', 'wespeaker_resnet', "
           "'wespeaker_ecapa' or 'campplus', got '{}'",
           type);
  SN_CHECK(feat_dim > 0, "model.feat_dim must be > 0, got {}", feat_dim);
  SN_CHECK(emb_dim >= 0, "model.emb_dim must be >= 0 (0 = the model's default), got {}", emb_dim);
  SN_CHECK(fc2_bn_momentum > 0 && fc2_bn_momentum <= 1,
           "model.fc2_bn_momentum must be in (0, 1], got {}", fc2_bn_momentum);
  resnet.Validate();
  ecapa.Validate();
  repvgg.Validate();
  pooling.Validate();
  wespeaker_resnet.Validate();
  wespeaker_ecapa.Validate();
  campplus.Validate();
}

int64_t ModelConfig::EmbeddingDim() const {
  if (emb_dim > 0) return emb_dim;
  if (type == "ecapa") return kEcapaDefaultEmbDim;
  if (type == "xvector") return kXVectorDefaultEmbDim;
  if (type == "repvgg") return kRepVggDefaultEmbDim;
  if (type == "wespeaker_resnet") return kWeSpeakerResNetDefaultEmbDim;
  if (type == "wespeaker_ecapa") return kWeSpeakerEcapaDefaultEmbDim;
  if (type == "campplus") return kCamPlusDefaultEmbDim;
  return resnet.planes.empty() ? 0 : resnet.planes.back();
}

}  // namespace speakernet
