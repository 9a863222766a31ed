#include "speakernet/models/wespeaker_ecapa.h"

#include "speakernet/common/error.h"

namespace speakernet {

namespace nn = torch::nn;

namespace {
constexpr int64_t kRes2Scale = 8;
constexpr int64_t kSEBottleneck = 128;
}  // namespace

EcapaConvReluBnImpl::EcapaConvReluBnImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding) {
  conv = register_module("conv", nn::Conv1d(nn::Conv1dOptions(in, out, kernel).padding(padding)));
  bn = register_module("bn", SyncBatchNorm1d(out));
}

torch::Tensor EcapaConvReluBnImpl::forward(const torch::Tensor& x) {
  return bn->forward(torch::relu(conv->forward(x)));
}

EcapaRes2ConvImpl::EcapaRes2ConvImpl(int64_t channels, int64_t kernel, int64_t dilation,
                                     int64_t scale)
    : width_(channels / scale) {
  convs = register_module("convs", nn::ModuleList());
  bns = register_module("bns", nn::ModuleList());
  for (int64_t i = 0; i < scale - 1; ++i) {
    convs->push_back(nn::Conv1d(nn::Conv1dOptions(width_, width_, kernel)
                                    .padding((kernel - 1) / 2 * dilation)
                                    .dilation(dilation)));
    bns->push_back(SyncBatchNorm1d(width_));
  }
}

torch::Tensor EcapaRes2ConvImpl::forward(const torch::Tensor& x) {
  const auto splits = x.split(width_, 1);
  std::vector<torch::Tensor> out;
  torch::Tensor sp;
  for (size_t i = 0; i < convs->size(); ++i) {
    sp = i == 0 ? splits[0] : sp + splits[i];
    sp = convs[i]->as<nn::Conv1d>()->forward(sp);
    sp = bns[i]->as<SyncBatchNorm1d>()->forward(torch::relu(sp));
    out.push_back(sp);
  }
  out.push_back(splits[convs->size()]);
  return torch::cat(out, 1);
}

EcapaSEConnectImpl::EcapaSEConnectImpl(int64_t channels, int64_t bottleneck) {
  linear1 = register_module("linear1", nn::Linear(channels, bottleneck));
  linear2 = register_module("linear2", nn::Linear(bottleneck, channels));
}

torch::Tensor EcapaSEConnectImpl::forward(const torch::Tensor& x) {
  const auto scale = torch::sigmoid(linear2->forward(torch::relu(linear1->forward(x.mean(2)))));
  return x * scale.unsqueeze(2);
}

EcapaSERes2BlockImpl::EcapaSERes2BlockImpl(int64_t channels, int64_t dilation) {
  se_res2block = register_module("se_res2block",
                                 nn::Sequential(EcapaConvReluBn(channels, channels, 1, 0),
                                                EcapaRes2Conv(channels, 3, dilation, kRes2Scale),
                                                EcapaConvReluBn(channels, channels, 1, 0),
                                                EcapaSEConnect(channels, kSEBottleneck)));
}

torch::Tensor EcapaSERes2BlockImpl::forward(const torch::Tensor& x) {
  return x + se_res2block->forward(x);
}

WeSpeakerEcapaModel::WeSpeakerEcapaModel(const ModelConfig& config)
    : emb_dim_(config.EmbeddingDim()) {
  const WeSpeakerEcapaConfig& c = config.wespeaker_ecapa;
  layer1 = register_module("layer1", EcapaConvReluBn(config.feat_dim, c.channels, 5, 2));
  layer2 = register_module("layer2", EcapaSERes2Block(c.channels, 2));
  layer3 = register_module("layer3", EcapaSERes2Block(c.channels, 3));
  layer4 = register_module("layer4", EcapaSERes2Block(c.channels, 4));
  conv = register_module("conv",
                         nn::Conv1d(nn::Conv1dOptions(3 * c.channels, c.conv_out_channels, 1)));
  pool = register_module("pool", CreateWeSpeakerPooling(c.pooling, c.conv_out_channels));
  bn = register_module("bn", SyncBatchNorm1d(pool->OutputDim()));
  linear = register_module("linear", nn::Linear(pool->OutputDim(), emb_dim_));
  if (c.emb_bn) bn2 = register_module("bn2", SyncBatchNorm1d(emb_dim_));
}

torch::Tensor WeSpeakerEcapaModel::forward(const torch::Tensor& feats) {
  const auto out1 = layer1->forward(feats);
  const auto out2 = layer2->forward(out1);
  const auto out3 = layer3->forward(out2);
  const auto out4 = layer4->forward(out3);
  auto out = torch::relu(conv->forward(torch::cat({out2, out3, out4}, 1)));
  out = linear->forward(bn->forward(pool->forward(out)));
  return bn2 ? bn2->forward(out) : out;
}

}  // namespace speakernet
