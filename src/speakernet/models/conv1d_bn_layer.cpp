#include "speakernet/models/conv1d_bn_layer.h"

#include "speakernet/common/error.h"

namespace speakernet {

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
  auto y = affine->forward(x);
  if (relu_) y = torch::relu(y);
  if (batchnorm) y = batchnorm->forward(y);
  return y;
}

}  // namespace speakernet
