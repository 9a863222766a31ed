#include "speakernet/models/conv1d_bn_layer.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <atomic>

#include "speakernet/common/error.h"

namespace speakernet {
namespace {

std::atomic<bool> g_pointwise_onednn{true};

// The cases ATen's use_mkldnn heuristic keeps out of oneDNN although oneDNN is faster there.
bool RoutePointwiseToOneDnn(const torch::Tensor& x, const torch::nn::Conv1d& conv) {
  const auto& w = conv->weight;
  return g_pointwise_onednn.load(std::memory_order_relaxed) && at::hasMKLDNN() &&
         x.device().is_cpu() && x.scalar_type() == torch::kFloat &&
         w.scalar_type() == torch::kFloat && x.dim() == 3 && x.size(0) < 16 && x.size(2) > 0 &&
         w.size(2) == 1 && at::get_num_threads() == 1 && !x.is_mkldnn() &&
         !(torch::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad()));
}

// [B, C, T] 1x1 convolution through oneDNN, as a [B, C, 1, T] 2-D one.
torch::Tensor OneDnnPointwise(const torch::Tensor& x, const torch::nn::Conv1d& conv) {
  const auto& bias = conv->bias;
  const c10::optional<torch::Tensor> b =
      bias.defined() ? c10::optional<torch::Tensor>(bias) : c10::nullopt;
  const int64_t zero[2] = {0, 0}, one[2] = {1, 1};
  return at::mkldnn_convolution(x.contiguous().unsqueeze(2), conv->weight.unsqueeze(2), b, zero,
                                one, one, conv->options.groups())
      .squeeze(2);
}

}  // namespace

void SetPointwiseConvOneDnn(bool enabled) { g_pointwise_onednn = enabled; }
bool PointwiseConvOneDnn() { return g_pointwise_onednn; }

Conv1dBnReluLayerImpl::Conv1dBnReluLayerImpl(int64_t input_dim, int64_t output_dim,
                                             const Conv1dBnReluOptions& options)
    : relu_(options.relu) {
  const auto& ctx = options.context;
  SN_CHECK(!ctx.empty(), "Conv1dBnReluLayer: empty context");
  const int64_t kernel = static_cast<int64_t>(ctx.size());
  const int64_t dilation = kernel > 1 ? ctx[1] - ctx[0] : 1;
  SN_CHECK(dilation > 0, "Conv1dBnReluLayer: context must be increasing");
  const int64_t padding = (ctx.back() - ctx.front() + 1) / 2;
  affine = register_module("affine",
                           torch::nn::Conv1d(torch::nn::Conv1dOptions(input_dim, output_dim, kernel)
                                                 .dilation(dilation)
                                                 .padding(padding)
                                                 .groups(options.groups)
                                                 .bias(options.bias)));
  if (options.batchnorm) {
    batchnorm = register_module("batchnorm",
                                SyncBatchNorm1d(torch::nn::BatchNorm1dOptions(output_dim)
                                                           .momentum(options.bn_momentum)
                                                           .affine(options.bn_affine)));
  }
}

torch::Tensor Conv1dBnReluLayerImpl::forward(const torch::Tensor& x) {
  auto y = RoutePointwiseToOneDnn(x, affine) ? OneDnnPointwise(x, affine) : affine->forward(x);
  if (relu_) y = torch::relu(y);
  if (batchnorm) y = batchnorm->forward(y);
  return y;
}

}  // namespace speakernet
