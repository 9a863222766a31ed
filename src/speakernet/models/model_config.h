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

struct PoolingConfig {
  std::string type = "multi_head";  // multi_head | statistics | channel_context
  int64_t num_head = 16;            // multi_head only; must divide the pooling input dim
  int64_t hidden_size = 128;        // channel_context only: attention hidden units

  template <class V>
  void Fields(V& v) {
    v("type", type, "multi_head | statistics | channel_context");
    v("num_head", num_head, "attention heads of multi_head pooling");
    v("hidden_size", hidden_size, "hidden units of channel_context attention");
  }
  void Validate() const;
};

struct ModelConfig {
  std::string type = "resnet";  // resnet | ecapa | xvector
  int64_t feat_dim = 80;
  // 0 = resnet: the last stage's channels (resnet.planes.back()); ecapa: 192, the default
  // emb_dim of speaker-net's ECAPA Encoder (its recipes set 256 for c512 and 512 for c1024);
  // xvector: 512 (tdnn7's width).
  int64_t emb_dim = 0;
  ResNetConfig resnet;
  EcapaConfig ecapa;
  PoolingConfig pooling;
  double fc2_bn_momentum = 0.5;  // resnet only; ECAPA uses ecapa.bn_momentum

  template <class V>
  void Fields(V& v) {
    v("type", type, "model family: resnet | ecapa | xvector");
    v("feat_dim", feat_dim, "input feature dimension (80 fbank, 81 kaldi fbank)");
    v("emb_dim", emb_dim,
      "embedding dimension; 0 = last stage's planes (resnet), 192 (ecapa), 512 (xvector)");
    v("resnet", resnet);
    v("ecapa", ecapa);
    v("pooling", pooling);
    v("fc2_bn_momentum", fc2_bn_momentum, "momentum of the BatchNorm after fc2 (resnet)");
  }
  void Validate() const;

  // emb_dim with 0 resolved.
  int64_t EmbeddingDim() const;

  static constexpr int64_t kEcapaDefaultEmbDim = 192;
  static constexpr int64_t kXVectorDefaultEmbDim = 512;
};

}  // namespace speakernet
