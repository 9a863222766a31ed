// Speaker models as ONNX: every module is written with the ops that compute what its forward()
// computes in eval mode, in the same order of operations where that matters for rounding
// (e.g. the pooling statistics).
#include <string>
#include <vector>

#include "speakernet/common/error.h"
#include "speakernet/models/campplus.h"
#include "speakernet/models/conv1d_bn_layer.h"
#include "speakernet/models/ecapa_tdnn.h"
#include "speakernet/models/pooling.h"
#include "speakernet/models/repvgg.h"
#include "speakernet/models/resnet.h"
#include "speakernet/models/sync_batch_norm.h"
#include "speakernet/models/wespeaker_ecapa.h"
#include "speakernet/models/wespeaker_pooling.h"
#include "speakernet/models/wespeaker_resnet.h"
#include "speakernet/models/xvector.h"
#include "speakernet/onnx/onnx_emitters.h"

namespace speakernet {

namespace nn = torch::nn;

std::string EmitTensor(OnnxGraph& g, const std::string& hint, const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const float* p = c.data_ptr<float>();
  return g.Floats(hint, c.sizes().vec(), std::vector<float>(p, p + c.numel()));
}

namespace {

constexpr float kVarianceFloor = 1e-10f;  // models/pooling.cpp
constexpr float kContextVarianceEpsilon = 1e-10f;

template <size_t D>
std::vector<int64_t> Vec(const torch::ExpandingArray<D>& a) {
  return std::vector<int64_t>(a->begin(), a->end());
}

// Writes the modules of one model; `g` is the graph being built.
class ModelEmitter {
 public:
  explicit ModelEmitter(OnnxGraph& g) : g_(g) {}

  template <size_t D, class Options>
  std::string Conv(const std::string& x, const Options& o, const torch::Tensor& weight,
                   const torch::Tensor& bias, const std::string& name) {
    const auto* padding = c10::get_if<torch::ExpandingArray<D>>(&o.padding());
    SN_CHECK(padding != nullptr, "ONNX export: {} uses 'same'/'valid' padding", name);
    SN_CHECK(c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()) != nullptr,
             "ONNX export: {} pads with non-zeros", name);
    std::vector<int64_t> pads = Vec<D>(*padding);
    const std::vector<int64_t> begin = pads;
    pads.insert(pads.end(), begin.begin(), begin.end());
    std::vector<std::string> inputs{x, EmitTensor(g_, name + ".weight", weight)};
    if (bias.defined()) inputs.push_back(EmitTensor(g_, name + ".bias", bias));
    return g_.Node("Conv", inputs, name,
                   {{"kernel_shape", Vec<D>(o.kernel_size())},
                    {"strides", Vec<D>(o.stride())},
                    {"dilations", Vec<D>(o.dilation())},
                    {"pads", pads},
                    {"group", static_cast<int64_t>(o.groups())}});
  }
  std::string Conv1d(const std::string& x, const nn::Conv1dImpl& c, const std::string& name) {
    return Conv<1>(x, c.options, c.weight, c.bias, name);
  }
  std::string Conv2d(const std::string& x, const nn::Conv2dImpl& c, const std::string& name) {
    return Conv<2>(x, c.options, c.weight, c.bias, name);
  }

  // Eval-mode BatchNorm (running statistics) over dim 1.
  template <size_t D>
  std::string Bn(const std::string& x, const SyncBatchNormImpl<D>& bn, const std::string& name) {
    SN_CHECK(bn.running_mean.defined() && bn.running_var.defined(),
             "ONNX export: {} has no running statistics", name);
    const int64_t c = bn.running_mean.size(0);
    const torch::Tensor w = bn.weight.defined() ? bn.weight : torch::ones({c});
    const torch::Tensor b = bn.bias.defined() ? bn.bias : torch::zeros({c});
    return g_.Node("BatchNormalization",
                   {x, EmitTensor(g_, name + ".weight", w), EmitTensor(g_, name + ".bias", b),
                    EmitTensor(g_, name + ".running_mean", bn.running_mean),
                    EmitTensor(g_, name + ".running_var", bn.running_var)},
                   name, {{"epsilon", static_cast<float>(bn.options.eps())}});
  }

  std::string Linear(const std::string& x, const nn::LinearImpl& l, const std::string& name) {
    std::vector<std::string> inputs{x, EmitTensor(g_, name + ".weight", l.weight)};
    if (l.bias.defined()) inputs.push_back(EmitTensor(g_, name + ".bias", l.bias));
    return g_.Node("Gemm", inputs, name, {{"transB", int64_t{1}}});
  }

  std::string Relu(const std::string& x, const std::string& name) {
    return g_.Node("Relu", {x}, name + ".relu");
  }

  // Conv1d -> [ReLU] -> [BN], as Conv1dBnReluLayer.
  std::string Tdnn(const std::string& x, const Conv1dBnReluLayerImpl& l, const std::string& name) {
    std::string y = Conv1d(x, *l.affine, name + ".affine");
    if (l.relu()) y = Relu(y, name);
    if (l.batchnorm) y = Bn<1>(y, *l.batchnorm, name + ".batchnorm");
    return y;
  }

  std::string ReduceMean(const std::string& x, std::vector<int64_t> axes, bool keep,
                         const std::string& name) {
    return g_.Node("ReduceMean", {x}, name,
                   {{"axes", std::move(axes)}, {"keepdims", int64_t{keep ? 1 : 0}}});
  }
  std::string ReduceSum(const std::string& x, const std::vector<int64_t>& axes, bool keep,
                        const std::string& name) {
    return g_.Node("ReduceSum", {x, g_.IntList(name + ".axes", axes)}, name,
                   {{"keepdims", int64_t{keep ? 1 : 0}}});
  }
  std::string Unsqueeze(const std::string& x, const std::vector<int64_t>& axes,
                        const std::string& name) {
    return g_.Node("Unsqueeze", {x, g_.IntList(name + ".axes", axes)}, name);
  }
  std::string Squeeze(const std::string& x, const std::vector<int64_t>& axes,
                      const std::string& name) {
    return g_.Node("Squeeze", {x, g_.IntList(name + ".axes", axes)}, name);
  }
  std::string Reshape(const std::string& x, const std::vector<int64_t>& shape,
                      const std::string& name) {
    return g_.Node("Reshape", {x, g_.IntList(name + ".shape", shape)}, name);
  }
  std::string Op(const std::string& op, const std::string& a, const std::string& b,
                 const std::string& name) {
    return g_.Node(op, {a, b}, name);
  }

  // sqrt(max(mean_sq - mean^2, 1e-10)).
  std::string StdFromMoments(const std::string& mean, const std::string& mean_sq,
                             const std::string& name) {
    const std::string var =
        Op("Sub", mean_sq, Op("Mul", mean, mean, name + ".mean2"), name + ".var");
    return g_.Node("Sqrt",
                   {Op("Max", var, g_.Scalar(name + ".floor", kVarianceFloor), name + ".clamp")},
                   name + ".std");
  }

  // mean = sum_t alpha x, std from sum_t alpha x^2 (alpha * x * x evaluated left to right, as
  // the modules do), reduced over `axis`.
  std::pair<std::string, std::string> WeightedStats(const std::string& alpha, const std::string& x,
                                                    int64_t axis, bool keep,
                                                    const std::string& name) {
    const std::string ax = Op("Mul", alpha, x, name + ".ax");
    const std::string mean = ReduceSum(ax, {axis}, keep, name + ".mean");
    const std::string mean_sq =
        ReduceSum(Op("Mul", ax, x, name + ".axx"), {axis}, keep, name + ".mean_sq");
    return {mean, StdFromMoments(mean, mean_sq, name)};
  }

  std::string Pooling(const std::string& x, const speakernet::Pooling& p, const std::string& name);
  std::string StatisticsPool(const std::string& x, const std::string& name);
  std::string MultiHeadPool(const std::string& x, const MultiHeadAttentionPooling& p,
                            const std::string& name);
  std::string ChannelContextPool(const std::string& x, const ChannelContextStatisticsPooling& p,
                                 const std::string& name);
  std::string AttentivePool(const std::string& x, const AttentiveStatisticsPooling& p,
                            const std::string& name);
  std::string MultiResolutionPool(const std::string& x, const MultiResolutionAttentionPooling& p,
                                  const std::string& name);

  std::string XVector(const std::string& feats, const XVectorSpeakerModel& m);
  std::string Ecapa(const std::string& feats, const EcapaTdnnSpeakerModel& m);
  std::string EcapaBlock(const std::string& x, const SERes2BlockImpl& b, const std::string& name);
  std::string ResNet(const std::string& feats, const ResNetSpeakerModel& m);
  std::string ResNetBlock(const std::string& x, const ResidualBlock& b, const std::string& name);
  std::string Se2d(const std::string& x, const SEBlock2dImpl& se, const std::string& name);
  std::string RepVgg(const std::string& feats, const RepVggSpeakerModel& m);
  // [B, C, F', T'] -> [B, C*F', T'] -> pooling -> fc2 -> [B, emb].
  std::string Head2d(const std::string& trunk, int64_t pooling_input_dim,
                     const speakernet::Pooling& pooling, const Conv1dBnReluLayerImpl& fc2,
                     const std::string& pooling_name);

  // WeSpeaker's families (models/wespeaker_*.h, models/campplus.h).
  std::string WeSpeakerPool(const std::string& x, const WeSpeakerPooling& p,
                            const std::string& name);
  std::string UnbiasedStd(const std::string& x, bool keep, const std::string& name);
  std::string FlattenChannelsRows(const std::string& x, const std::string& name);
  std::string WeSpeakerResBlockOut(const std::string& x, const WeSpeakerResBlockImpl& b,
                                   const std::string& name);
  std::string WeSpeakerResNet(const std::string& feats, const WeSpeakerResNetModel& m);
  std::string WeSpeakerEcapa(const std::string& feats, const WeSpeakerEcapaModel& m);
  std::string WeSpeakerEcapaBlock(const std::string& x, const EcapaSERes2BlockImpl& b,
                                  const std::string& name);
  std::string ConvReluBn(const std::string& x, const EcapaConvReluBnImpl& l,
                         const std::string& name);
  std::string CamPlus(const std::string& feats, const CamPlusModel& m);
  std::string CamBnRelu(const std::string& x, const CamBnReluImpl& l, const std::string& name);
  std::string CamTdnn(const std::string& x, const CamTdnnImpl& l, const std::string& name);
  std::string CamDense(const std::string& x, const CamDenseLayerImpl& l, const std::string& name);
  std::string CamSegmentMeans(const std::string& x, const std::string& name);

 private:
  OnnxGraph& g_;
};

std::string ModelEmitter::StatisticsPool(const std::string& x, const std::string& name) {
  const std::string mean = ReduceMean(x, {2}, true, name + ".mean");
  const std::string d = Op("Sub", x, mean, name + ".centred");
  const std::string var = ReduceMean(Op("Mul", d, d, name + ".sq"), {2}, true, name + ".var");
  const std::string std =
      g_.Node("Sqrt", {Op("Max", var, g_.Scalar(name + ".floor", kVarianceFloor), name + ".clamp")},
              name + ".std");
  return g_.Node("Concat", {mean, std}, name, {{"axis", int64_t{1}}});
}

std::string ModelEmitter::MultiHeadPool(const std::string& x, const MultiHeadAttentionPooling& p,
                                        const std::string& name) {
  const auto& last = *p.attention->last_affine;
  const int64_t heads = last.affine->weight.size(0);
  const int64_t dim = p.OutputDim() / 2;
  const std::string scores = Tdnn(x, last, name + ".attention.last_affine");
  const std::string alpha =
      Unsqueeze(g_.Node("Softmax", {scores}, name + ".alpha", {{"axis", int64_t{2}}}), {2},
                name + ".alpha4");                                                  // [B, H, 1, T]
  const std::string xs = Reshape(x, {0, heads, dim / heads, -1}, name + ".heads");  // [B,H,D/H,T]
  const auto [mean, std] = WeightedStats(alpha, xs, 3, false, name);                // [B, H, D/H]
  return Unsqueeze(g_.Node("Concat",
                           {Reshape(mean, {0, dim}, name + ".mean_flat"),
                            Reshape(std, {0, dim}, name + ".std_flat")},
                           name + ".cat", {{"axis", int64_t{1}}}),
                   {2}, name);
}

std::string ModelEmitter::ChannelContextPool(const std::string& x,
                                             const ChannelContextStatisticsPooling& p,
                                             const std::string& name) {
  // Context: [x, mean_t x, sqrt(unbiased var_t x + 1e-10)] broadcast over time.
  const std::string mean = ReduceMean(x, {2}, true, name + ".global_mean");
  const std::string d = Op("Sub", x, mean, name + ".centred");
  const std::string ss = ReduceSum(Op("Mul", d, d, name + ".sq"), {2}, true, name + ".ss");
  const std::string shape = g_.Node("Shape", {x}, name + ".shape");
  const std::string frames =
      g_.Node("Gather", {shape, g_.IntScalar(name + ".time_axis", 2)}, name + ".frames");
  const std::string dof =
      g_.Node("Cast", {Op("Sub", frames, g_.IntScalar(name + ".one", 1), name + ".frames_1")},
              name + ".dof", {{"to", int64_t{1}}});  // float
  const std::string var = Op("Div", ss, dof, name + ".var_unbiased");
  const std::string std = g_.Node(
      "Sqrt",
      {Op("Add", var, g_.Scalar(name + ".eps", kContextVarianceEpsilon), name + ".var_eps")},
      name + ".global_std");
  const std::string context = g_.Node("Concat",
                                      {x, g_.Node("Expand", {mean, shape}, name + ".mean_t"),
                                       g_.Node("Expand", {std, shape}, name + ".std_t")},
                                      name + ".context", {{"axis", int64_t{1}}});
  const auto& att = *p.attention;
  std::string h = Tdnn(context, *att.first_affine, name + ".attention.first_affine");
  h = g_.Node("Tanh", {h}, name + ".attention.tanh");
  h = Tdnn(h, *att.last_affine, name + ".attention.last_affine");
  const std::string alpha = g_.Node("Softmax", {h}, name + ".alpha", {{"axis", int64_t{2}}});
  const auto [wmean, wstd] = WeightedStats(alpha, x, 2, true, name);
  return g_.Node("Concat", {wmean, wstd}, name, {{"axis", int64_t{1}}});
}

std::string ModelEmitter::AttentivePool(const std::string& x, const AttentiveStatisticsPooling& p,
                                        const std::string& name) {
  const auto& att = *p.attention;
  std::string h =
      Relu(Tdnn(x, *att.first_affine, name + ".attention.first_affine"), name + ".attention");
  h = Tdnn(h, *att.last_affine, name + ".attention.last_affine");  // [B, 1, T]
  const std::string alpha = g_.Node("Softmax", {h}, name + ".alpha", {{"axis", int64_t{2}}});
  const auto [mean, std] = WeightedStats(alpha, x, 2, true, name);  // [B, D, 1]
  return g_.Node("Concat", {mean, std}, name, {{"axis", int64_t{1}}});
}

std::string ModelEmitter::MultiResolutionPool(const std::string& x,
                                              const MultiResolutionAttentionPooling& p,
                                              const std::string& name) {
  const auto& att = *p.attention;
  const auto buffers = att.named_buffers(/*recurse=*/false);
  const torch::Tensor* t = buffers.find("t");
  SN_CHECK(t != nullptr, "ONNX export: {}.attention has no temperature buffer 't'", name);
  std::string h =
      Relu(Tdnn(x, *att.first_affine, name + ".attention.first_affine"), name + ".attention");
  h = Unsqueeze(Tdnn(h, *att.last_affine, name + ".attention.last_affine"), {2},
                name + ".scores");  // [B, H, 1, T]
  h = Op("Div", h, EmitTensor(g_, name + ".attention.t", *t), name + ".scaled");
  const std::string alpha = g_.Node("Softmax", {h}, name + ".alpha", {{"axis", int64_t{3}}});
  const std::string xs = Unsqueeze(x, {1}, name + ".x4");             // [B, 1, D, T]
  const auto [mean, std] = WeightedStats(alpha, xs, 3, false, name);  // [B, H, D]
  return Unsqueeze(g_.Node("Concat",
                           {Reshape(mean, {0, -1}, name + ".mean_flat"),
                            Reshape(std, {0, -1}, name + ".std_flat")},
                           name + ".cat", {{"axis", int64_t{1}}}),
                   {2}, name);
}

std::string ModelEmitter::Pooling(const std::string& x, const speakernet::Pooling& p,
                                  const std::string& name) {
  if (dynamic_cast<const StatisticsPooling*>(&p)) return StatisticsPool(x, name);
  if (const auto* mh = dynamic_cast<const MultiHeadAttentionPooling*>(&p)) {
    return MultiHeadPool(x, *mh, name);
  }
  if (const auto* cc = dynamic_cast<const ChannelContextStatisticsPooling*>(&p)) {
    return ChannelContextPool(x, *cc, name);
  }
  if (const auto* at = dynamic_cast<const AttentiveStatisticsPooling*>(&p)) {
    return AttentivePool(x, *at, name);
  }
  if (const auto* mr = dynamic_cast<const MultiResolutionAttentionPooling*>(&p)) {
    return MultiResolutionPool(x, *mr, name);
  }
  Fail("ONNX export: the pooling '" + name + "' (" + p.name() + ") is not supported");
}

std::string ModelEmitter::XVector(const std::string& feats, const XVectorSpeakerModel& m) {
  std::string x = Tdnn(feats, *m.tdnn1, "tdnn1");
  x = Tdnn(x, *m.tdnn2, "tdnn2");
  x = Tdnn(x, *m.tdnn3, "tdnn3");
  x = Tdnn(x, *m.tdnn4, "tdnn4");
  x = Tdnn(x, *m.tdnn5, "tdnn5");
  x = Pooling(x, *m.stats, "stats");
  x = Tdnn(x, *m.tdnn6, "tdnn6");
  x = Conv1d(x, *m.tdnn7->affine, "tdnn7.affine");  // the "near" embedding: before ReLU/BN
  return Squeeze(x, {2}, "embedding_raw");
}

std::string ModelEmitter::EcapaBlock(const std::string& x, const SERes2BlockImpl& b,
                                     const std::string& name) {
  std::string y = Tdnn(x, *b.t1, name + ".se_res2block.0");
  // Res2: chunks s_0..s_{scale-1}; y_0 = conv_0(s_0), y_i = conv_i(y_{i-1} + s_i), last untouched.
  const auto& res2 = *b.res2;
  const int64_t scale = static_cast<int64_t>(res2.blocks->size()) + 1;
  const int64_t width = b.t1->affine->weight.size(0) / scale;
  const std::string prefix = name + ".se_res2block.1.blocks.";
  const auto splits =
      g_.NodeN("Split", {y, g_.IntList(name + ".split", std::vector<int64_t>(scale, width))},
               static_cast<int>(scale), name + ".res2_split", {{"axis", int64_t{1}}});
  std::vector<std::string> outs;
  std::string prev;
  for (int64_t i = 0; i + 1 < scale; ++i) {
    const std::string in =
        i == 0 ? splits[0] : Op("Add", prev, splits[i], prefix + std::to_string(i) + ".in");
    prev = Tdnn(in, *res2.blocks->ptr<Conv1dBnReluLayerImpl>(i), prefix + std::to_string(i));
    outs.push_back(prev);
  }
  outs.push_back(splits[scale - 1]);
  y = g_.Node("Concat", outs, name + ".res2", {{"axis", int64_t{1}}});
  y = Tdnn(y, *b.t2, name + ".se_res2block.2");
  // SE: x * sigmoid(linear2(relu(linear1(mean_t x)))).
  const std::string se = name + ".se_res2block.3";
  std::string s = ReduceMean(y, {2}, false, se + ".squeeze");
  s = Relu(Linear(s, *b.se->linear1, se + ".linear1"), se + ".linear1");
  s = g_.Node("Sigmoid", {Linear(s, *b.se->linear2, se + ".linear2")}, se + ".gate");
  y = Op("Mul", y, Unsqueeze(s, {2}, se + ".gate3"), se);
  return Op("Add", x, y, name);
}

std::string ModelEmitter::Ecapa(const std::string& feats, const EcapaTdnnSpeakerModel& m) {
  std::string x = Tdnn(feats, *m.layer1, "layer1");
  std::vector<std::string> outs;
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    x = EcapaBlock(x, *m.blocks[i], "layer" + std::to_string(i + 2));
    outs.push_back(x);
  }
  x = g_.Node("Concat", outs, "layer_cat", {{"axis", int64_t{1}}});
  x = Tdnn(x, *m.aggregation, "layer" + std::to_string(m.blocks.size() + 2));
  x = Pooling(x, *m.pooling, "pooling");
  x = Bn<1>(x, *m.bn_pool, "bn_pool");
  x = Tdnn(x, *m.fc2, "fc2");
  return Squeeze(x, {2}, "embedding_raw");
}

std::string ModelEmitter::Se2d(const std::string& x, const SEBlock2dImpl& se,
                               const std::string& name) {
  std::string s = ReduceMean(x, {2, 3}, false, name + ".squeeze");
  s = Relu(Linear(s, *se.fc_1, name + ".fc_1"), name + ".fc_1");
  s = g_.Node("Sigmoid", {Linear(s, *se.fc_2, name + ".fc_2")}, name + ".gate");
  return Op("Mul", x, Unsqueeze(s, {2, 3}, name + ".gate4"), name);
}

std::string ModelEmitter::ResNetBlock(const std::string& x, const ResidualBlock& block,
                                      const std::string& name) {
  std::string out;
  const nn::Sequential* downsample = nullptr;
  const SEBlock2d* se = nullptr;
  if (const auto* b = dynamic_cast<const PreActBasicBlock*>(&block)) {
    out = Conv2d(Relu(Bn<2>(x, *b->bn1, name + ".bn1"), name + ".bn1"), *b->conv1, name + ".conv1");
    out =
        Conv2d(Relu(Bn<2>(out, *b->bn2, name + ".bn2"), name + ".bn2"), *b->conv2, name + ".conv2");
    downsample = &b->downsample;
    se = &b->se;
  } else if (const auto* b = dynamic_cast<const PreActBottleneck*>(&block)) {
    out = Conv2d(Relu(Bn<2>(x, *b->bn1, name + ".bn1"), name + ".bn1"), *b->conv1, name + ".conv1");
    out =
        Conv2d(Relu(Bn<2>(out, *b->bn2, name + ".bn2"), name + ".bn2"), *b->conv2, name + ".conv2");
    out =
        Conv2d(Relu(Bn<2>(out, *b->bn3, name + ".bn3"), name + ".bn3"), *b->conv3, name + ".conv3");
    downsample = &b->downsample;
    se = &b->se;
  } else {
    Fail("ONNX export: residual block '" + name + "' is of an unknown kind");
  }
  if (*se) out = Se2d(out, **se, name + ".se");
  std::string shortcut = x;
  if (*downsample) {
    const auto& seq = **downsample;
    shortcut = Conv2d(x, *seq.ptr<nn::Conv2dImpl>(0), name + ".downsample.0");
    shortcut = Bn<2>(shortcut, *seq.ptr<SyncBatchNorm2dImpl>(1), name + ".downsample.1");
  }
  return Op("Add", out, shortcut, name);
}

std::string ModelEmitter::Head2d(const std::string& trunk, int64_t pooling_input_dim,
                                 const speakernet::Pooling& pooling,
                                 const Conv1dBnReluLayerImpl& fc2,
                                 const std::string& pooling_name) {
  // [B, C, F', T'] -> [B, C*F', T'] (channel index c*F' + f).
  std::string x = Reshape(trunk, {0, pooling_input_dim, -1}, "trunk_flat");
  x = Pooling(x, pooling, pooling_name);
  x = Tdnn(x, fc2, "fc2");
  return Squeeze(x, {2}, "embedding_raw");
}

std::string ModelEmitter::ResNet(const std::string& feats, const ResNetSpeakerModel& m) {
  const auto& trunk = *m.resnet;
  std::string x = Unsqueeze(feats, {1}, "resnet.input");
  x = Relu(Bn<2>(Conv2d(x, *trunk.conv1, "resnet.conv1"), *trunk.bn1, "resnet.bn1"), "resnet.bn1");
  for (size_t stage = 0; stage < trunk.layers.size(); ++stage) {
    const auto& list = *trunk.layers[stage];
    for (size_t i = 0; i < list.size(); ++i) {
      const auto block = std::dynamic_pointer_cast<ResidualBlock>(list.ptr(i));
      SN_CHECK(block != nullptr, "ONNX export: resnet.layer{}.{} is not a residual block",
               stage + 1, i);
      x = ResNetBlock(x, *block,
                      "resnet.layer" + std::to_string(stage + 1) + "." + std::to_string(i));
    }
  }
  return Head2d(x, m.PoolingInputDim(), *m.stats, *m.fc2, "stats");
}

std::string ModelEmitter::RepVgg(const std::string& feats, const RepVggSpeakerModel& m) {
  SN_CHECK(m.Deployed(),
           "ONNX export: the RepVGG model must be re-parameterised first (load it with deploy)");
  std::string x = Unsqueeze(feats, {1}, "repvgg.input");
  const auto& blocks = m.repvgg->Blocks();
  for (size_t i = 0; i < blocks.size(); ++i) {
    const std::string name = "repvgg.block" + std::to_string(i) + ".rbr_reparam";
    x = Relu(Conv2d(x, *blocks[i]->rbr_reparam, name), name);
  }
  return Head2d(x, m.PoolingInputDim(), *m.stats, *m.fc2, "stats");
}

// --- WeSpeaker's families ---------------------------------------------------------------------

constexpr float kWeSpeakerVarEps = 1e-7f;   // models/wespeaker_pooling.cpp
constexpr int64_t kCamSegmentFrames = 100;  // models/campplus.cpp

// sqrt(unbiased var_t x + 1e-7) over the last axis of [B, D, T].
std::string ModelEmitter::UnbiasedStd(const std::string& x, bool keep, const std::string& name) {
  const std::string mean = ReduceMean(x, {2}, true, name + ".mean");
  const std::string d = Op("Sub", x, mean, name + ".centred");
  const std::string ss = ReduceSum(Op("Mul", d, d, name + ".sq"), {2}, keep, name + ".ss");
  const std::string frames = g_.Node(
      "Gather", {g_.Node("Shape", {x}, name + ".shape"), g_.IntScalar(name + ".time_axis", 2)},
      name + ".frames");
  const std::string dof =
      g_.Node("Cast", {Op("Sub", frames, g_.IntScalar(name + ".one", 1), name + ".frames_1")},
              name + ".dof", {{"to", int64_t{1}}});
  const std::string var = Op("Div", ss, dof, name + ".var");
  return g_.Node("Sqrt",
                 {Op("Add", var, g_.Scalar(name + ".eps", kWeSpeakerVarEps), name + ".var_eps")},
                 name);
}

std::string ModelEmitter::WeSpeakerPool(const std::string& x, const WeSpeakerPooling& p,
                                        const std::string& name) {
  if (const auto* ts = dynamic_cast<const TemporalStatsPooling*>(&p)) {
    std::vector<std::string> parts;
    if (ts->has_mean()) parts.push_back(ReduceMean(x, {2}, false, name + ".mean"));
    if (ts->has_std()) parts.push_back(UnbiasedStd(x, false, name + ".std"));
    return parts.size() == 1 ? parts[0] : g_.Node("Concat", parts, name, {{"axis", int64_t{1}}});
  }
  const auto* as = dynamic_cast<const AttentiveStatsPooling*>(&p);
  if (as == nullptr) Fail("ONNX export: the WeSpeaker pooling '" + name + "' is not supported");
  std::string x_in = x;
  if (as->global_context_att()) {
    const std::string shape = g_.Node("Shape", {x}, name + ".x_shape");
    x_in = g_.Node(
        "Concat",
        {x, g_.Node("Expand", {ReduceMean(x, {2}, true, name + ".mean"), shape}, name + ".mean_t"),
         g_.Node("Expand", {UnbiasedStd(x, true, name + ".std"), shape}, name + ".std_t")},
        name + ".context", {{"axis", int64_t{1}}});
  }
  std::string h = g_.Node("Tanh", {Conv1d(x_in, *as->linear1, name + ".linear1")}, name + ".tanh");
  h = Conv1d(h, *as->linear2, name + ".linear2");
  const std::string alpha = g_.Node("Softmax", {h}, name + ".alpha", {{"axis", int64_t{2}}});
  const std::string ax = Op("Mul", alpha, x, name + ".ax");
  const std::string mean = ReduceSum(ax, {2}, false, name + ".wmean");
  const std::string mean_sq =
      ReduceSum(Op("Mul", ax, x, name + ".axx"), {2}, false, name + ".wmean_sq");
  const std::string var = Op("Sub", mean_sq, Op("Mul", mean, mean, name + ".mean2"), name + ".var");
  const std::string std = g_.Node(
      "Sqrt", {Op("Max", var, g_.Scalar(name + ".floor", kWeSpeakerVarEps), name + ".clamp")},
      name + ".wstd");
  return g_.Node("Concat", {mean, std}, name, {{"axis", int64_t{1}}});
}

// [B, C, F, T] -> [B, C * F, T] (x.flatten(1, 2)).
std::string ModelEmitter::FlattenChannelsRows(const std::string& x, const std::string& name) {
  const std::string shape = g_.Node("Shape", {x}, name + ".shape");
  const std::string frames = g_.Node("Slice",
                                     {shape, g_.IntList(name + ".s", {3}),
                                      g_.IntList(name + ".e", {4}), g_.IntList(name + ".a", {0})},
                                     name + ".frames");
  const std::string target = g_.Node("Concat", {g_.IntList(name + ".head", {0, -1}), frames},
                                     name + ".target", {{"axis", int64_t{0}}});
  return g_.Node("Reshape", {x, target}, name);
}

std::string ModelEmitter::WeSpeakerResBlockOut(const std::string& x, const WeSpeakerResBlockImpl& b,
                                               const std::string& name) {
  std::string out =
      Relu(Bn<2>(Conv2d(x, *b.conv1, name + ".conv1"), *b.bn1, name + ".bn1"), name + ".bn1");
  out = Bn<2>(Conv2d(out, *b.conv2, name + ".conv2"), *b.bn2, name + ".bn2");
  if (b.conv3) {
    out = Bn<2>(Conv2d(Relu(out, name + ".bn2"), *b.conv3, name + ".conv3"), *b.bn3, name + ".bn3");
  }
  std::string shortcut = x;
  if (b.shortcut) {
    const auto& seq = *b.shortcut;
    shortcut = Bn<2>(Conv2d(x, *seq.ptr<nn::Conv2dImpl>(0), name + ".shortcut.0"),
                     *seq.ptr<SyncBatchNorm2dImpl>(1), name + ".shortcut.1");
  }
  return Relu(Op("Add", out, shortcut, name + ".sum"), name);
}

std::string ModelEmitter::WeSpeakerResNet(const std::string& feats, const WeSpeakerResNetModel& m) {
  std::string x = Unsqueeze(feats, {1}, "input");
  x = Relu(Bn<2>(Conv2d(x, *m.conv1, "conv1"), *m.bn1, "bn1"), "bn1");
  for (size_t s = 0; s < m.layers.size(); ++s) {
    const auto& stage = *m.layers[s];
    for (size_t i = 0; i < stage.size(); ++i) {
      x = WeSpeakerResBlockOut(x, *stage.ptr<WeSpeakerResBlockImpl>(i),
                               "layer" + std::to_string(s + 1) + "." + std::to_string(i));
    }
  }
  x = WeSpeakerPool(FlattenChannelsRows(x, "flatten"), *m.pool, "pool");
  x = Linear(x, *m.seg_1, "seg_1");
  if (!m.seg_2) return x;
  x = Bn<1>(Relu(x, "seg_1"), *m.seg_bn_1, "seg_bn_1");
  return Linear(x, *m.seg_2, "seg_2");
}

std::string ModelEmitter::ConvReluBn(const std::string& x, const EcapaConvReluBnImpl& l,
                                     const std::string& name) {
  return Bn<1>(Relu(Conv1d(x, *l.conv, name + ".conv"), name), *l.bn, name + ".bn");
}

std::string ModelEmitter::WeSpeakerEcapaBlock(const std::string& x, const EcapaSERes2BlockImpl& b,
                                              const std::string& name) {
  const auto& seq = *b.se_res2block;
  const std::string p = name + ".se_res2block.";
  std::string y = ConvReluBn(x, *seq.ptr<EcapaConvReluBnImpl>(0), p + "0");
  const auto& res2 = *seq.ptr<EcapaRes2ConvImpl>(1);
  const int64_t convs = static_cast<int64_t>(res2.convs->size());
  const int64_t width = res2.convs->ptr<nn::Conv1dImpl>(0)->weight.size(0);
  const auto splits =
      g_.NodeN("Split", {y, g_.IntList(p + "1.split", std::vector<int64_t>(convs + 1, width))},
               static_cast<int>(convs + 1), p + "1.splits", {{"axis", int64_t{1}}});
  std::vector<std::string> outs;
  std::string sp;
  for (int64_t i = 0; i < convs; ++i) {
    const std::string n = p + "1." + std::to_string(i);
    sp = i == 0 ? splits[0] : Op("Add", sp, splits[i], n + ".in");
    sp = Relu(Conv1d(sp, *res2.convs->ptr<nn::Conv1dImpl>(i), n + ".conv"), n);
    sp = Bn<1>(sp, *res2.bns->ptr<SyncBatchNorm1dImpl>(i), n + ".bn");
    outs.push_back(sp);
  }
  outs.push_back(splits[convs]);
  y = g_.Node("Concat", outs, p + "1", {{"axis", int64_t{1}}});
  y = ConvReluBn(y, *seq.ptr<EcapaConvReluBnImpl>(2), p + "2");
  const auto& se = *seq.ptr<EcapaSEConnectImpl>(3);
  std::string s = ReduceMean(y, {2}, false, p + "3.squeeze");
  s = Relu(Linear(s, *se.linear1, p + "3.linear1"), p + "3.linear1");
  s = g_.Node("Sigmoid", {Linear(s, *se.linear2, p + "3.linear2")}, p + "3.gate");
  y = Op("Mul", y, Unsqueeze(s, {2}, p + "3.gate3"), p + "3");
  return Op("Add", x, y, name);
}

std::string ModelEmitter::WeSpeakerEcapa(const std::string& feats, const WeSpeakerEcapaModel& m) {
  const std::string out1 = ConvReluBn(feats, *m.layer1, "layer1");
  const std::string out2 = WeSpeakerEcapaBlock(out1, *m.layer2, "layer2");
  const std::string out3 = WeSpeakerEcapaBlock(out2, *m.layer3, "layer3");
  const std::string out4 = WeSpeakerEcapaBlock(out3, *m.layer4, "layer4");
  std::string x = g_.Node("Concat", {out2, out3, out4}, "cat", {{"axis", int64_t{1}}});
  x = Relu(Conv1d(x, *m.conv, "conv"), "conv");
  x = Bn<1>(WeSpeakerPool(x, *m.pool, "pool"), *m.bn, "bn");
  x = Linear(x, *m.linear, "linear");
  return m.bn2 ? Bn<1>(x, *m.bn2, "bn2") : x;
}

std::string ModelEmitter::CamBnRelu(const std::string& x, const CamBnReluImpl& l,
                                    const std::string& name) {
  const std::string y = Bn<1>(x, *l.batchnorm, name + ".batchnorm");
  return l.relu() ? Relu(y, name) : y;
}

std::string ModelEmitter::CamTdnn(const std::string& x, const CamTdnnImpl& l,
                                  const std::string& name) {
  if (l.bn_first()) {
    return Conv1d(CamBnRelu(x, *l.nonlinear, name + ".nonlinear"), *l.linear, name + ".linear");
  }
  return CamBnRelu(Conv1d(x, *l.linear, name + ".linear"), *l.nonlinear, name + ".nonlinear");
}

// The mean of each 100-frame segment of [B, C, T] (the last one partial), repeated over the
// segment's frames: [B, C, T].
std::string ModelEmitter::CamSegmentMeans(const std::string& x, const std::string& name) {
  const int64_t k = kCamSegmentFrames;
  const std::string frames = g_.Node(
      "Gather", {g_.Node("Shape", {x}, name + ".shape"), g_.IntScalar(name + ".time_axis", 2)},
      name + ".frames");
  const std::string segments =
      Op("Div", Op("Add", frames, g_.IntScalar(name + ".k_1", k - 1), name + ".frames_k"),
         g_.IntScalar(name + ".k", k), name + ".segments");
  const std::string padded_len = Op("Mul", segments, g_.IntScalar(name + ".k2", k), name + ".len");
  const std::string pad = Op("Sub", padded_len, frames, name + ".pad");
  const auto one_d = [&](const std::string& v, const std::string& n) {
    return g_.Node("Unsqueeze", {v, g_.IntList(n + ".axes", {0})}, n);
  };
  const std::string pads = g_.Node(
      "Concat", {g_.IntList(name + ".pads_head", {0, 0, 0, 0, 0}), one_d(pad, name + ".pad1")},
      name + ".pads", {{"axis", int64_t{0}}});
  const std::string xp = g_.Node("Pad", {x, pads}, name + ".padded");
  const std::string shape4 =
      g_.Node("Concat",
              {g_.IntList(name + ".shape_head", {0, 0}), one_d(segments, name + ".seg1"),
               g_.IntList(name + ".shape_k", {k})},
              name + ".shape4", {{"axis", int64_t{0}}});
  const std::string sums =
      ReduceSum(g_.Node("Reshape", {xp, shape4}, name + ".by_segment"), {3}, true,
                name + ".sums");  // [B, C, S, 1]
  // Frames per segment: min(k, T - k s).
  const std::string s =
      g_.Node("Range", {g_.IntScalar(name + ".zero", 0), segments, g_.IntScalar(name + ".one", 1)},
              name + ".s");
  const std::string left =
      Op("Sub", frames, Op("Mul", s, g_.IntScalar(name + ".k3", k), name + ".ks"), name + ".left");
  const std::string counts =
      g_.Node("Cast", {Op("Min", left, g_.IntScalar(name + ".k4", k), name + ".counts_i")},
              name + ".counts", {{"to", int64_t{1}}});
  const std::string means =
      Op("Div", sums, Unsqueeze(counts, {1}, name + ".counts2"), name + ".means");
  const std::string repeated = g_.Node(
      "Reshape",
      {g_.Node("Expand", {means, g_.IntList(name + ".rep", {1, 1, 1, k})}, name + ".expanded"),
       g_.IntList(name + ".flat", {0, 0, -1})},
      name + ".repeated");
  return g_.Node("Slice",
                 {repeated, g_.IntList(name + ".start", {0}), one_d(frames, name + ".end"),
                  g_.IntList(name + ".axis", {2})},
                 name);
}

std::string ModelEmitter::CamDense(const std::string& x, const CamDenseLayerImpl& l,
                                   const std::string& name) {
  std::string y = CamBnRelu(x, *l.nonlinear1, name + ".nonlinear1");
  y = CamBnRelu(Conv1d(y, *l.linear1, name + ".linear1"), *l.nonlinear2, name + ".nonlinear2");
  const auto& cam = *l.cam_layer;
  const std::string c = name + ".cam_layer";
  const std::string context = Op("Add", ReduceMean(y, {2}, true, c + ".mean"),
                                 CamSegmentMeans(y, c + ".seg"), c + ".context_in");
  std::string gate = Relu(Conv1d(context, *cam.linear1, c + ".linear1"), c + ".linear1");
  gate = g_.Node("Sigmoid", {Conv1d(gate, *cam.linear2, c + ".linear2")}, c + ".gate");
  return Op("Mul", Conv1d(y, *cam.linear_local, c + ".linear_local"), gate, c);
}

std::string ModelEmitter::CamPlus(const std::string& feats, const CamPlusModel& m) {
  const auto& head = *m.head;
  std::string x = Unsqueeze(feats, {1}, "head.input");
  x = Relu(Bn<2>(Conv2d(x, *head.conv1, "head.conv1"), *head.bn1, "head.bn1"), "head.bn1");
  for (const auto* layer : {&head.layer1, &head.layer2}) {
    const std::string n = layer == &head.layer1 ? "head.layer1." : "head.layer2.";
    for (size_t i = 0; i < (*layer)->size(); ++i) {
      x = WeSpeakerResBlockOut(x, *(*layer)->ptr<WeSpeakerResBlockImpl>(i), n + std::to_string(i));
    }
  }
  x = Relu(Bn<2>(Conv2d(x, *head.conv2, "head.conv2"), *head.bn2, "head.bn2"), "head.bn2");
  x = FlattenChannelsRows(x, "head.flatten");
  const auto& xv = *m.xvector;
  x = CamTdnn(x, *xv.tdnn, "xvector.tdnn");
  for (size_t b = 0; b < xv.blocks.size(); ++b) {
    const std::string n = "xvector.block" + std::to_string(b + 1);
    for (size_t j = 0; j < xv.blocks[b]->tdnnd.size(); ++j) {
      const std::string lj = n + ".tdnnd" + std::to_string(j + 1);
      x = g_.Node("Concat", {x, CamDense(x, *xv.blocks[b]->tdnnd[j], lj)}, lj + ".cat",
                  {{"axis", int64_t{1}}});
    }
    x = CamTdnn(x, *xv.transits[b], "xvector.transit" + std::to_string(b + 1));
  }
  x = CamBnRelu(x, *xv.out_nonlinear, "xvector.out_nonlinear");
  x = Unsqueeze(WeSpeakerPool(x, *xv.stats, "xvector.stats"), {2}, "xvector.stats3");
  x = CamTdnn(x, *xv.dense, "xvector.dense");
  return Squeeze(x, {2}, "embedding_raw");
}

}  // namespace

std::string EmitSpeakerModel(OnnxGraph& g, const SpeakerModel& model, const std::string& feats) {
  SN_CHECK(!model.is_training(), "ONNX export: the model must be in eval mode");
  ModelEmitter e(g);
  if (const auto* m = dynamic_cast<const XVectorSpeakerModel*>(&model)) return e.XVector(feats, *m);
  if (const auto* m = dynamic_cast<const EcapaTdnnSpeakerModel*>(&model)) return e.Ecapa(feats, *m);
  if (const auto* m = dynamic_cast<const ResNetSpeakerModel*>(&model)) return e.ResNet(feats, *m);
  if (const auto* m = dynamic_cast<const RepVggSpeakerModel*>(&model)) return e.RepVgg(feats, *m);
  if (const auto* m = dynamic_cast<const WeSpeakerResNetModel*>(&model)) {
    return e.WeSpeakerResNet(feats, *m);
  }
  if (const auto* m = dynamic_cast<const WeSpeakerEcapaModel*>(&model)) {
    return e.WeSpeakerEcapa(feats, *m);
  }
  if (const auto* m = dynamic_cast<const CamPlusModel*>(&model)) return e.CamPlus(feats, *m);
  Fail("ONNX export: this model family (" + model.name() + ") is not supported yet");
}

}  // namespace speakernet
