// WeSpeaker's ECAPA-TDNN (model.type wespeaker_ecapa; models/ecapa_tdnn.py of WeSpeaker, config
// in wespeaker_config.h). Module names are WeSpeaker's: layer1.{conv,bn},
// layer2..4.se_res2block.{0.conv/bn, 1.convs.i/bns.i, 2.conv/bn, 3.linear1/linear2}, conv,
// pool.linear1/linear2, bn, linear[, bn2].
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "speakernet/models/model_config.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/sync_batch_norm.h"
#include "speakernet/models/wespeaker_pooling.h"

namespace speakernet {

// Conv1d (with bias) -> ReLU -> BatchNorm.
class EcapaConvReluBnImpl : public torch::nn::Module {
 public:
  EcapaConvReluBnImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv1d conv{nullptr};
  SyncBatchNorm1d bn{nullptr};
};
TORCH_MODULE(EcapaConvReluBn);

// Res2Net convolution: the channels are split into `scale` groups; group i > 0 of the first
// scale - 1 adds the previous group's output before its conv; each conv (k3, dilation, bias) is
// followed by ReLU -> BN; the last group passes through unchanged.
class EcapaRes2ConvImpl : public torch::nn::Module {
 public:
  EcapaRes2ConvImpl(int64_t channels, int64_t kernel, int64_t dilation, int64_t scale);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::ModuleList convs{nullptr}, bns{nullptr};

 private:
  int64_t width_;
};
TORCH_MODULE(EcapaRes2Conv);

// Squeeze-excitation: x * sigmoid(linear2(relu(linear1(mean_t x)))), bottleneck 128.
class EcapaSEConnectImpl : public torch::nn::Module {
 public:
  EcapaSEConnectImpl(int64_t channels, int64_t bottleneck);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
};
TORCH_MODULE(EcapaSEConnect);

// x + se_res2block(x), se_res2block = [1x1 ConvReluBn, Res2Conv, 1x1 ConvReluBn, SEConnect].
class EcapaSERes2BlockImpl : public torch::nn::Module {
 public:
  EcapaSERes2BlockImpl(int64_t channels, int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Sequential se_res2block{nullptr};
};
TORCH_MODULE(EcapaSERes2Block);

class WeSpeakerEcapaModel : public SpeakerModel {
 public:
  explicit WeSpeakerEcapaModel(const ModelConfig& config);
  // feats [B, feat_dim, T] -> the embedding [B, emb_dim] (linear, then bn2 with emb_bn).
  torch::Tensor forward(const torch::Tensor& feats) override;
  int64_t EmbeddingDim() const override { return emb_dim_; }

  EcapaConvReluBn layer1{nullptr};
  EcapaSERes2Block layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Conv1d conv{nullptr};
  std::shared_ptr<WeSpeakerPooling> pool;
  SyncBatchNorm1d bn{nullptr};
  torch::nn::Linear linear{nullptr};
  SyncBatchNorm1d bn2{nullptr};  // emb_bn only

 private:
  int64_t emb_dim_;
};

}  // namespace speakernet
