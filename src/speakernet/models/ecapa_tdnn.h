// speaker-net's ECAPA-TDNN speaker model (spec §3.5):
//   layer1: Conv1d(feat_dim, C, k=5) -> ReLU -> BN
//   layer2..4: SE-Res2Blocks with dilations 2, 3, 4 (each fed only the previous block's output)
//   layer5: Conv1d(3C, 3C, k=1) -> ReLU on cat[layer2, layer3, layer4] (no BN)
//   pooling: ChannelContextStatisticsPooling(3C) -> 6C; bn_pool: BatchNorm1d(6C)
//   fc2: Conv1d(6C, emb, k=1) -> BN(emb, affine false)
// Every BN uses ecapa.bn_momentum (0.1). Module names match speaker-net's state dicts:
// layer1.*, layer2.se_res2block.{0,1,2,3}.*, layer5.affine.*, pooling.attention.*, bn_pool.*,
// fc2.*. With n = ecapa.dilations.size() blocks they are layer2..layer{n+1} and the
// aggregation layer is layer{n+2} (layer5 for speaker-net's 3 blocks).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "speakernet/models/conv1d_bn_layer.h"
#include "speakernet/models/model_config.h"
#include "speakernet/models/pooling.h"
#include "speakernet/models/speaker_model.h"

namespace speakernet {

// Res2Net-style multi-scale conv: x [B, C, T] is split into `scale` chunks s0..s{scale-1} of
// C/scale channels; y0 = conv0(s0), y_i = conv_i(y_{i-1} + s_i) for i = 1..scale-2, and the output
// is cat[y0..y{scale-2}, s{scale-1}]: the untouched split is the LAST one. Each conv_i is
// Conv1d(w, w, k=3, dilation d, padding d, bias) -> ReLU -> BN, registered as blocks.<i>.
class Res2Conv1dImpl : public torch::nn::Module {
 public:
  Res2Conv1dImpl(int64_t channels, int64_t scale, int64_t dilation, double bn_momentum);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::ModuleList blocks{nullptr};

 private:
  int64_t scale_;
  std::vector<Conv1dBnReluLayer> convs_;
};
TORCH_MODULE(Res2Conv1d);

// Squeeze-excitation over time: x * sigmoid(linear2(relu(linear1(mean_t x)))), Linears with bias,
// linear1: C -> bottleneck, linear2: bottleneck -> C.
class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t channels, int64_t bottleneck);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear linear1{nullptr};
  torch::nn::Linear linear2{nullptr};
};
TORCH_MODULE(SqueezeExcitation);

// x + SE(T2(Res2(T1(x)))), T1/T2 = Conv1d(C, C, k=1) -> ReLU -> BN. The four parts are the
// children 0..3 of the list `se_res2block`.
class SERes2BlockImpl : public torch::nn::Module {
 public:
  SERes2BlockImpl(int64_t channels, int64_t scale, int64_t dilation, int64_t se_bottleneck,
                  double bn_momentum);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::ModuleList se_res2block{nullptr};
  Conv1dBnReluLayer t1{nullptr};
  Res2Conv1d res2{nullptr};
  Conv1dBnReluLayer t2{nullptr};
  SqueezeExcitation se{nullptr};
};
TORCH_MODULE(SERes2Block);

class EcapaTdnnSpeakerModel : public SpeakerModel {
 public:
  explicit EcapaTdnnSpeakerModel(const ModelConfig& config);

  torch::Tensor forward(const torch::Tensor& feats) override;
  int64_t EmbeddingDim() const override { return emb_dim_; }

  // layer5's output [B, 3C, T] for feats [B, feat_dim, T] (for tests and analysis).
  torch::Tensor ForwardTrunk(const torch::Tensor& feats);
  int64_t PoolingInputDim() const { return pooling_input_dim_; }

  Conv1dBnReluLayer layer1{nullptr};
  std::vector<SERes2Block> blocks;         // registered as layer2..layer{n+1}
  Conv1dBnReluLayer aggregation{nullptr};  // registered as layer{n+2} (layer5)
  std::shared_ptr<Pooling> pooling;
  SyncBatchNorm1d bn_pool{nullptr};
  Conv1dBnReluLayer fc2{nullptr};

 private:
  int64_t feat_dim_;
  int64_t pooling_input_dim_;
  int64_t emb_dim_;
};

}  // namespace speakernet
