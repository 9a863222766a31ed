// speaker-net's x-vector TDNN (spec §3.7; models/xvector.py, which has no recipe config):
//   tdnn1: Conv1d(feat_dim -> 512, context [-2..2])   tdnn2: (512 -> 512, [-2, 0, 2])
//   tdnn3: (512 -> 512, [-3, 0, 3])                   tdnn4: (512 -> 512, [0])
//   tdnn5: (512 -> 1500, [0])
//   stats: StatisticsPooling(1500) -> 3000
//   tdnn6: (3000 -> 512, [0])                         tdnn7: (512 -> emb_dim (512), [0])
// Every layer is Conv1d (bias) -> ReLU -> BN (momentum 0.1, affine), speaker-net's relu-bn order;
// the padding keeps the frame count. Module names: tdnn1..tdnn7 with .affine / .batchnorm.
//
// The embedding (forward()) is tdnn7's affine output, before its ReLU and BN: speaker-net's
// "near" x-vector embedding ("far" would be tdnn6.affine). speaker-net's softmax loss instead
// sees tdnn7's full output (ReLU -> BN), available as ForwardClassifierInput(); tdnn7's BN only
// matters there. With 80-dim input: 4,619,668 parameters (the spec's count).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "speakernet/models/conv1d_bn_layer.h"
#include "speakernet/models/model_config.h"
#include "speakernet/models/pooling.h"
#include "speakernet/models/speaker_model.h"

namespace speakernet {

class XVectorSpeakerModel : public SpeakerModel {
 public:
  static constexpr int64_t kFrameDim = 512;    // tdnn1..tdnn4 and tdnn6 width
  static constexpr int64_t kStatsInput = 1500;  // tdnn5 width
  static constexpr double kBnMomentum = 0.1;

  explicit XVectorSpeakerModel(const ModelConfig& config);

  // feats [B, feat_dim, T] -> tdnn7.affine output [B, emb_dim] ("near" embedding).
  torch::Tensor forward(const torch::Tensor& feats) override;
  // feats [B, feat_dim, T] -> tdnn7's output after ReLU -> BN [B, emb_dim] (speaker-net's loss
  // input).
  torch::Tensor ForwardClassifierInput(const torch::Tensor& feats) override;
  // tdnn5's output [B, 1500, T] (for tests and analysis).
  torch::Tensor ForwardFrames(const torch::Tensor& feats);
  int64_t EmbeddingDim() const override { return emb_dim_; }

  Conv1dBnReluLayer tdnn1{nullptr};
  Conv1dBnReluLayer tdnn2{nullptr};
  Conv1dBnReluLayer tdnn3{nullptr};
  Conv1dBnReluLayer tdnn4{nullptr};
  Conv1dBnReluLayer tdnn5{nullptr};
  std::shared_ptr<Pooling> stats;  // statistics in speaker-net; any pooling.type
  Conv1dBnReluLayer tdnn6{nullptr};
  Conv1dBnReluLayer tdnn7{nullptr};

 private:
  // tdnn6's output [B, 512, 1].
  torch::Tensor ForwardSegment(const torch::Tensor& feats);

  int64_t feat_dim_;
  int64_t emb_dim_;
};

}  // namespace speakernet
