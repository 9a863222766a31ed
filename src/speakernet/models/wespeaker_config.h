// Configuration of the WeSpeaker model families (model.type wespeaker_resnet, wespeaker_ecapa,
// campplus): the architectures of WeSpeaker's pretrained releases, built with WeSpeaker's module
// names so that a release's avg_model.pt loads by name (models/wespeaker_release.h reads a
// release directory into these structs). Input features: model.feat_dim (80 in every release).
// Embedding: model.emb_dim (0 = the release default: 256 ResNet, 192 ECAPA, 512 CAM++).
//
// Parameter counts without the classifier (WeSpeaker's VoxCeleb v2 recipe; measured by
// models/wespeaker_models_test.cpp against the state-dict listings):
//   ResNet34 (wespeaker_resnet, defaults, emb 256):               6,634,336
//   ECAPA_TDNN_GLOB_c512 (wespeaker_ecapa, defaults, emb 192):     6,190,720
//   CAM++ (campplus, defaults, emb 512):                           7,176,224
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace speakernet {

// WeSpeaker's pooling_func (pooling_layers.py), output [B, OutputDim()]:
//   TAP  mean over time (D);  TSDP  sqrt(unbiased var + 1e-7) (D);  TSTP  [mean, std] (2D);
//   ASTP attentive [mean, std] (2D): alpha = softmax_t(linear2(tanh(linear1(x_in)))), per channel,
//        x_in = x, or with global_context_att [x, mean_t x, sqrt(var_t x + 1e-7)] (3D channels).
struct WeSpeakerPoolingConfig {
  std::string type = "TSTP";        // TSTP | TAP | TSDP | ASTP
  int64_t bottleneck_dim = 128;     // ASTP attention units
  bool global_context_att = false;  // ASTP

  template <class V>
  void Fields(V& v) {
    v("type", type, "WeSpeaker pooling_func: TSTP | TAP | TSDP | ASTP");
    v("bottleneck_dim", bottleneck_dim, "ASTP attention units");
    v("global_context_att", global_context_att,
      "ASTP: the attention also sees the utterance mean and std (ECAPA GLOB models)");
  }
  void Validate(const std::string& where) const;
};

// WeSpeaker's ResNet (models/resnet.py): post-activation residual blocks, head conv 3x3
// (1 -> m_channels), stages of m_channels x 1, 2, 4, 8 with strides 1, 2, 2, 2, pooling over
// [B, C * F/8, T/8], seg_1 (Linear) = the embedding; two_emb_layer adds ReLU -> BN (no affine) ->
// seg_2, whose output is then the embedding (what WeSpeaker's extraction returns: the last one).
struct WeSpeakerResNetConfig {
  std::string block = "basic";  // basic (ResNet18/34) | bottleneck (ResNet50/101/152/221/293)
  std::vector<int64_t> layers{3, 4, 6, 3};
  int64_t m_channels = 32;
  bool two_emb_layer = false;
  WeSpeakerPoolingConfig pooling;  // TSTP in the releases

  template <class V>
  void Fields(V& v) {
    v("block", block, "residual block: basic | bottleneck (expansion 4)");
    v("layers", layers, "blocks per stage (4 stages)");
    v("m_channels", m_channels, "channels of the first stage (the others: x2, x4, x8)");
    v("two_emb_layer", two_emb_layer, "seg_1 -> ReLU -> BN -> seg_2 (the embedding)");
    v("pooling", pooling);
  }
  void Validate() const;
};

// WeSpeaker's ECAPA-TDNN (models/ecapa_tdnn.py): layer1 conv k5 (+ReLU, BN), three SE-Res2Blocks
// (k3, dilations 2, 3, 4, scale 8, SE bottleneck 128), conv 1x1 (3 channels -> conv_out_channels)
// + ReLU, pooling, bn, linear = the embedding (emb_bn: then a BatchNorm bn2).
// conv_out_channels: 1536 in WeSpeaker's current code for both widths (3 x 512); code before it
// used 3 x channels (3072 for c1024). The release reader takes it from the state dict.
struct WeSpeakerEcapaConfig {
  int64_t channels = 512;
  int64_t conv_out_channels = 1536;
  bool emb_bn = false;
  WeSpeakerPoolingConfig pooling{"ASTP", 128, true};  // GLOB models: global context

  template <class V>
  void Fields(V& v) {
    v("channels", channels, "channels of the SE-Res2Blocks (512 or 1024)");
    v("conv_out_channels", conv_out_channels, "output channels of the 1x1 conv before pooling");
    v("emb_bn", emb_bn, "BatchNorm (bn2) after the embedding layer");
    v("pooling", pooling);
  }
  void Validate() const;
};

// CAM++ as WeSpeaker builds it (models/campplus.py): an FCM head (2-D ResNet: conv 3x3, two
// stages of 2 blocks striding frequency only, conv 3x3 stride (2, 1); m_channels channels),
// a TDNN layer (k5, stride 2), three CAM dense blocks (dense_layers layers of growth_rate
// channels, kernel 3, dilations 1, 2, 2) each followed by a transit layer halving the channels,
// BN + ReLU, pooling, and a dense layer (1x1 conv + BN without affine) = the embedding.
struct CamPlusConfig {
  int64_t m_channels = 32;
  int64_t init_channels = 128;
  int64_t growth_rate = 32;
  int64_t bn_size = 4;  // bottleneck of each dense layer = bn_size * growth_rate
  std::vector<int64_t> dense_layers{12, 24, 16};
  WeSpeakerPoolingConfig pooling;  // TSTP

  template <class V>
  void Fields(V& v) {
    v("m_channels", m_channels, "channels of the FCM head");
    v("init_channels", init_channels, "output channels of the first TDNN layer");
    v("growth_rate", growth_rate, "channels added by each CAM dense layer");
    v("bn_size", bn_size, "dense-layer bottleneck = bn_size * growth_rate");
    v("dense_layers", dense_layers, "layers of the 3 CAM dense blocks");
    v("pooling", pooling);
  }
  void Validate() const;
};

}  // namespace speakernet
