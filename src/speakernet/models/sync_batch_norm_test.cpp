// SyncBatchNorm on one process: with a hook that "all-reduces" over a single rank (the identity)
// the synchronised path must reproduce torch's own BatchNorm in train mode (outputs, input and
// affine gradients, running statistics, num_batches_tracked), with and without affine, for 2-D,
// 3-D and 4-D inputs and momentum None; without a hook or in eval mode it IS torch's BatchNorm
// (bit-identical). The 2-rank behaviour is tested in training/distributed_test.cpp.
#include "speakernet/models/sync_batch_norm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>
#include <thread>

namespace speakernet {
namespace {

// One rank: the sum over ranks is the tensor itself. Counts calls (2 per training step).
struct SingleRankSync : BatchNormSync {
  int calls = 0;
  void AllReduceSum(std::vector<torch::Tensor>&) override { ++calls; }
};

double MaxDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

template <class Sync, class Ref, class Options>
void CompareWithTorch(const Options& options, std::vector<int64_t> shape) {
  torch::manual_seed(11);
  Sync bn(options);
  Ref ref(options);
  bn->to(torch::kDouble);
  ref->to(torch::kDouble);
  if (options.affine()) {
    torch::NoGradGuard no_grad;
    bn->weight.uniform_(0.5, 1.5);
    bn->bias.uniform_(-0.5, 0.5);
    ref->weight.copy_(bn->weight);
    ref->bias.copy_(bn->bias);
  }
  bn->train();
  ref->train();
  SingleRankSync sync;
  ScopedBatchNormSync guard(&sync);
  for (int step = 0; step < 3; ++step) {
    // Non-zero mean and non-unit scale, so that mean/variance errors show.
    const auto x0 = torch::randn(shape, torch::kDouble) * 3 + 2;
    const auto dy = torch::randn(shape, torch::kDouble);
    auto x = x0.clone().requires_grad_();
    auto xr = x0.clone().requires_grad_();
    const auto y = bn->forward(x);
    const auto yr = ref->forward(xr);
    EXPECT_LT(MaxDiff(y, yr), 1e-10) << "step " << step;
    (y * dy).sum().backward();
    (yr * dy).sum().backward();
    EXPECT_LT(MaxDiff(x.grad(), xr.grad()), 1e-10) << "step " << step;
    if (options.affine()) {
      EXPECT_LT(MaxDiff(bn->weight.grad(), ref->weight.grad()), 1e-10);
      EXPECT_LT(MaxDiff(bn->bias.grad(), ref->bias.grad()), 1e-10);
    }
    EXPECT_LT(MaxDiff(bn->running_mean, ref->running_mean), 1e-12);
    EXPECT_LT(MaxDiff(bn->running_var, ref->running_var), 1e-12);
    EXPECT_TRUE(bn->num_batches_tracked.equal(ref->num_batches_tracked));
  }
  EXPECT_EQ(sync.calls, 2 * 3) << "one forward and one backward all-reduce per step";
  // The statistics moved away from their initial values: the comparison was not vacuous.
  EXPECT_GT(MaxDiff(bn->running_mean, torch::zeros_like(bn->running_mean)), 0.5);
  // Eval mode under the hook: torch's path, bit-identical, no collective (same buffers).
  bn->eval();
  ref->eval();
  {
    torch::NoGradGuard no_grad;
    ref->running_mean.copy_(bn->running_mean);
    ref->running_var.copy_(bn->running_var);
  }
  const auto x = torch::randn(shape, torch::kDouble);
  EXPECT_TRUE(bn->forward(x).equal(ref->forward(x)));
  EXPECT_EQ(sync.calls, 2 * 3);
}

TEST(SyncBatchNorm, OneRankMatchesTorchBatchNorm2d) {
  CompareWithTorch<SyncBatchNorm2d, torch::nn::BatchNorm2d>(
      torch::nn::BatchNorm2dOptions(3).momentum(0.5), {4, 3, 5, 6});
}

TEST(SyncBatchNorm, OneRankMatchesTorchBatchNorm1dWithTimeAxis) {
  CompareWithTorch<SyncBatchNorm1d, torch::nn::BatchNorm1d>(
      torch::nn::BatchNorm1dOptions(5).momentum(0.1), {3, 5, 7});
}

TEST(SyncBatchNorm, OneRankMatchesTorchBatchNorm1dWithoutAffine) {
  // fc2's BatchNorm: (N, C) input, no weight or bias.
  CompareWithTorch<SyncBatchNorm1d, torch::nn::BatchNorm1d>(
      torch::nn::BatchNorm1dOptions(6).momentum(0.1).affine(false), {4, 6});
}

TEST(SyncBatchNorm, OneRankMatchesTorchWithCumulativeMomentum) {
  CompareWithTorch<SyncBatchNorm2d, torch::nn::BatchNorm2d>(
      torch::nn::BatchNorm2dOptions(2).momentum(c10::nullopt), {2, 2, 3, 3});
}

TEST(SyncBatchNorm, WithoutHookIsTorchBatchNormBitForBit) {
  torch::manual_seed(5);
  SyncBatchNorm2d bn(torch::nn::BatchNorm2dOptions(3).momentum(0.5));
  torch::nn::BatchNorm2d ref(torch::nn::BatchNorm2dOptions(3).momentum(0.5));
  ASSERT_EQ(CurrentBatchNormSync(), nullptr);
  const auto x = torch::randn({4, 3, 5, 5});
  EXPECT_TRUE(bn->forward(x).equal(ref->forward(x)));
  EXPECT_TRUE(bn->running_var.equal(ref->running_var));
  // Same parameter/buffer names as torch's module: state dicts and checkpoints are unchanged.
  EXPECT_EQ(bn->named_parameters().keys(), ref->named_parameters().keys());
  EXPECT_EQ(bn->named_buffers().keys(), ref->named_buffers().keys());
  // And in eval mode, and printed the same.
  bn->eval();
  ref->eval();
  EXPECT_TRUE(bn->forward(x).equal(ref->forward(x)));
  std::ostringstream a, b;
  bn->pretty_print(a);
  ref->pretty_print(b);
  EXPECT_EQ(a.str(), b.str());
}

TEST(SyncBatchNorm, ScopedHookIsPerThreadAndRestored) {
  SingleRankSync a, b;
  {
    ScopedBatchNormSync ga(&a);
    EXPECT_EQ(CurrentBatchNormSync(), &a);
    {
      ScopedBatchNormSync gb(&b);
      EXPECT_EQ(CurrentBatchNormSync(), &b);
    }
    EXPECT_EQ(CurrentBatchNormSync(), &a);
    BatchNormSync* other_thread = &a;
    std::thread([&] { other_thread = CurrentBatchNormSync(); }).join();
    EXPECT_EQ(other_thread, nullptr);
  }
  EXPECT_EQ(CurrentBatchNormSync(), nullptr);
}

}  // namespace
}  // namespace speakernet
