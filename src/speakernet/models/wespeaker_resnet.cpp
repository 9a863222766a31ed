#include "speakernet/models/wespeaker_resnet.h"

#include "speakernet/common/error.h"

namespace speakernet {

namespace {
namespace nn = torch::nn;

nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool stride_time = true) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                        .stride({stride, stride_time ? stride : 1})
                        .padding(kernel / 2)
                        .bias(false));
}
}  // namespace

WeSpeakerResBlockImpl::WeSpeakerResBlockImpl(bool bottleneck, int64_t in_planes, int64_t planes,
                                             int64_t stride, bool stride_time) {
  const int64_t out = planes * Expansion(bottleneck);
  if (bottleneck) {
    conv1 = register_module("conv1", Conv(in_planes, planes, 1, 1));
    bn1 = register_module("bn1", SyncBatchNorm2d(planes));
    conv2 = register_module("conv2", Conv(planes, planes, 3, stride, stride_time));
    bn2 = register_module("bn2", SyncBatchNorm2d(planes));
    conv3 = register_module("conv3", Conv(planes, out, 1, 1));
    bn3 = register_module("bn3", SyncBatchNorm2d(out));
  } else {
    conv1 = register_module("conv1", Conv(in_planes, planes, 3, stride, stride_time));
    bn1 = register_module("bn1", SyncBatchNorm2d(planes));
    conv2 = register_module("conv2", Conv(planes, planes, 3, 1));
    bn2 = register_module("bn2", SyncBatchNorm2d(planes));
  }
  if (stride != 1 || in_planes != out) {
    shortcut = register_module(
        "shortcut",
        nn::Sequential(Conv(in_planes, out, 1, stride, stride_time), SyncBatchNorm2d(out)));
  }
}

torch::Tensor WeSpeakerResBlockImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1->forward(conv1->forward(x)));
  out = bn2->forward(conv2->forward(out));
  if (conv3) out = bn3->forward(conv3->forward(torch::relu(out)));
  return torch::relu(out + (shortcut ? shortcut->forward(x) : x));
}

WeSpeakerResNetModel::WeSpeakerResNetModel(const ModelConfig& config)
    : emb_dim_(config.EmbeddingDim()) {
  const WeSpeakerResNetConfig& c = config.wespeaker_resnet;
  SN_CHECK(
      config.feat_dim % 8 == 0,
      "model.feat_dim must be a multiple of 8 for wespeaker_resnet (3 stride-2 stages), got {}",
      config.feat_dim);
  const bool bottleneck = c.block == "bottleneck";
  conv1 = register_module("conv1", Conv(1, c.m_channels, 3, 1));
  bn1 = register_module("bn1", SyncBatchNorm2d(c.m_channels));
  int64_t in_planes = c.m_channels;
  for (size_t s = 0; s < 4; ++s) {
    const int64_t planes = c.m_channels << s;
    nn::Sequential stage;
    for (int64_t i = 0; i < c.layers[s]; ++i) {
      const int64_t stride = (i == 0 && s > 0) ? 2 : 1;
      stage->push_back(WeSpeakerResBlock(bottleneck, in_planes, planes, stride));
      in_planes = planes * WeSpeakerResBlockImpl::Expansion(bottleneck);
    }
    layers.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  pool =
      register_module("pool", CreateWeSpeakerPooling(c.pooling, in_planes * config.feat_dim / 8));
  seg_1 = register_module("seg_1", nn::Linear(pool->OutputDim(), emb_dim_));
  if (c.two_emb_layer) {
    seg_bn_1 =
        register_module("seg_bn_1", SyncBatchNorm1d(nn::BatchNormOptions(emb_dim_).affine(false)));
    seg_2 = register_module("seg_2", nn::Linear(emb_dim_, emb_dim_));
  }
}

torch::Tensor WeSpeakerResNetModel::forward(const torch::Tensor& feats) {
  auto x = torch::relu(bn1->forward(conv1->forward(feats.unsqueeze(1))));  // [B, C, F, T]
  for (auto& stage : layers) x = stage->forward(x);
  x = x.flatten(1, 2);  // [B, C * F', T'], channel-major as WeSpeaker's pooling sees it
  auto embed = seg_1->forward(pool->forward(x));
  if (!seg_2) return embed;
  return seg_2->forward(seg_bn_1->forward(torch::relu(embed)));
}

}  // namespace speakernet
