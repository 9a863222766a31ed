#include "speakernet/models/ecapa_tdnn.h"

#include <string>
#include <utility>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {

// Conv1d (bias) -> ReLU -> BN(momentum, affine): speaker-net's tdnn_layer_params.
Conv1dBnReluOptions TdnnOptions(std::vector<int64_t> context, double bn_momentum) {
  Conv1dBnReluOptions options;
  options.context = std::move(context);
  options.bn_momentum = bn_momentum;
  return options;
}

}  // namespace

Res2Conv1dImpl::Res2Conv1dImpl(int64_t channels, int64_t scale, int64_t dilation,
                               double bn_momentum)
    : scale_(scale) {
  SN_CHECK(scale > 1 && channels % scale == 0,
           "Res2Conv1d: scale {} must be > 1 and divide the channels {}", scale, channels);
  const int64_t width = channels / scale;
  blocks = torch::nn::ModuleList();
  for (int64_t i = 0; i + 1 < scale; ++i) {
    Conv1dBnReluLayer conv(width, width, TdnnOptions({-dilation, 0, dilation}, bn_momentum));
    blocks->push_back(conv);
    convs_.push_back(conv);
  }
  register_module("blocks", blocks);
}

torch::Tensor Res2Conv1dImpl::forward(const torch::Tensor& x) {
  const auto splits = x.chunk(scale_, /*dim=*/1);
  std::vector<torch::Tensor> outs;
  outs.reserve(scale_);
  torch::Tensor y;
  for (int64_t i = 0; i + 1 < scale_; ++i) {
    y = convs_[i]->forward(i == 0 ? splits[0] : y + splits[i]);
    outs.push_back(y);
  }
  outs.push_back(splits[scale_ - 1]);
  return torch::cat(outs, /*dim=*/1);
}

SqueezeExcitationImpl::SqueezeExcitationImpl(int64_t channels, int64_t bottleneck) {
  linear1 = register_module("linear1", torch::nn::Linear(channels, bottleneck));
  linear2 = register_module("linear2", torch::nn::Linear(bottleneck, channels));
}

torch::Tensor SqueezeExcitationImpl::forward(const torch::Tensor& x) {
  const auto s = x.mean(/*dim=*/2);  // [B, C]
  const auto gate = torch::sigmoid(linear2->forward(torch::relu(linear1->forward(s))));
  return x * gate.unsqueeze(2);
}

SERes2BlockImpl::SERes2BlockImpl(int64_t channels, int64_t scale, int64_t dilation,
                                 int64_t se_bottleneck, double bn_momentum) {
  t1 = Conv1dBnReluLayer(channels, channels, TdnnOptions({0}, bn_momentum));
  res2 = Res2Conv1d(channels, scale, dilation, bn_momentum);
  t2 = Conv1dBnReluLayer(channels, channels, TdnnOptions({0}, bn_momentum));
  se = SqueezeExcitation(channels, se_bottleneck);
  se_res2block = torch::nn::ModuleList();
  se_res2block->push_back(t1);
  se_res2block->push_back(res2);
  se_res2block->push_back(t2);
  se_res2block->push_back(se);
  register_module("se_res2block", se_res2block);
}

torch::Tensor SERes2BlockImpl::forward(const torch::Tensor& x) {
  return x + se->forward(t2->forward(res2->forward(t1->forward(x))));
}

EcapaTdnnSpeakerModel::EcapaTdnnSpeakerModel(const ModelConfig& config)
    : feat_dim_(config.feat_dim), emb_dim_(config.EmbeddingDim()) {
  config.Validate();
  SN_CHECK(config.type == "ecapa", "EcapaTdnnSpeakerModel: model.type is '{}'", config.type);
  const auto& ecapa = config.ecapa;
  const int64_t channels = ecapa.channels;
  const double momentum = ecapa.bn_momentum;
  // Registration order = speaker-net's state-dict order.
  layer1 = register_module(
      "layer1", Conv1dBnReluLayer(feat_dim_, channels, TdnnOptions({-2, -1, 0, 1, 2}, momentum)));
  for (size_t i = 0; i < ecapa.dilations.size(); ++i) {
    blocks.push_back(register_module("layer" + std::to_string(i + 2),
                                     SERes2Block(channels, ecapa.scale, ecapa.dilations[i],
                                                 channels / ecapa.se_reduction, momentum)));
  }
  pooling_input_dim_ = channels * static_cast<int64_t>(ecapa.dilations.size());
  Conv1dBnReluOptions layer5_options;
  layer5_options.batchnorm = false;
  aggregation =
      register_module("layer" + std::to_string(ecapa.dilations.size() + 2),
                      Conv1dBnReluLayer(pooling_input_dim_, pooling_input_dim_, layer5_options));
  pooling = register_module("pooling", CreatePooling(config.pooling, pooling_input_dim_));
  bn_pool = register_module(
      "bn_pool", SyncBatchNorm1d(
                     torch::nn::BatchNorm1dOptions(pooling->OutputDim()).momentum(momentum)));
  Conv1dBnReluOptions fc2_options;
  fc2_options.relu = false;
  fc2_options.bn_momentum = momentum;
  fc2_options.bn_affine = false;
  fc2 = register_module("fc2", Conv1dBnReluLayer(pooling->OutputDim(), emb_dim_, fc2_options));
}

torch::Tensor EcapaTdnnSpeakerModel::ForwardTrunk(const torch::Tensor& feats) {
  SN_CHECK(feats.dim() == 3 && feats.size(1) == feat_dim_,
           "ECAPA-TDNN model: expected features [B, {}, frames], got {}", feat_dim_,
           c10::str(feats.sizes()));
  auto out = layer1->forward(feats);
  std::vector<torch::Tensor> outs;
  outs.reserve(blocks.size());
  for (auto& block : blocks) {
    out = block->forward(out);
    outs.push_back(out);
  }
  return aggregation->forward(torch::cat(outs, /*dim=*/1));
}

torch::Tensor EcapaTdnnSpeakerModel::forward(const torch::Tensor& feats) {
  const auto pooled = bn_pool->forward(pooling->forward(ForwardTrunk(feats)));  // [B, 6C, 1]
  return fc2->forward(pooled).squeeze(2);
}

}  // namespace speakernet
