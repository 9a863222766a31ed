// CAM++ as WeSpeaker builds it (model.type campplus; models/campplus.py of WeSpeaker, config in
// wespeaker_config.h). Module names are WeSpeaker's:
//   head.{conv1,bn1,layer1.i,layer2.i,conv2,bn2}           FCM: a 2-D ResNet (wespeaker_resnet.h
//                                                           blocks, frequency-only strides)
//   xvector.tdnn.{linear, nonlinear.batchnorm}              TDNN k5 stride 2
//   xvector.block{1,2,3}.tdnnd{j}.{nonlinear1.batchnorm, linear1, nonlinear2.batchnorm,
//                                  cam_layer.{linear_local, linear1, linear2}}
//   xvector.transit{1,2,3}.{nonlinear.batchnorm, linear}
//   xvector.out_nonlinear.batchnorm, xvector.dense.{linear, nonlinear.batchnorm (no affine)}
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "speakernet/models/model_config.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/sync_batch_norm.h"
#include "speakernet/models/wespeaker_pooling.h"
#include "speakernet/models/wespeaker_resnet.h"

namespace speakernet {

// BatchNorm (child `batchnorm`), then ReLU unless relu is false.
class CamBnReluImpl : public torch::nn::Module {
 public:
  CamBnReluImpl(int64_t channels, bool relu = true, bool affine = true);
  torch::Tensor forward(const torch::Tensor& x);
  bool relu() const { return relu_; }

  SyncBatchNorm1d batchnorm{nullptr};

 private:
  bool relu_;
};
TORCH_MODULE(CamBnRelu);

// The FCM head: [B, F, T] -> [B, m_channels * F/8, T].
class CamFcmImpl : public torch::nn::Module {
 public:
  CamFcmImpl(int64_t m_channels, int64_t num_blocks);
  torch::Tensor forward(const torch::Tensor& feats);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  SyncBatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr};
};
TORCH_MODULE(CamFcm);

// Context-aware masking: linear_local(x) * sigmoid(linear2(relu(linear1(mean_t x + seg(x))))),
// seg(x) = the mean of each 100-frame segment (the last one partial), repeated over its frames.
class CamLayerImpl : public torch::nn::Module {
 public:
  CamLayerImpl(int64_t bn_channels, int64_t out_channels, int64_t kernel, int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv1d linear_local{nullptr}, linear1{nullptr}, linear2{nullptr};
};
TORCH_MODULE(CamLayer);

// One dense layer: cam_layer(nonlinear2(linear1(nonlinear1(x)))), growth_rate output channels.
class CamDenseLayerImpl : public torch::nn::Module {
 public:
  CamDenseLayerImpl(int64_t in_channels, int64_t out_channels, int64_t bn_channels, int64_t kernel,
                    int64_t dilation);
  torch::Tensor forward(const torch::Tensor& x);

  CamBnRelu nonlinear1{nullptr}, nonlinear2{nullptr};
  torch::nn::Conv1d linear1{nullptr};
  CamLayer cam_layer{nullptr};
};
TORCH_MODULE(CamDenseLayer);

// Dense block: x = cat(x, tdnnd_j(x)) for j = 1..num_layers.
class CamDenseBlockImpl : public torch::nn::Module {
 public:
  CamDenseBlockImpl(int64_t num_layers, int64_t in_channels, int64_t growth_rate,
                    int64_t bn_channels, int64_t kernel, int64_t dilation);
  torch::Tensor forward(torch::Tensor x);

  std::vector<CamDenseLayer> tdnnd;  // registered as tdnnd1, tdnnd2, ...
};
TORCH_MODULE(CamDenseBlock);

// A 1x1 conv (no bias) and BN: transit layers apply BN + ReLU first (`nonlinear` then `linear`),
// the tdnn and dense layers after (`linear` then `nonlinear`).
class CamTdnnImpl : public torch::nn::Module {
 public:
  CamTdnnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool bn_first,
              bool relu = true, bool affine = true);
  torch::Tensor forward(const torch::Tensor& x);
  bool bn_first() const { return bn_first_; }

  torch::nn::Conv1d linear{nullptr};
  CamBnRelu nonlinear{nullptr};

 private:
  bool bn_first_;
};
TORCH_MODULE(CamTdnn);

// The TDNN part after the head (WeSpeaker's `xvector` Sequential).
class CamXVectorImpl : public torch::nn::Module {
 public:
  CamXVectorImpl(const CamPlusConfig& config, int64_t in_channels, int64_t emb_dim);
  torch::Tensor forward(const torch::Tensor& x);

  CamTdnn tdnn{nullptr};
  std::vector<CamDenseBlock> blocks;  // block1..3
  std::vector<CamTdnn> transits;      // transit1..3
  CamBnRelu out_nonlinear{nullptr};
  std::shared_ptr<WeSpeakerPooling> stats;  // no parameters (TSTP)
  CamTdnn dense{nullptr};
};
TORCH_MODULE(CamXVector);

class CamPlusModel : public SpeakerModel {
 public:
  explicit CamPlusModel(const ModelConfig& config);
  // feats [B, feat_dim, T] -> the embedding [B, emb_dim] (dense: conv + BN without affine).
  torch::Tensor forward(const torch::Tensor& feats) override;
  int64_t EmbeddingDim() const override { return emb_dim_; }

  CamFcm head{nullptr};
  CamXVector xvector{nullptr};

 private:
  int64_t emb_dim_;
};

}  // namespace speakernet
