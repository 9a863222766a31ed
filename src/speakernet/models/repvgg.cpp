#include "speakernet/models/repvgg.h"

#include <algorithm>

#include "speakernet/common/error.h"

namespace speakernet {

namespace nn = torch::nn;

RepVggConvBnImpl::RepVggConvBnImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                   int64_t padding, int64_t groups, double bn_momentum) {
  conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                                                .stride(stride)
                                                .padding(padding)
                                                .groups(groups)
                                                .bias(false)));
  bn = register_module("bn", SyncBatchNorm2d(nn::BatchNorm2dOptions(out).momentum(bn_momentum)));
}

torch::Tensor RepVggConvBnImpl::forward(const torch::Tensor& x) {
  return bn->forward(conv->forward(x));
}

RepVggBlock::RepVggBlock(int64_t in, int64_t out, int64_t stride, int64_t groups,
                         double bn_momentum, bool deploy)
    : in_(in), out_(out), stride_(stride), groups_(groups) {
  SN_CHECK(groups > 0 && in % groups == 0 && out % groups == 0,
           "RepVGG block {} -> {}: {} groups do not divide the channels", in, out, groups);
  if (deploy) {
    rbr_reparam = register_module(
        "rbr_reparam",
        nn::Conv2d(
            nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).groups(groups).bias(true)));
    return;
  }
  // Registration order follows speaker-net's state dict: rbr_identity, rbr_dense, rbr_1x1.
  if (in == out && stride == 1) {
    rbr_identity = register_module(
        "rbr_identity", SyncBatchNorm2d(nn::BatchNorm2dOptions(in).momentum(bn_momentum)));
  }
  rbr_dense = register_module("rbr_dense",
                              RepVggConvBn(in, out, 3, stride, 1, groups, bn_momentum));
  rbr_1x1 = register_module("rbr_1x1", RepVggConvBn(in, out, 1, stride, 0, groups, bn_momentum));
}

torch::Tensor RepVggBlock::forward(const torch::Tensor& x) {
  if (deployed()) return torch::relu(rbr_reparam->forward(x));
  auto out = rbr_dense->forward(x) + rbr_1x1->forward(x);
  if (rbr_identity) out = out + rbr_identity->forward(x);
  return torch::relu(out);
}

namespace {

// Folds an eval-mode BN into the preceding bias-free conv kernel (all float64):
// W' = W * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps).
std::pair<torch::Tensor, torch::Tensor> FoldBn(const torch::Tensor& kernel,
                                               const SyncBatchNorm2d& bn) {
  const auto dbl = [](const torch::Tensor& t) { return t.detach().to(torch::kDouble); };
  const auto scale = dbl(bn->weight) / (dbl(bn->running_var) + bn->options.eps()).sqrt();
  return {kernel * scale.reshape({-1, 1, 1, 1}), dbl(bn->bias) - dbl(bn->running_mean) * scale};
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> RepVggBlock::FusedKernelAndBias() const {
  SN_CHECK(!deployed(), "RepVGG block: already re-parameterised");
  const auto like = rbr_dense->conv->weight;
  auto [kernel, bias] = FoldBn(rbr_dense->conv->weight.detach().to(torch::kDouble), rbr_dense->bn);
  // The 1x1 kernel sits at the centre of a 3x3 one (padding 1 vs 0 keeps the outputs aligned).
  const auto k1 =
      torch::constant_pad_nd(rbr_1x1->conv->weight.detach().to(torch::kDouble), {1, 1, 1, 1});
  auto [kernel1, bias1] = FoldBn(k1, rbr_1x1->bn);
  kernel = kernel + kernel1;
  bias = bias + bias1;
  if (rbr_identity) {
    // The identity as a grouped 3x3 conv: output channel i reads its own input channel, which is
    // channel i % (in / groups) of its group.
    const int64_t per_group = in_ / groups_;
    auto id = torch::zeros({in_, per_group, 3, 3}, like.options().dtype(torch::kDouble));
    const auto rows = torch::arange(in_, like.options().dtype(torch::kLong));
    id.index_put_({rows, rows.remainder(per_group), 1, 1}, 1.0);
    auto [kernel_id, bias_id] = FoldBn(id, rbr_identity);
    kernel = kernel + kernel_id;
    bias = bias + bias_id;
  }
  return {kernel.to(like.scalar_type()), bias.to(like.scalar_type())};
}

void RepVggBlock::SwitchToDeploy() {
  if (deployed()) return;
  const auto [kernel, bias] = FusedKernelAndBias();
  auto conv = nn::Conv2d(
      nn::Conv2dOptions(in_, out_, 3).stride(stride_).padding(1).groups(groups_).bias(true));
  conv->to(kernel.device(), kernel.scalar_type());
  {
    torch::NoGradGuard no_grad;
    conv->weight.copy_(kernel);
    conv->bias.copy_(bias);
  }
  conv->train(is_training());
  if (rbr_identity) unregister_module("rbr_identity");
  unregister_module("rbr_dense");
  unregister_module("rbr_1x1");
  rbr_identity = nullptr;
  rbr_dense = nullptr;
  rbr_1x1 = nullptr;
  rbr_reparam = register_module("rbr_reparam", conv);
}

RepVggTrunkImpl::RepVggTrunkImpl(const RepVggConfig& config) {
  config.Validate();
  const auto num_blocks = config.ResolvedNumBlocks();
  const auto planes = config.ResolvedPlanes();
  const double m = config.bn_momentum;
  int64_t in = std::min<int64_t>(64, planes[0]);
  stage0 = register_module("stage0",
                           std::make_shared<RepVggBlock>(1, in, config.strides[0], 1, m,
                                                         config.deploy));
  blocks_.push_back(stage0);
  int64_t layer = 1;  // stage0 is layer 0
  for (size_t stage = 0; stage < 4; ++stage) {
    nn::ModuleList list;
    for (int64_t i = 0; i < num_blocks[stage]; ++i) {
      auto block = std::make_shared<RepVggBlock>(in, planes[stage],
                                                 i == 0 ? config.strides[stage + 1] : 1,
                                                 config.GroupsOfLayer(layer++), m, config.deploy);
      list->push_back(block);
      blocks_.push_back(block);
      in = planes[stage];
    }
    stages.push_back(register_module("stage" + std::to_string(stage + 1), list));
  }
  output_channels_ = in;
}

int64_t RepVggTrunkImpl::OutputRows(const RepVggConfig& config, int64_t feat_dim) {
  int64_t rows = feat_dim;
  for (const int64_t s : config.strides) rows = (rows - 1) / s + 1;  // 3x3, padding 1
  return rows;
}

torch::Tensor RepVggTrunkImpl::forward(const torch::Tensor& x) {
  auto out = x;
  for (auto& block : blocks_) out = block->forward(out);
  return out;
}

RepVggSpeakerModel::RepVggSpeakerModel(const ModelConfig& config)
    : feat_dim_(config.feat_dim), emb_dim_(config.EmbeddingDim()) {
  config.Validate();
  repvgg = register_module("repvgg", RepVggTrunk(config.repvgg));
  pooling_input_dim_ =
      RepVggTrunkImpl::OutputRows(config.repvgg, feat_dim_) * repvgg->OutputChannels();
  stats = register_module("stats", CreatePooling(config.pooling, pooling_input_dim_));
  Conv1dBnReluOptions fc2_options;
  fc2_options.relu = false;
  fc2_options.bn_momentum = config.repvgg.bn_momentum;
  fc2_options.bn_affine = false;
  fc2 = register_module("fc2", Conv1dBnReluLayer(stats->OutputDim(), emb_dim_, fc2_options));
}

bool RepVggSpeakerModel::Deployed() const {
  const auto& blocks = repvgg->Blocks();
  return std::all_of(blocks.begin(), blocks.end(), [](const auto& b) { return b->deployed(); });
}

torch::Tensor RepVggSpeakerModel::ForwardTrunk(const torch::Tensor& feats) {
  SN_CHECK(feats.dim() == 3 && feats.size(1) == feat_dim_,
           "RepVGG model: expected features [B, {}, frames], got {}", feat_dim_,
           c10::str(feats.sizes()));
  return repvgg->forward(feats.unsqueeze(1));
}

torch::Tensor RepVggSpeakerModel::forward(const torch::Tensor& feats) {
  const auto trunk = ForwardTrunk(feats);  // [B, C, F', T']
  const auto x = trunk.reshape({trunk.size(0), trunk.size(1) * trunk.size(2), trunk.size(3)});
  return fc2->forward(stats->forward(x)).squeeze(2);
}

void SwitchToDeploy(SpeakerModel& model) {
  auto* repvgg = dynamic_cast<RepVggSpeakerModel*>(&model);
  SN_CHECK(repvgg != nullptr,
           "SwitchToDeploy: only RepVGG models (model.type repvgg) can be re-parameterised");
  for (const auto& block : repvgg->repvgg->Blocks()) block->SwitchToDeploy();
}

}  // namespace speakernet
