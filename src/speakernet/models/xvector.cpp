#include "speakernet/models/xvector.h"

#include <utility>

#include <vector>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {

Conv1dBnReluOptions Tdnn(std::vector<int64_t> context) {
  Conv1dBnReluOptions options;
  options.context = std::move(context);
  options.bn_momentum = XVectorSpeakerModel::kBnMomentum;
  return options;
}

}  // namespace

XVectorSpeakerModel::XVectorSpeakerModel(const ModelConfig& config)
    : feat_dim_(config.feat_dim), emb_dim_(config.EmbeddingDim()) {
  config.Validate();
  tdnn1 = register_module("tdnn1",
                          Conv1dBnReluLayer(feat_dim_, kFrameDim, Tdnn({-2, -1, 0, 1, 2})));
  tdnn2 = register_module("tdnn2", Conv1dBnReluLayer(kFrameDim, kFrameDim, Tdnn({-2, 0, 2})));
  tdnn3 = register_module("tdnn3", Conv1dBnReluLayer(kFrameDim, kFrameDim, Tdnn({-3, 0, 3})));
  tdnn4 = register_module("tdnn4", Conv1dBnReluLayer(kFrameDim, kFrameDim, Tdnn({0})));
  tdnn5 = register_module("tdnn5", Conv1dBnReluLayer(kFrameDim, kStatsInput, Tdnn({0})));
  stats = register_module("stats", CreatePooling(config.pooling, kStatsInput));
  tdnn6 = register_module("tdnn6", Conv1dBnReluLayer(stats->OutputDim(), kFrameDim, Tdnn({0})));
  tdnn7 = register_module("tdnn7", Conv1dBnReluLayer(kFrameDim, emb_dim_, Tdnn({0})));
}

torch::Tensor XVectorSpeakerModel::ForwardFrames(const torch::Tensor& feats) {
  SN_CHECK(feats.dim() == 3 && feats.size(1) == feat_dim_,
           "x-vector model: expected features [B, {}, frames], got {}", feat_dim_,
           c10::str(feats.sizes()));
  auto x = tdnn1->forward(feats);
  x = tdnn2->forward(x);
  x = tdnn3->forward(x);
  x = tdnn4->forward(x);
  return tdnn5->forward(x);
}

torch::Tensor XVectorSpeakerModel::ForwardSegment(const torch::Tensor& feats) {
  return tdnn6->forward(stats->forward(ForwardFrames(feats)));
}

torch::Tensor XVectorSpeakerModel::forward(const torch::Tensor& feats) {
  return tdnn7->affine->forward(ForwardSegment(feats)).squeeze(2);
}

torch::Tensor XVectorSpeakerModel::ForwardClassifierInput(const torch::Tensor& feats) {
  return tdnn7->forward(ForwardSegment(feats)).squeeze(2);
}

}  // namespace speakernet
