#include "speakernet/models/campplus.h"

#include "speakernet/common/error.h"

namespace speakernet {

namespace nn = torch::nn;

namespace {
constexpr int64_t kSegmentFrames = 100;
constexpr int64_t kKernels[3] = {3, 3, 3};
constexpr int64_t kDilations[3] = {1, 2, 2};

nn::Conv1d Conv1d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation,
                  bool bias) {
  return nn::Conv1d(nn::Conv1dOptions(in, out, kernel)
                        .stride(stride)
                        .padding((kernel - 1) / 2 * dilation)
                        .dilation(dilation)
                        .bias(bias));
}
}  // namespace

CamBnReluImpl::CamBnReluImpl(int64_t channels, bool relu, bool affine) : relu_(relu) {
  batchnorm =
      register_module("batchnorm", SyncBatchNorm1d(nn::BatchNormOptions(channels).affine(affine)));
}

torch::Tensor CamBnReluImpl::forward(const torch::Tensor& x) {
  auto y = batchnorm->forward(x);
  return relu_ ? torch::relu(y) : y;
}

CamFcmImpl::CamFcmImpl(int64_t m_channels, int64_t num_blocks) {
  const auto conv3x3 = [](int64_t c, int64_t stride_f) {
    return nn::Conv2d(nn::Conv2dOptions(c, c, 3).stride({stride_f, 1}).padding(1).bias(false));
  };
  conv1 = register_module("conv1",
                          nn::Conv2d(nn::Conv2dOptions(1, m_channels, 3).padding(1).bias(false)));
  bn1 = register_module("bn1", SyncBatchNorm2d(m_channels));
  for (auto* layer : {&layer1, &layer2}) {
    nn::Sequential stage;
    for (int64_t i = 0; i < num_blocks; ++i) {
      stage->push_back(WeSpeakerResBlock(false, m_channels, m_channels, i == 0 ? 2 : 1,
                                         /*stride_time=*/false));
    }
    *layer = register_module(layer == &layer1 ? "layer1" : "layer2", stage);
  }
  conv2 = register_module("conv2", conv3x3(m_channels, 2));
  bn2 = register_module("bn2", SyncBatchNorm2d(m_channels));
}

torch::Tensor CamFcmImpl::forward(const torch::Tensor& feats) {
  auto x = torch::relu(bn1->forward(conv1->forward(feats.unsqueeze(1))));
  x = layer2->forward(layer1->forward(x));
  x = torch::relu(bn2->forward(conv2->forward(x)));
  return x.flatten(1, 2);  // [B, C * F', T], channel-major
}

CamLayerImpl::CamLayerImpl(int64_t bn_channels, int64_t out_channels, int64_t kernel,
                           int64_t dilation) {
  linear_local = register_module(
      "linear_local", Conv1d(bn_channels, out_channels, kernel, 1, dilation, /*bias=*/false));
  linear1 = register_module("linear1", Conv1d(bn_channels, bn_channels / 2, 1, 1, 1, true));
  linear2 = register_module("linear2", Conv1d(bn_channels / 2, out_channels, 1, 1, 1, true));
}

torch::Tensor CamLayerImpl::forward(const torch::Tensor& x) {
  const int64_t frames = x.size(2);
  // Segment means (the last segment may be partial: avg_pool1d's ceil mode averages the frames
  // it has), each repeated over its segment's frames.
  const auto seg = torch::avg_pool1d(x, {kSegmentFrames}, {kSegmentFrames}, {0},
                                     /*ceil_mode=*/true)
                       .repeat_interleave(kSegmentFrames, 2)
                       .narrow(2, 0, frames);
  const auto context = torch::relu(linear1->forward(x.mean(2, true) + seg));
  return linear_local->forward(x) * torch::sigmoid(linear2->forward(context));
}

CamDenseLayerImpl::CamDenseLayerImpl(int64_t in_channels, int64_t out_channels, int64_t bn_channels,
                                     int64_t kernel, int64_t dilation) {
  nonlinear1 = register_module("nonlinear1", CamBnRelu(in_channels));
  linear1 = register_module("linear1", Conv1d(in_channels, bn_channels, 1, 1, 1, false));
  nonlinear2 = register_module("nonlinear2", CamBnRelu(bn_channels));
  cam_layer = register_module("cam_layer", CamLayer(bn_channels, out_channels, kernel, dilation));
}

torch::Tensor CamDenseLayerImpl::forward(const torch::Tensor& x) {
  return cam_layer->forward(nonlinear2->forward(linear1->forward(nonlinear1->forward(x))));
}

CamDenseBlockImpl::CamDenseBlockImpl(int64_t num_layers, int64_t in_channels, int64_t growth_rate,
                                     int64_t bn_channels, int64_t kernel, int64_t dilation) {
  for (int64_t j = 0; j < num_layers; ++j) {
    tdnnd.push_back(register_module(
        "tdnnd" + std::to_string(j + 1),
        CamDenseLayer(in_channels + j * growth_rate, growth_rate, bn_channels, kernel, dilation)));
  }
}

torch::Tensor CamDenseBlockImpl::forward(torch::Tensor x) {
  for (auto& layer : tdnnd) x = torch::cat({x, layer->forward(x)}, 1);
  return x;
}

CamTdnnImpl::CamTdnnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool bn_first,
                         bool relu, bool affine)
    : bn_first_(bn_first) {
  if (bn_first) nonlinear = register_module("nonlinear", CamBnRelu(in, relu, affine));
  linear = register_module("linear", Conv1d(in, out, kernel, stride, 1, /*bias=*/false));
  if (!bn_first) nonlinear = register_module("nonlinear", CamBnRelu(out, relu, affine));
}

torch::Tensor CamTdnnImpl::forward(const torch::Tensor& x) {
  if (bn_first_) return linear->forward(nonlinear->forward(x));
  return nonlinear->forward(linear->forward(x));
}

CamXVectorImpl::CamXVectorImpl(const CamPlusConfig& c, int64_t in_channels, int64_t emb_dim) {
  tdnn = register_module("tdnn", CamTdnn(in_channels, c.init_channels, 5, 2, /*bn_first=*/false));
  int64_t channels = c.init_channels;
  for (size_t i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i + 1);
    blocks.push_back(register_module(
        "block" + n, CamDenseBlock(c.dense_layers[i], channels, c.growth_rate,
                                   c.bn_size * c.growth_rate, kKernels[i], kDilations[i])));
    channels += c.dense_layers[i] * c.growth_rate;
    transits.push_back(
        register_module("transit" + n, CamTdnn(channels, channels / 2, 1, 1, /*bn_first=*/true)));
    channels /= 2;
  }
  out_nonlinear = register_module("out_nonlinear", CamBnRelu(channels));
  stats = register_module("stats", CreateWeSpeakerPooling(c.pooling, channels));
  dense = register_module("dense", CamTdnn(stats->OutputDim(), emb_dim, 1, 1, /*bn_first=*/false,
                                           /*relu=*/false, /*affine=*/false));
}

torch::Tensor CamXVectorImpl::forward(const torch::Tensor& x) {
  auto y = tdnn->forward(x);
  for (size_t i = 0; i < blocks.size(); ++i) y = transits[i]->forward(blocks[i]->forward(y));
  y = stats->forward(out_nonlinear->forward(y));     // [B, D]
  return dense->forward(y.unsqueeze(2)).squeeze(2);  // [B, emb_dim]
}

CamPlusModel::CamPlusModel(const ModelConfig& config) : emb_dim_(config.EmbeddingDim()) {
  const CamPlusConfig& c = config.campplus;
  SN_CHECK(config.feat_dim % 8 == 0,
           "model.feat_dim must be a multiple of 8 for campplus (3 frequency strides), got {}",
           config.feat_dim);
  head = register_module("head", CamFcm(c.m_channels, 2));
  xvector = register_module("xvector", CamXVector(c, c.m_channels * config.feat_dim / 8, emb_dim_));
}

torch::Tensor CamPlusModel::forward(const torch::Tensor& feats) {
  return xvector->forward(head->forward(feats));
}

}  // namespace speakernet
