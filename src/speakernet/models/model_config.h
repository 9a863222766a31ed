// Model configuration: the trunk (ResNet or ECAPA-TDNN), the pooling and the embedding layer (fc2).
//
// Presets (speaker-net recipes, 80-dim fbank input):
//   resnet34-32: the defaults (BasicBlock [3,4,6,3], planes [32,64,128,256], MHA-16, emb 256);
//                6,636,448 parameters without the classifier.
//   resnet34-64: resnet.planes [64,128,256,512] (emb 512 through emb_dim 0);
//                26,523,456 parameters without the classifier.
//   ecapa-tdnn-c512:  type ecapa, pooling.type channel_context, emb_dim 256 (the yaml);
//                     6,387,392 parameters (6,190,720 with emb_dim 0 = 192, the README's 6.2M).
//   ecapa-tdnn-c1024: as c512 with ecapa.channels 1024, emb_dim 512; 23,514,368 parameters.
//   repvgg-B1: type repvgg (repvgg.name RepVGG-B1-custom), MHA-16, emb 512; 27,291,904
//              parameters at train time, 25,053,248 deployed (re-parameterised).
//   ResNet depths (resnet.block, resnet.layers): ResNet18 basic [2,2,2,2]; ResNet34 basic
//     [3,4,6,3]; ResNet50 bottleneck [3,4,6,3]; ResNet101 bottleneck [3,4,23,3]; ResNet152
//     bottleneck [3,8,36,3]. Bottleneck stages output 4 * planes channels.
//   resnet101 (speaker-net's resnet101.yaml): feat_dim 81 (kaldi fbank with energy), block
//     bottleneck, layers [3,4,23,3], planes [64,128,256,512] (trunk output 2048 x 11 rows),
//     MHA-16, emb 512; 65,579,072 parameters without the classifier.
//   SE-ResNet (spec §3.7): any ResNet with resnet.se_ratio 16; SE-ResNet34-c32 has 6,677,750.
//   xvector: type xvector, pooling.type statistics (spec §3.7, 80-dim input): 4,619,668.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "speakernet/models/wespeaker_config.h"

namespace speakernet {

struct ResNetConfig {
  std::string block = "basic";  // basic | bottleneck (full pre-activation, expansion 4)
  std::vector<int64_t> layers{3, 4, 6, 3};
  std::vector<int64_t> planes{32, 64, 128, 256};
  double bn_momentum = 0.5;  // PyTorch convention: running = (1 - m) * running + m * batch
  bool full_pre_activation = true;
  // SE-ResNet: 0 = no SE; r > 0 adds an SE block (bottleneck C / r, C = the block's output
  // channels) on each residual branch before the addition. speaker-net's SE-ResNet uses 16.
  int64_t se_ratio = 0;

  template <class V>
  void Fields(V& v) {
    v("block", block, "residual block: basic | bottleneck");
    v("layers", layers, "blocks per stage (4 stages, strides 1,2,2,2)");
    v("planes", planes, "channels per stage");
    v("bn_momentum", bn_momentum, "BatchNorm momentum of the trunk (PyTorch convention)");
    v("full_pre_activation", full_pre_activation, "BN-ReLU-conv residual blocks (must be true)");
    v("se_ratio", se_ratio, "SE reduction of each block (0 = no SE; 16 = SE-ResNet)");
  }
  void Validate() const;
};

// speaker-net's ECAPA-TDNN trunk (spec §3.5): conv k5 -> 3 SE-Res2Blocks (dilations 2, 3, 4)
// -> cat -> 1x1 conv + ReLU (no BN). Needs pooling.type channel_context.
struct EcapaConfig {
  int64_t channels = 512;  // C: 512 or 1024 in the recipes
  int64_t scale = 8;       // Res2 splits; must divide channels
  std::vector<int64_t> dilations{2, 3, 4};
  int64_t se_reduction = 4;  // SE bottleneck = channels / se_reduction
  // Every BatchNorm of the ECAPA model: TDNN layers, bn_pool and fc2 (model.fc2_bn_momentum is
  // the ResNet's and is not used by ECAPA).
  double bn_momentum = 0.1;

  template <class V>
  void Fields(V& v) {
    v("channels", channels, "trunk channels C (512 or 1024)");
    v("scale", scale, "Res2 splits (must divide channels)");
    v("dilations", dilations, "dilation of each SE-Res2Block (one block per entry)");
    v("se_reduction", se_reduction, "SE bottleneck = channels / se_reduction");
    v("bn_momentum", bn_momentum, "BatchNorm momentum of every ECAPA BN (PyTorch convention)");
  }
  void Validate() const;
};

// speaker-net's RepVGG trunk (spec §3.6). `name` picks a preset: RepVGG-B1-custom (the recipe's:
// num_blocks [3,4,23,3], planes [64,128,256,512]) or one of the RepVGG paper's A0, A1, A2, B0,
// B1, B1g2, B1g4, B2, B2g2, B2g4, B3, B3g2, B3g4 (as "RepVGG-A0" etc.; planes = the width
// multipliers times [64,128,256,512]; gN = N groups in the 3x3 and 1x1 convs of the blocks with
// layer index 2, 4, ..., 26, counting stage0 as layer 0, i.e. the 3rd, 5th, ... layers).
// num_blocks / planes left empty take the preset's values; set, they override them. stage0 is
// 1 -> min(64, planes[0]). strides are those of stage0..stage4 (the first block of a stage).
struct RepVggConfig {
  std::string name = "RepVGG-B1-custom";
  std::vector<int64_t> num_blocks;  // empty = the preset's (4 stages)
  std::vector<int64_t> planes;      // empty = the preset's (4 stages)
  std::vector<int64_t> strides{1, 1, 2, 2, 2};
  // Every BatchNorm of the RepVGG model: the trunk and fc2 (model.fc2_bn_momentum is the
  // ResNet's and is not used by RepVGG).
  double bn_momentum = 0.1;
  // Build the re-parameterised inference graph (rbr_reparam convs with bias) directly.
  bool deploy = false;

  template <class V>
  void Fields(V& v) {
    v("name", name, "preset: RepVGG-B1-custom, RepVGG-A0..A2, RepVGG-B0..B3 (g2/g4 variants)");
    v("num_blocks", num_blocks, "blocks per stage (4 stages); empty = the preset's");
    v("planes", planes, "channels per stage (4 stages); empty = the preset's");
    v("strides", strides, "stride of stage0..stage4 (5 entries)");
    v("bn_momentum", bn_momentum, "BatchNorm momentum of every RepVGG BN (PyTorch convention)");
    v("deploy", deploy, "build the re-parameterised (single 3x3 conv per block) graph");
  }
  void Validate() const;

  // num_blocks / planes with the preset's values filled in.
  std::vector<int64_t> ResolvedNumBlocks() const;
  std::vector<int64_t> ResolvedPlanes() const;
  // Groups of the convs of the block with this layer index (stage0 = 0, then 1, 2, ...).
  int64_t GroupsOfLayer(int64_t layer_index) const;
  static std::vector<std::string> PresetNames();
};

struct PoolingConfig {
  // multi_head | statistics | channel_context | attentive | multi_resolution (spec §3.2; see
  // pooling.h). Any trunk takes any pooling; the recipes use multi_head (ResNet, RepVGG),
  // channel_context (ECAPA) and statistics (x-vector).
  std::string type = "multi_head";
  int64_t num_head = 16;  // multi_head (must divide the input dim), multi_resolution
  // Attention hidden units: channel_context (speaker-net's ECAPA: 128), attentive (speaker-net's
  // default 64) and multi_resolution (per head; speaker-net's default 64).
  int64_t hidden_size = 128;

  template <class V>
  void Fields(V& v) {
    v("type", type, "multi_head | statistics | channel_context | attentive | multi_resolution");
    v("num_head", num_head, "attention heads of multi_head / multi_resolution pooling");
    v("hidden_size", hidden_size,
      "attention hidden units (channel_context, attentive; per head for multi_resolution)");
  }
  void Validate() const;
};

struct ModelConfig {
  // resnet | ecapa | repvgg | xvector, or WeSpeaker's wespeaker_resnet | wespeaker_ecapa |
  // campplus (models/wespeaker_config.h; pooling and embedding layer are their own)
  std::string type = "resnet";
  int64_t feat_dim = 80;
  // 0 = resnet: the last stage's channels (resnet.planes.back()); ecapa: 192, the default
  // emb_dim of speaker-net's ECAPA Encoder (its recipes set 256 for c512 and 512 for c1024);
  // xvector: 512 (tdnn7's width); repvgg: 512 (the recipe's; speaker-net requires it set).
  int64_t emb_dim = 0;
  ResNetConfig resnet;
  EcapaConfig ecapa;
  RepVggConfig repvgg;  // type repvgg
  PoolingConfig pooling;
  WeSpeakerResNetConfig wespeaker_resnet;  // type wespeaker_resnet
  WeSpeakerEcapaConfig wespeaker_ecapa;    // type wespeaker_ecapa
  CamPlusConfig campplus;                  // type campplus
  double fc2_bn_momentum = 0.5;            // resnet only; ECAPA uses ecapa.bn_momentum

  template <class V>
  void Fields(V& v) {
    v("type", type,
      "model family: resnet | ecapa | repvgg | xvector | wespeaker_resnet | wespeaker_ecapa | "
      "campplus");
    v("feat_dim", feat_dim, "input feature dimension (80 fbank, 81 kaldi fbank)");
    v("emb_dim", emb_dim,
      "embedding dimension; 0 = last stage's planes (resnet), 192 (ecapa, wespeaker_ecapa), 512 "
      "(xvector, repvgg, campplus), 256 (wespeaker_resnet)");
    v("resnet", resnet);
    v("ecapa", ecapa);
    v("repvgg", repvgg);
    v("pooling", pooling);
    v("wespeaker_resnet", wespeaker_resnet);
    v("wespeaker_ecapa", wespeaker_ecapa);
    v("campplus", campplus);
    v("fc2_bn_momentum", fc2_bn_momentum, "momentum of the BatchNorm after fc2 (resnet)");
  }
  void Validate() const;

  // emb_dim with 0 resolved.
  int64_t EmbeddingDim() const;

  static constexpr int64_t kEcapaDefaultEmbDim = 192;
  static constexpr int64_t kRepVggDefaultEmbDim = 512;
  static constexpr int64_t kXVectorDefaultEmbDim = 512;
  // WeSpeaker releases: ResNet34 256, ECAPA-TDNN 192, CAM++ 512.
  static constexpr int64_t kWeSpeakerResNetDefaultEmbDim = 256;
  static constexpr int64_t kWeSpeakerEcapaDefaultEmbDim = 192;
  static constexpr int64_t kCamPlusDefaultEmbDim = 512;
};

}  // namespace speakernet
