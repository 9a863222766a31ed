#include "speakernet/models/model_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "speakernet/common/error.h"

namespace speakernet {

void ResNetConfig::Validate() const {
  SN_CHECK(block == "basic",
           "model.resnet.block must be 'basic' (bottleneck is not supported yet), got '{}'", block);
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
}

void PoolingConfig::Validate() const {
  SN_CHECK(type == "multi_head" || type == "statistics",
           "model.pooling.type must be multi_head or statistics, got '{}'", type);
  SN_CHECK(num_head > 0, "model.pooling.num_head must be > 0, got {}", num_head);
}

void ModelConfig::Validate() const {
  SN_CHECK(type == "resnet", "model.type must be 'resnet', got '{}'", type);
  SN_CHECK(feat_dim > 0, "model.feat_dim must be > 0, got {}", feat_dim);
  SN_CHECK(emb_dim >= 0, "model.emb_dim must be >= 0 (0 = last stage's channels), got {}", emb_dim);
  SN_CHECK(fc2_bn_momentum > 0 && fc2_bn_momentum <= 1,
           "model.fc2_bn_momentum must be in (0, 1], got {}", fc2_bn_momentum);
  resnet.Validate();
  pooling.Validate();
}

int64_t ModelConfig::EmbeddingDim() const {
  if (emb_dim > 0) return emb_dim;
  return resnet.planes.empty() ? 0 : resnet.planes.back();
}

}  // namespace speakernet
