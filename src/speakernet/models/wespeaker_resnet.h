// WeSpeaker's ResNet speaker model (model.type wespeaker_resnet; models/resnet.py of WeSpeaker,
// config in wespeaker_config.h). Module names are WeSpeaker's, so a release's state dict loads
// by name: conv1, bn1, layer1..4.<i>.{conv1,bn1,conv2,bn2[,conv3,bn3],shortcut.0/1}, pool.*,
// seg_1, seg_bn_1, seg_2.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "speakernet/models/model_config.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/sync_batch_norm.h"
#include "speakernet/models/wespeaker_pooling.h"

namespace speakernet {

// A post-activation residual block: basic (two 3x3 convs) or bottleneck (1x1, 3x3, 1x1 with
// expansion 4); the stride is on the first 3x3 conv. All convs without bias, each followed by a
// BatchNorm; ReLU after each but the last, and after the addition of the shortcut (identity, or
// a 1x1 conv with the stride + BN when the stride or the channel count changes).
// stride_time false: the stride applies to frequency only (CAM++'s FCM head).
class WeSpeakerResBlockImpl : public torch::nn::Module {
 public:
  WeSpeakerResBlockImpl(bool bottleneck, int64_t in_planes, int64_t planes, int64_t stride,
                        bool stride_time = true);
  torch::Tensor forward(const torch::Tensor& x);
  static int64_t Expansion(bool bottleneck) { return bottleneck ? 4 : 1; }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};  // conv3: bottleneck
  SyncBatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential shortcut{nullptr};  // null for the identity
};
TORCH_MODULE(WeSpeakerResBlock);

class WeSpeakerResNetModel : public SpeakerModel {
 public:
  explicit WeSpeakerResNetModel(const ModelConfig& config);
  // feats [B, feat_dim, T] -> the embedding [B, emb_dim] (seg_1, or seg_2 with two_emb_layer).
  torch::Tensor forward(const torch::Tensor& feats) override;
  int64_t EmbeddingDim() const override { return emb_dim_; }

  torch::nn::Conv2d conv1{nullptr};
  SyncBatchNorm2d bn1{nullptr};
  std::vector<torch::nn::Sequential> layers;  // layer1..layer4
  std::shared_ptr<WeSpeakerPooling> pool;
  torch::nn::Linear seg_1{nullptr};
  SyncBatchNorm1d seg_bn_1{nullptr};  // two_emb_layer only (no affine)
  torch::nn::Linear seg_2{nullptr};   // two_emb_layer only

 private:
  int64_t emb_dim_;
};

}  // namespace speakernet
