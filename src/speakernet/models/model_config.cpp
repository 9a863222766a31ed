#include "speakernet/models/model_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

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

void PoolingConfig::Validate() const {
  SN_CHECK(type == "multi_head" || type == "statistics" || type == "channel_context",
           "model.pooling.type must be multi_head, statistics or channel_context, got '{}'", type);
  SN_CHECK(num_head > 0, "model.pooling.num_head must be > 0, got {}", num_head);
  SN_CHECK(hidden_size > 0, "model.pooling.hidden_size must be > 0, got {}", hidden_size);
}

void ModelConfig::Validate() const {
  SN_CHECK(type == "resnet" || type == "ecapa" || type == "xvector",
           "model.type must be 'resnet', 'ecapa' or 'xvector', got '{}'", type);
  SN_CHECK(type != "xvector" || pooling.type == "statistics",
           "model.type 'xvector' needs model.pooling.type 'statistics' (the x-vector's pooling), "
           "got '{}'",
           pooling.type);
  SN_CHECK(type != "ecapa" || pooling.type == "channel_context",
           "model.type 'ecapa' needs model.pooling.type 'channel_context' (speaker-net's ECAPA "
           "pooling), got '{}'",
           pooling.type);
  SN_CHECK(feat_dim > 0, "model.feat_dim must be > 0, got {}", feat_dim);
  SN_CHECK(emb_dim >= 0, "model.emb_dim must be >= 0 (0 = the model's default), got {}", emb_dim);
  SN_CHECK(fc2_bn_momentum > 0 && fc2_bn_momentum <= 1,
           "model.fc2_bn_momentum must be in (0, 1], got {}", fc2_bn_momentum);
  resnet.Validate();
  ecapa.Validate();
  pooling.Validate();
}

int64_t ModelConfig::EmbeddingDim() const {
  if (emb_dim > 0) return emb_dim;
  if (type == "ecapa") return kEcapaDefaultEmbDim;
  if (type == "xvector") return kXVectorDefaultEmbDim;
  return resnet.planes.empty() ? 0 : resnet.planes.back();
}

}  // namespace speakernet
