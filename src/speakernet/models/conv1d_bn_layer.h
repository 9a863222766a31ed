// A 1-D convolution over time with optional ReLU and BatchNorm, in that order (speaker-net's
// default "relu-bn" order). Children are named `affine` (Conv1d) and `batchnorm`, which is what
// checkpoints of speaker-net's `fc2`, pooling and TDNN layers use.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "speakernet/models/sync_batch_norm.h"

namespace speakernet {

struct Conv1dBnReluOptions {
  // Frame offsets of the kernel taps: {0} is a 1x1 conv; {-2, 0, 2} is kernel 3, dilation 2.
  std::vector<int64_t> context{0};
  bool bias = true;
  int64_t groups = 1;
  bool relu = true;
  bool batchnorm = true;
  double bn_momentum = 0.1;  // PyTorch convention
  bool bn_affine = true;
};

class Conv1dBnReluLayerImpl : public torch::nn::Module {
 public:
  Conv1dBnReluLayerImpl(int64_t input_dim, int64_t output_dim, const Conv1dBnReluOptions& options);

  // x: [B, input_dim, T] -> [B, output_dim, T'].
  torch::Tensor forward(const torch::Tensor& x);
  bool relu() const { return relu_; }

  torch::nn::Conv1d affine{nullptr};
  SyncBatchNorm1d batchnorm{nullptr};  // null when options.batchnorm is false

 private:
  bool relu_;
};
TORCH_MODULE(Conv1dBnReluLayer);

// Inference of 1x1 convolutions on one CPU thread goes to oneDNN (on by default). ATen's
// dispatch sends a 1x1 convolution with batch < 16 on one intra-op thread to its im2col + BLAS
// path instead of oneDNN; with Debian's OpenBLAS that path was 3-4x slower on an Intel VM it
// misdetected (docs/extraction.md, "Speed per core"). Applies to CPU float32 tensors without
// autograd; the result equals LibTorch's to float rounding. The switch is for tests and benches.
void SetPointwiseConvOneDnn(bool enabled);
bool PointwiseConvOneDnn();

}  // namespace speakernet
