// BatchNorm that can normalise over the global batch of all data-parallel ranks (PyTorch's
// SyncBatchNorm, which speaker-net converts every BN to under DDP).
//
// SyncBatchNorm1d/2d have torch::nn::BatchNorm1d/2d's options, parameter and buffer names (so
// state dicts and checkpoints are unchanged) and, without a hook or in eval mode, exactly its
// forward. Their forward differs only when the module is training AND a BatchNormSync is
// installed on the calling thread (the trainer installs one under multi-process training with
// trainer.sync_bn). They are modules of their own rather than subclasses of torch's BatchNorm:
// a subclass's construction vtables name BatchNormImplBase<D>::pretty_print, which Debian's
// LibTorch 1.13 does not export, and defining torch's specialisation here would clash with
// LibTorch builds that do.
//
// The synchronised path (SyncBatchNormFunction, a custom autograd function):
//  forward:  all-reduce per channel [sum x, sum x^2, count] (count may differ per rank), take the
//            biased variance over the global count to normalise, and update running_mean /
//            running_var / num_batches_tracked as torch.nn.SyncBatchNorm does (unbiased variance
//            over the global count, momentum, or the cumulative average when momentum is None).
//  backward: all-reduce per channel [sum dy, sum dy*xhat]; the input gradient is torch's
//            batch_norm_backward_elemt with those global sums; weight/bias gradients are this
//            rank's local sums (the data-parallel gradient averaging combines them), as in torch.
// So the input gradient on each rank is the gradient of the SUM of all ranks' losses, as in torch.
//
// models/ does not depend on training/: the collective is reached through this interface.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace speakernet {

// The collective a synchronised BN needs. Every rank calls it in the same order with tensors of
// the same shapes and dtypes (every rank runs the same BN layers in the same order).
class BatchNormSync {
 public:
  virtual ~BatchNormSync() = default;
  // Element-wise sum over all ranks of each tensor, in place.
  virtual void AllReduceSum(std::vector<torch::Tensor>& tensors) = 0;
};

// The calling thread's hook (nullptr = none: plain BN). Thread-local rather than global so that
// ranks simulated on threads of one process (tests) each have their own; the model forward must
// run on the thread that installed it (the backward uses the hook captured at forward time, so
// autograd's device threads are fine). The hook must outlive every graph built while installed.
BatchNormSync* CurrentBatchNormSync();
// Installs `sync` (may be nullptr) for the calling thread; returns the previous one.
BatchNormSync* SetBatchNormSync(BatchNormSync* sync);

// Installs a hook for the lifetime of the guard, then restores the previous one.
class ScopedBatchNormSync {
 public:
  explicit ScopedBatchNormSync(BatchNormSync* sync) : previous_(SetBatchNormSync(sync)) {}
  ~ScopedBatchNormSync() { SetBatchNormSync(previous_); }
  ScopedBatchNormSync(const ScopedBatchNormSync&) = delete;
  ScopedBatchNormSync& operator=(const ScopedBatchNormSync&) = delete;

 private:
  BatchNormSync* previous_;
};

// Training-mode batch norm with statistics over all ranks of `sync` (see above). `running_*`
// may be undefined (no running statistics) and are updated in place with `momentum` (the
// caller resolves momentum None to 1 / num_batches_tracked, as torch); `weight`/`bias` are
// undefined without affine. Input (N, C, *) with any number of trailing dims.
torch::Tensor SyncBatchNormTrain(const torch::Tensor& input, const torch::Tensor& weight,
                                 const torch::Tensor& bias, const torch::Tensor& running_mean,
                                 const torch::Tensor& running_var, double momentum, double eps,
                                 BatchNormSync& sync);

// Batch norm over (N, C, *) inputs: D = 1 takes (N, C) or (N, C, L), D = 2 takes (N, C, H, W).
template <size_t D>
class SyncBatchNormImpl : public torch::nn::Cloneable<SyncBatchNormImpl<D>> {
 public:
  explicit SyncBatchNormImpl(int64_t num_features)
      : SyncBatchNormImpl(torch::nn::BatchNormOptions(num_features)) {}
  explicit SyncBatchNormImpl(const torch::nn::BatchNormOptions& options);

  // Registers weight, bias (undefined without affine) and running_mean, running_var,
  // num_batches_tracked (undefined without track_running_stats), in torch's order.
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  torch::nn::BatchNormOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};

extern template class SyncBatchNormImpl<1>;
extern template class SyncBatchNormImpl<2>;
using SyncBatchNorm1dImpl = SyncBatchNormImpl<1>;
using SyncBatchNorm2dImpl = SyncBatchNormImpl<2>;
TORCH_MODULE(SyncBatchNorm1d);
TORCH_MODULE(SyncBatchNorm2d);

}  // namespace speakernet
