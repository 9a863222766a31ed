// speaker-net's ResNet speaker model: 2-D residual trunk over (frequency, time), then
// reshape [B, C, F', T'] -> [B, C*F', T'] (channel index c*F' + f), pooling, and fc2.
// Module names match speaker-net's state dicts: resnet.*, stats.*, fc2.affine.*, fc2.batchnorm.*.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "speakernet/models/conv1d_bn_layer.h"
#include "speakernet/models/model_config.h"
#include "speakernet/models/pooling.h"
#include "speakernet/models/speaker_model.h"

namespace speakernet {

// A residual block of the trunk. Blocks of different kinds live in one stage list, so the
// trunk calls them through this interface.
class ResidualBlock : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// Squeeze-excitation over (frequency, time) for SE-ResNet (spec §3.7):
//   x * sigmoid(fc_2(relu(fc_1(mean_{f,t} x)))),
// fc_1: Linear(C, C / ratio, bias), fc_2: Linear(C / ratio, C, bias) (C / ratio rounded down,
// as Python's //). speaker-net publishes no SE-ResNet state dict; the names fc_1/fc_2 follow the
// SEBlock of asv-subtools, which speaker-net's modules derive from (unverified).
class SEBlock2dImpl : public torch::nn::Module {
 public:
  SEBlock2dImpl(int64_t channels, int64_t ratio);
  // x: [B, C, F, T] -> [B, C, F, T].
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear fc_1{nullptr};
  torch::nn::Linear fc_2{nullptr};
};
TORCH_MODULE(SEBlock2d);

// Full pre-activation BasicBlock:
//   out = se(conv2(relu(bn2(conv1(relu(bn1(x))))))) + shortcut(x),
// 3x3 convs without bias, stride on conv1; shortcut = identity, or a 1x1 conv (stride s, no
// bias) + BN on the raw x when the stride or the channel count changes (`downsample.0/1`).
// se (SEBlock2d(planes, se_ratio), registered last) only when se_ratio > 0.
class PreActBasicBlock : public ResidualBlock {
 public:
  static constexpr int64_t kExpansion = 1;
  PreActBasicBlock(int64_t in_planes, int64_t planes, int64_t stride, double bn_momentum,
                   int64_t se_ratio = 0);
  torch::Tensor forward(const torch::Tensor& x) override;

  torch::nn::Sequential downsample{nullptr};  // null for the identity shortcut
  SyncBatchNorm2d bn1{nullptr};
  torch::nn::Conv2d conv1{nullptr};
  SyncBatchNorm2d bn2{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  SEBlock2d se{nullptr};  // null unless se_ratio > 0
};

// Full pre-activation Bottleneck (expansion 4, spec §3.4):
//   out = se(conv3(relu(bn3(conv2(relu(bn2(conv1(relu(bn1(x)))))))))) + shortcut(x),
// conv1 1x1 (in -> planes), conv2 3x3 (planes -> planes, the stride), conv3 1x1
// (planes -> 4 planes), all without bias; shortcut = identity, or a 1x1 conv (stride s, no bias)
// + BN on the raw x when the stride or the channel count changes (`downsample.0/1`).
// se (SEBlock2d(4 planes, se_ratio), registered last) only when se_ratio > 0: speaker-net builds
// it with `planes` channels, a bug (the product would not broadcast); 4 planes is the intent.
class PreActBottleneck : public ResidualBlock {
 public:
  static constexpr int64_t kExpansion = 4;
  PreActBottleneck(int64_t in_planes, int64_t planes, int64_t stride, double bn_momentum,
                   int64_t se_ratio = 0);
  torch::Tensor forward(const torch::Tensor& x) override;

  torch::nn::Sequential downsample{nullptr};  // null for the identity shortcut
  SyncBatchNorm2d bn1{nullptr};
  torch::nn::Conv2d conv1{nullptr};
  SyncBatchNorm2d bn2{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  SyncBatchNorm2d bn3{nullptr};
  torch::nn::Conv2d conv3{nullptr};
  SEBlock2d se{nullptr};  // null unless se_ratio > 0
};

// Head conv 3x3 (1 -> planes[0], no bias) -> BN -> ReLU, then 4 stages with strides 1, 2, 2, 2.
// No BN/ReLU after the last block. Input [B, 1, F, T] -> [B, OutputChannels(), F', T'] with
// F' = ceil(F / 8), T' = ceil(T / 8); OutputChannels() = planes[3] * expansion (4 for
// bottleneck blocks: 2048 for ResNet101's planes [64,128,256,512]).
class ResNetTrunkImpl : public torch::nn::Module {
 public:
  explicit ResNetTrunkImpl(const ResNetConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  int64_t OutputChannels() const { return output_channels_; }
  // The frequency rows left after the trunk for `feat_dim` input rows.
  static int64_t OutputRows(int64_t feat_dim);

  torch::nn::Conv2d conv1{nullptr};
  SyncBatchNorm2d bn1{nullptr};
  std::vector<torch::nn::ModuleList> layers;  // registered as layer1..layer4

 private:
  std::vector<std::vector<std::shared_ptr<ResidualBlock>>> blocks_;
  int64_t output_channels_ = 0;
};
TORCH_MODULE(ResNetTrunk);

class ResNetSpeakerModel : public SpeakerModel {
 public:
  explicit ResNetSpeakerModel(const ModelConfig& config);

  torch::Tensor forward(const torch::Tensor& feats) override;
  int64_t EmbeddingDim() const override { return emb_dim_; }

  // The trunk's output [B, C, F', T'] for feats [B, feat_dim, T] (for tests and analysis).
  torch::Tensor ForwardTrunk(const torch::Tensor& feats);
  int64_t PoolingInputDim() const { return pooling_input_dim_; }

  ResNetTrunk resnet{nullptr};
  std::shared_ptr<Pooling> stats;
  Conv1dBnReluLayer fc2{nullptr};

 private:
  int64_t feat_dim_;
  int64_t pooling_input_dim_;
  int64_t emb_dim_;
};

}  // namespace speakernet
