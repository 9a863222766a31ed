// speaker-net's RepVGG speaker model (spec §3.6): a plain 2-D conv trunk over (frequency, time)
// whose blocks are trained as three parallel branches and re-parameterised into one 3x3 conv for
// inference; then reshape [B, C, F', T'] -> [B, C*F', T'] (channel index c*F' + f), pooling
// (MHA-16 in the recipe) and fc2 (Linear + BN without affine).
//
// Module names match speaker-net's state dicts: repvgg.stage0.*, repvgg.stage<k>.<i>.*,
// stats.*, fc2.affine.*, fc2.batchnorm.*. A train-time block holds rbr_identity (a BN, only when
// in == out and stride == 1), rbr_dense.{conv,bn} and rbr_1x1.{conv,bn}, in that order; a
// deployed block holds only rbr_reparam.{weight,bias}.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "speakernet/models/conv1d_bn_layer.h"
#include "speakernet/models/model_config.h"
#include "speakernet/models/pooling.h"
#include "speakernet/models/speaker_model.h"

namespace speakernet {

// A conv (no bias) followed by a BN: children `conv` and `bn`.
class RepVggConvBnImpl : public torch::nn::Module {
 public:
  RepVggConvBnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                   int64_t groups, double bn_momentum);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv{nullptr};
  SyncBatchNorm2d bn{nullptr};
};
TORCH_MODULE(RepVggConvBn);

// Train time: ReLU(BN(conv3x3(x)) + BN(conv1x1(x)) + [BN(x) if in == out and stride == 1]),
// convs without bias, the 1x1 with padding 0 and the same stride and groups.
// Deployed: ReLU(rbr_reparam(x)), one 3x3 conv with bias (padding 1).
class RepVggBlock : public torch::nn::Module {
 public:
  RepVggBlock(int64_t in, int64_t out, int64_t stride, int64_t groups, double bn_momentum,
              bool deploy);
  torch::Tensor forward(const torch::Tensor& x);

  // Fuses the three branches into rbr_reparam (eval-mode function of the input: the BN running
  // statistics are folded in) and drops them. No-op when already deployed.
  void SwitchToDeploy();
  bool deployed() const { return !rbr_reparam.is_empty(); }

  // The equivalent 3x3 kernel [out, in/groups, 3, 3] and bias [out] of the train-time branches
  // (computed in float64, returned in the parameters' dtype).
  std::pair<torch::Tensor, torch::Tensor> FusedKernelAndBias() const;

  SyncBatchNorm2d rbr_identity{nullptr};  // null unless in == out and stride == 1
  RepVggConvBn rbr_dense{nullptr};
  RepVggConvBn rbr_1x1{nullptr};
  torch::nn::Conv2d rbr_reparam{nullptr};  // deployed only

 private:
  int64_t in_, out_, stride_, groups_;
};

// stage0: RepVggBlock(1 -> min(64, planes[0]), strides[0]); stage1..4: num_blocks[k] blocks of
// planes[k] channels, the first with strides[k + 1]. Input [B, 1, F, T] -> [B, planes[3], F', T'].
class RepVggTrunkImpl : public torch::nn::Module {
 public:
  explicit RepVggTrunkImpl(const RepVggConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  int64_t OutputChannels() const { return output_channels_; }
  // Frequency rows left after the trunk for `feat_dim` input rows (3x3 convs, padding 1).
  static int64_t OutputRows(const RepVggConfig& config, int64_t feat_dim);
  // Every block, stage0 first.
  const std::vector<std::shared_ptr<RepVggBlock>>& Blocks() const { return blocks_; }

  std::shared_ptr<RepVggBlock> stage0;
  std::vector<torch::nn::ModuleList> stages;  // registered as stage1..stage4

 private:
  std::vector<std::shared_ptr<RepVggBlock>> blocks_;
  int64_t output_channels_ = 0;
};
TORCH_MODULE(RepVggTrunk);

class RepVggSpeakerModel : public SpeakerModel {
 public:
  explicit RepVggSpeakerModel(const ModelConfig& config);

  torch::Tensor forward(const torch::Tensor& feats) override;
  int64_t EmbeddingDim() const override { return emb_dim_; }

  // The trunk's output [B, C, F', T'] for feats [B, feat_dim, T] (for tests and analysis).
  torch::Tensor ForwardTrunk(const torch::Tensor& feats);
  int64_t PoolingInputDim() const { return pooling_input_dim_; }
  // True when every block is deployed.
  bool Deployed() const;

  RepVggTrunk repvgg{nullptr};
  std::shared_ptr<Pooling> stats;
  Conv1dBnReluLayer fc2{nullptr};

 private:
  int64_t feat_dim_;
  int64_t pooling_input_dim_;
  int64_t emb_dim_;
};

// Re-parameterises every RepVGG block of `model` for inference (speaker-net's switch_to_deploy):
// afterwards the model computes the train-time graph's eval-mode function with one 3x3 conv per
// block, and its state dict is the deploy graph's (rbr_reparam.weight/bias). The new parameters
// stay on the model's device and dtype. Throws for a model that is not RepVGG; a no-op for an
// already deployed one. A config describing the result has repvgg.deploy = true.
void SwitchToDeploy(SpeakerModel& model);

}  // namespace speakernet
