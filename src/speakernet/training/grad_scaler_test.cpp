// GradScaler against hand-derived sequences (torch.cuda.amp.GradScaler's rules: skip and halve on
// inf/NaN, double after growth_interval consecutive good steps) and its checkpoint round trip.
#include "speakernet/training/grad_scaler.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "speakernet/common/test_util.h"
#include "speakernet/training/checkpointer.h"

namespace speakernet {
namespace {

// One iteration on w with loss = 3 * sum(w): the unscaled gradient is 3 per element, or inf
// when `inject_inf`. Returns whether the optimizer stepped.
bool Iteration(GradScaler& scaler, torch::Tensor& w, torch::optim::SGD& opt, bool inject_inf) {
  opt.zero_grad();
  scaler.Scale(3 * w.sum()).backward();
  if (inject_inf) w.mutable_grad()[0] = std::numeric_limits<float>::infinity();
  const bool stepped = scaler.Step(opt, {w});
  scaler.Update();
  return stepped;
}

TEST(GradScaler, HandDerivedSkipBackoffGrowthSequence) {
  auto w = torch::ones({2}).requires_grad_();
  torch::optim::SGD opt({w}, torch::optim::SGDOptions(0.1));
  GradScaler scaler(true, /*init_scale=*/8.0, 2.0, 0.5, /*growth_interval=*/3);
  // good, good, good -> 16 (tracker reset); inf -> 8, skipped; good x2 -> tracker 2; good -> 16.
  const bool infs[] = {false, false, false, true, false, false, false};
  const double scales[] = {8, 8, 16, 8, 8, 8, 16};
  const int64_t trackers[] = {1, 2, 0, 0, 1, 2, 0};
  double expected_w = 1.0;
  for (int i = 0; i < 7; ++i) {
    const bool stepped = Iteration(scaler, w, opt, infs[i]);
    EXPECT_EQ(stepped, !infs[i]) << "iteration " << i;
    if (stepped) expected_w -= 0.1 * 3.0;  // unscaled gradient 3, lr 0.1
    EXPECT_EQ(scaler.scale(), scales[i]) << "iteration " << i;
    EXPECT_EQ(scaler.growth_tracker(), trackers[i]) << "iteration " << i;
    EXPECT_NEAR(w[1].item<double>(), expected_w, 1e-6) << "iteration " << i;
  }
}

TEST(GradScaler, DefaultsGrowAfter2000GoodStepsAndUnscaleBeforeClipping) {
  auto w = torch::ones({1}).requires_grad_();
  torch::optim::SGD opt({w}, torch::optim::SGDOptions(0.0));
  GradScaler scaler;  // 65536, x2 per 2000, x0.5
  EXPECT_EQ(scaler.scale(), 65536.0);
  // Unscale gives the true gradient, so clip_grad_norm_ sees 3, not 3 * 65536.
  opt.zero_grad();
  scaler.Scale(3 * w.sum()).backward();
  EXPECT_EQ(w.grad().item<float>(), 3.0f * 65536.0f);
  scaler.Unscale({w});
  EXPECT_EQ(w.grad().item<float>(), 3.0f);
  scaler.Unscale({w});  // idempotent within the step
  EXPECT_EQ(w.grad().item<float>(), 3.0f);
  scaler.Step(opt, {w});
  scaler.Update();
  for (int i = 1; i < 1999; ++i) Iteration(scaler, w, opt, false);
  EXPECT_EQ(scaler.growth_tracker(), 1999);
  EXPECT_EQ(scaler.scale(), 65536.0);
  Iteration(scaler, w, opt, false);
  EXPECT_EQ(scaler.scale(), 131072.0);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  Iteration(scaler, w, opt, true);  // NaN/inf after growth: back to 65536
  EXPECT_EQ(scaler.scale(), 65536.0);
}

TEST(GradScaler, NanAlsoSkipsAndDisabledScalerIsTransparent) {
  auto w = torch::ones({1}).requires_grad_();
  torch::optim::SGD opt({w}, torch::optim::SGDOptions(0.1));
  GradScaler scaler(true, 4.0, 2.0, 0.5, 10);
  opt.zero_grad();
  scaler.Scale(w.sum()).backward();
  w.mutable_grad()[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(scaler.Step(opt, {w}));
  scaler.Update();
  EXPECT_EQ(scaler.scale(), 2.0);
  EXPECT_EQ(w.item<float>(), 1.0f);

  GradScaler off(false);
  const auto loss = 2 * w.sum();
  EXPECT_TRUE(off.Scale(loss).equal(loss));
  EXPECT_TRUE(off.StateDictOf().size() == 5);
}

TEST(GradScaler, StateRoundTripsThroughACheckpoint) {
  test::ScratchDir dir("sn_grad_scaler_ckpt");
  auto w = torch::ones({2}).requires_grad_();
  torch::optim::SGD opt({w}, torch::optim::SGDOptions(0.1));
  GradScaler scaler(true, 1024.0, 2.0, 0.5, 5);
  for (bool inf : {false, false, true, false, false, false}) Iteration(scaler, w, opt, inf);
  ASSERT_EQ(scaler.scale(), 512.0);
  ASSERT_EQ(scaler.growth_tracker(), 3);
  CheckpointExtras extras;
  extras.scaler = scaler.StateDictOf();
  Checkpointer ckpt(dir.str(), 1);
  const std::string path = ckpt.Save("step-6", {{"w", w.detach()}}, opt, {0, 6, 6}, false, extras);

  StateDict model, scaler_state;
  ckpt.Load(path, &model, opt, 0, &scaler_state);
  GradScaler restored(true);
  restored.LoadStateDictFrom(scaler_state);
  EXPECT_EQ(restored.scale(), 512.0);
  EXPECT_EQ(restored.growth_tracker(), 3);
  // Two more good steps grow both the same way (interval 5 restored, not the default 2000).
  Iteration(scaler, w, opt, false);
  Iteration(scaler, w, opt, false);
  Iteration(restored, w, opt, false);
  Iteration(restored, w, opt, false);
  EXPECT_EQ(restored.scale(), 1024.0);
  EXPECT_EQ(restored.scale(), scaler.scale());

  // A checkpoint without AMP has no scaler.pt.
  const std::string plain = ckpt.Save("step-7", {{"w", w.detach()}}, opt, {0, 7, 7}, false);
  ckpt.Load(plain, &model, opt, 0, &scaler_state);
  EXPECT_TRUE(scaler_state.empty());
}

TEST(Checkpointer, RngStateHasCpuAndOnlyVisibleCudaDevicesAndRestoresPerRank) {
  torch::manual_seed(5);
  StateDict rng = CaptureRngState();
  ASSERT_GE(rng.size(), 1u);
  EXPECT_EQ(rng[0].first, "cpu");
  EXPECT_EQ(rng.size(), 1u + (torch::cuda::is_available() ? torch::cuda::device_count() : 0));
  const auto a = torch::rand({3});
  // Rank 1 takes "cpu.rank1" when present.
  torch::manual_seed(6);
  StateDict with_rank = rng;
  with_rank.emplace_back("cpu.rank1", CaptureRngState()[0].second);
  const auto b = torch::rand({3});
  RestoreRngState(with_rank, 0);
  EXPECT_TRUE(torch::rand({3}).equal(a));
  RestoreRngState(with_rank, 1);
  EXPECT_TRUE(torch::rand({3}).equal(b));
  RestoreRngState(rng, 1);  // no per-rank entry: falls back to "cpu"
  EXPECT_TRUE(torch::rand({3}).equal(a));
}

}  // namespace
}  // namespace speakernet
