#include "speakernet/models/resnet.h"

#include "speakernet/common/error.h"

namespace speakernet {

namespace {

namespace nn = torch::nn;

nn::Conv2d Conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

SyncBatchNorm2d Bn(int64_t channels, double momentum) {
  return SyncBatchNorm2d(nn::BatchNorm2dOptions(channels).momentum(momentum));
}

nn::Conv2d Conv1x1(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false));
}

// The projection shortcut: 1x1 conv (stride s, no bias) + BN, applied to the raw x.
nn::Sequential Downsample(int64_t in, int64_t out, int64_t stride, double bn_momentum) {
  return nn::Sequential(Conv1x1(in, out, stride), Bn(out, bn_momentum));
}

std::shared_ptr<ResidualBlock> MakeBlock(const std::string& kind, int64_t in_planes, int64_t planes,
                                         int64_t stride, double bn_momentum, int64_t se_ratio) {
  if (kind == "basic") {
    return std::make_shared<PreActBasicBlock>(in_planes, planes, stride, bn_momentum, se_ratio);
  }
  if (kind == "bottleneck") {
    return std::make_shared<PreActBottleneck>(in_planes, planes, stride, bn_momentum, se_ratio);
  }
  Fail("model.resnet.block '" + kind + "' is not supported");
}

int64_t Expansion(const std::string& kind) {
  if (kind == "basic") return PreActBasicBlock::kExpansion;
  if (kind == "bottleneck") return PreActBottleneck::kExpansion;
  Fail("model.resnet.block '" + kind + "' is not supported");
}

}  // namespace

SEBlock2dImpl::SEBlock2dImpl(int64_t channels, int64_t ratio) {
  SN_CHECK(ratio > 0 && channels / ratio > 0,
           "SE block: ratio must be in [1, {}] for {} channels, got {}", channels, channels, ratio);
  fc_1 = register_module("fc_1", nn::Linear(nn::LinearOptions(channels, channels / ratio)));
  fc_2 = register_module("fc_2", nn::Linear(nn::LinearOptions(channels / ratio, channels)));
}

torch::Tensor SEBlock2dImpl::forward(const torch::Tensor& x) {
  const auto squeezed = x.mean({2, 3});  // AdaptiveAvgPool2d(1): [B, C]
  const auto scale = torch::sigmoid(fc_2->forward(torch::relu(fc_1->forward(squeezed))));
  return x * scale.unsqueeze(2).unsqueeze(3);
}

PreActBasicBlock::PreActBasicBlock(int64_t in_planes, int64_t planes, int64_t stride,
                                   double bn_momentum, int64_t se_ratio) {
  // Registration order follows speaker-net's state dict: downsample, bn1, conv1, bn2, conv2.
  if (stride != 1 || in_planes != planes * kExpansion) {
    downsample = register_module(
        "downsample", Downsample(in_planes, planes * kExpansion, stride, bn_momentum));
  }
  bn1 = register_module("bn1", Bn(in_planes, bn_momentum));
  conv1 = register_module("conv1", Conv3x3(in_planes, planes, stride));
  bn2 = register_module("bn2", Bn(planes, bn_momentum));
  conv2 = register_module("conv2", Conv3x3(planes, planes * kExpansion, 1));
  if (se_ratio > 0) se = register_module("se", SEBlock2d(planes * kExpansion, se_ratio));
}

torch::Tensor PreActBasicBlock::forward(const torch::Tensor& x) {
  auto out = conv1->forward(torch::relu(bn1->forward(x)));
  out = conv2->forward(torch::relu(bn2->forward(out)));
  if (se) out = se->forward(out);
  return out + (downsample ? downsample->forward(x) : x);
}

PreActBottleneck::PreActBottleneck(int64_t in_planes, int64_t planes, int64_t stride,
                                   double bn_momentum, int64_t se_ratio) {
  // Registration order follows speaker-net's state dict (resnet101.txt): downsample, bn1, conv1,
  // bn2, conv2, bn3, conv3.
  if (stride != 1 || in_planes != planes * kExpansion) {
    downsample = register_module(
        "downsample", Downsample(in_planes, planes * kExpansion, stride, bn_momentum));
  }
  bn1 = register_module("bn1", Bn(in_planes, bn_momentum));
  conv1 = register_module("conv1", Conv1x1(in_planes, planes, 1));
  bn2 = register_module("bn2", Bn(planes, bn_momentum));
  conv2 = register_module("conv2", Conv3x3(planes, planes, stride));
  bn3 = register_module("bn3", Bn(planes, bn_momentum));
  conv3 = register_module("conv3", Conv1x1(planes, planes * kExpansion, 1));
  if (se_ratio > 0) se = register_module("se", SEBlock2d(planes * kExpansion, se_ratio));
}

torch::Tensor PreActBottleneck::forward(const torch::Tensor& x) {
  auto out = conv1->forward(torch::relu(bn1->forward(x)));
  out = conv2->forward(torch::relu(bn2->forward(out)));
  out = conv3->forward(torch::relu(bn3->forward(out)));
  if (se) out = se->forward(out);
  return out + (downsample ? downsample->forward(x) : x);
}

ResNetTrunkImpl::ResNetTrunkImpl(const ResNetConfig& config) {
  config.Validate();
  const auto& planes = config.planes;
  conv1 = register_module("conv1", Conv3x3(1, planes[0], 1));
  bn1 = register_module("bn1", Bn(planes[0], config.bn_momentum));
  const int64_t expansion = Expansion(config.block);
  int64_t in_planes = planes[0];
  for (size_t stage = 0; stage < 4; ++stage) {
    const int64_t stride = stage == 0 ? 1 : 2;
    nn::ModuleList list;
    std::vector<std::shared_ptr<ResidualBlock>> blocks;
    for (int64_t i = 0; i < config.layers[stage]; ++i) {
      auto block = MakeBlock(config.block, in_planes, planes[stage], i == 0 ? stride : 1,
                             config.bn_momentum, config.se_ratio);
      list->push_back(block);
      blocks.push_back(block);
      in_planes = planes[stage] * expansion;
    }
    layers.push_back(register_module("layer" + std::to_string(stage + 1), list));
    blocks_.push_back(std::move(blocks));
  }
  output_channels_ = in_planes;

  // Init as speaker-net's ResNet: conv kaiming_normal(fan_out, relu); BN weight 1, bias 0; the
  // SE Linears keep PyTorch's default init.
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = module->as<SyncBatchNorm2d>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    }
  }
}

int64_t ResNetTrunkImpl::OutputRows(int64_t feat_dim) {
  int64_t rows = feat_dim;
  for (int i = 0; i < 3; ++i) rows = (rows + 1) / 2;  // 3x3 conv, padding 1, stride 2
  return rows;
}

torch::Tensor ResNetTrunkImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1->forward(conv1->forward(x)));
  for (auto& stage : blocks_) {
    for (auto& block : stage) out = block->forward(out);
  }
  return out;
}

ResNetSpeakerModel::ResNetSpeakerModel(const ModelConfig& config)
    : feat_dim_(config.feat_dim), emb_dim_(config.EmbeddingDim()) {
  config.Validate();
  resnet = register_module("resnet", ResNetTrunk(config.resnet));
  pooling_input_dim_ = ResNetTrunkImpl::OutputRows(feat_dim_) * resnet->OutputChannels();
  stats = register_module("stats", CreatePooling(config.pooling, pooling_input_dim_));
  Conv1dBnReluOptions fc2_options;
  fc2_options.relu = false;
  fc2_options.bn_momentum = config.fc2_bn_momentum;
  fc2_options.bn_affine = false;
  fc2 = register_module("fc2", Conv1dBnReluLayer(stats->OutputDim(), emb_dim_, fc2_options));
}

torch::Tensor ResNetSpeakerModel::ForwardTrunk(const torch::Tensor& feats) {
  SN_CHECK(feats.dim() == 3 && feats.size(1) == feat_dim_,
           "ResNet model: expected features [B, {}, frames], got {}", feat_dim_,
           c10::str(feats.sizes()));
  return resnet->forward(feats.unsqueeze(1));
}

torch::Tensor ResNetSpeakerModel::forward(const torch::Tensor& feats) {
  const auto trunk = ForwardTrunk(feats);  // [B, C, F', T']
  const auto x = trunk.reshape({trunk.size(0), trunk.size(1) * trunk.size(2), trunk.size(3)});
  return fc2->forward(stats->forward(x)).squeeze(2);
}

}  // namespace speakernet
