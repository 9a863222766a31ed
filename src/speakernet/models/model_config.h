// Model configuration: the trunk (ResNet), the pooling and the embedding layer (fc2).
//
// Presets (speaker-net recipes, 80-dim fbank input):
//   resnet34-32: the defaults (BasicBlock [3,4,6,3], planes [32,64,128,256], MHA-16, emb 256);
//                6,636,448 parameters without the classifier.
//   resnet34-64: resnet.planes [64,128,256,512] (emb 512 through emb_dim 0);
//                26,523,456 parameters without the classifier.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace speakernet {

struct ResNetConfig {
  std::string block = "basic";  // basic (bottleneck: not yet supported)
  std::vector<int64_t> layers{3, 4, 6, 3};
  std::vector<int64_t> planes{32, 64, 128, 256};
  double bn_momentum = 0.5;  // PyTorch convention: running = (1 - m) * running + m * batch
  bool full_pre_activation = true;

  template <class V>
  void Fields(V& v) {
    v("block", block, "residual block: basic");
    v("layers", layers, "blocks per stage (4 stages, strides 1,2,2,2)");
    v("planes", planes, "channels per stage");
    v("bn_momentum", bn_momentum, "BatchNorm momentum of the trunk (PyTorch convention)");
    v("full_pre_activation", full_pre_activation, "BN-ReLU-conv residual blocks (must be true)");
  }
  void Validate() const;
};

struct PoolingConfig {
  std::string type = "multi_head";  // multi_head | statistics
  int64_t num_head = 16;            // multi_head only; must divide the pooling input dim

  template <class V>
  void Fields(V& v) {
    v("type", type, "multi_head | statistics");
    v("num_head", num_head, "attention heads of multi_head pooling");
  }
  void Validate() const;
};

struct ModelConfig {
  std::string type = "resnet";  // resnet
  int64_t feat_dim = 80;
  int64_t emb_dim = 0;  // 0 = the trunk's output channels (resnet.planes.back())
  ResNetConfig resnet;
  PoolingConfig pooling;
  double fc2_bn_momentum = 0.5;

  template <class V>
  void Fields(V& v) {
    v("type", type, "model family: resnet");
    v("feat_dim", feat_dim, "input feature dimension (80 fbank, 81 kaldi fbank)");
    v("emb_dim", emb_dim, "embedding dimension; 0 = last stage's channels");
    v("resnet", resnet);
    v("pooling", pooling);
    v("fc2_bn_momentum", fc2_bn_momentum, "momentum of the BatchNorm after fc2");
  }
  void Validate() const;

  // emb_dim with 0 resolved.
  int64_t EmbeddingDim() const;
};

}  // namespace speakernet
