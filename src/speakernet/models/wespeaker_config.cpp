#include "speakernet/models/wespeaker_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "speakernet/common/error.h"

namespace speakernet {

void WeSpeakerPoolingConfig::Validate(const std::string& where) const {
  SN_CHECK(type == "TSTP" || type == "TAP" || type == "TSDP" || type == "ASTP",
           "{}.type must be one of WeSpeaker's TSTP, TAP, TSDP, ASTP, got '{}'", where, type);
  SN_CHECK(bottleneck_dim > 0, "{}.bottleneck_dim must be > 0, got {}", where, bottleneck_dim);
}

void WeSpeakerResNetConfig::Validate() const {
  SN_CHECK(block == "basic" || block == "bottleneck",
           "model.wespeaker_resnet.block must be 'basic' or 'bottleneck', got '{}'", block);
  SN_CHECK(layers.size() == 4, "model.wespeaker_resnet.layers must list 4 stages, got [{}]",
           fmt::join(layers, ", "));
  for (size_t i = 0; i < layers.size(); ++i) {
    SN_CHECK(layers[i] > 0, "model.wespeaker_resnet.layers[{}] must be > 0, got {}", i, layers[i]);
  }
  SN_CHECK(m_channels > 0, "model.wespeaker_resnet.m_channels must be > 0, got {}", m_channels);
  pooling.Validate("model.wespeaker_resnet.pooling");
}

void WeSpeakerEcapaConfig::Validate() const {
  SN_CHECK(channels > 0 && channels % 8 == 0,
           "model.wespeaker_ecapa.channels must be a positive multiple of 8 (Res2 scale), got {}",
           channels);
  SN_CHECK(conv_out_channels > 0, "model.wespeaker_ecapa.conv_out_channels must be > 0, got {}",
           conv_out_channels);
  pooling.Validate("model.wespeaker_ecapa.pooling");
}

void CamPlusConfig::Validate() const {
  SN_CHECK(m_channels > 0, "model.campplus.m_channels must be > 0, got {}", m_channels);
  SN_CHECK(init_channels > 0, "model.campplus.init_channels must be > 0, got {}", init_channels);
  SN_CHECK(growth_rate > 0, "model.campplus.growth_rate must be > 0, got {}", growth_rate);
  SN_CHECK(bn_size > 0 && bn_size * growth_rate >= 2,
           "model.campplus.bn_size must be > 0 with bn_size * growth_rate >= 2, got {}", bn_size);
  SN_CHECK(dense_layers.size() == 3, "model.campplus.dense_layers must list 3 blocks, got [{}]",
           fmt::join(dense_layers, ", "));
  for (size_t i = 0; i < dense_layers.size(); ++i) {
    SN_CHECK(dense_layers[i] > 0, "model.campplus.dense_layers[{}] must be > 0, got {}", i,
             dense_layers[i]);
  }
  pooling.Validate("model.campplus.pooling");
}

}  // namespace speakernet
