// Data-parallel primitives with 2 ranks on threads of this process (Gloo over a FileStore in a
// scratch dir): broadcast, bucketed gradient averaging, and the property that the averaged
// gradient of 2 half batches equals the 1-process gradient of the whole global batch (for a
// model whose forward is per-sample: BN in eval mode), and SyncBatchNorm in train mode against
// one process. Multi-process runs of the trainer are
// tested by tests/train_cli_test.sh.
#include "speakernet/training/distributed.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <thread>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"
#include "speakernet/losses/margin_softmax.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/models/state_dict.h"
#include "speakernet/models/sync_batch_norm.h"
#include "speakernet/training/toy_experiment_test_util.h"

namespace speakernet {
namespace {

// Runs fn(dist) for ranks 0..world-1 on their own threads; failures are reported per rank.
void RunRanks(int world, const std::string& store, const std::function<void(Distributed&)>& fn) {
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        DistEnv env;
        env.rank = r;
        env.world_size = world;
        env.file_store = store;
        env.timeout_seconds = 60;
        Distributed dist(env, torch::kCPU);
        fn(dist);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
}

TEST(Distributed, WorldSizeOneIsANoOp) {
  Distributed dist(DistEnv{}, torch::kCPU);
  EXPECT_FALSE(dist.enabled());
  auto p = torch::ones({3}).requires_grad_();
  p.mutable_grad() = torch::full({3}, 2.0);
  dist.AverageGradients({p});
  EXPECT_TRUE(p.grad().equal(torch::full({3}, 2.0)));
  EXPECT_EQ(dist.backend(), "none");
}

TEST(Distributed, BroadcastAndBucketedAverageOverTwoRanks) {
  test::ScratchDir dir("sn_dist_avg");
  RunRanks(2, dir / "store", [](Distributed& d) {
    const double r = d.rank();
    // Broadcast of mixed dtypes: rank 0's values everywhere.
    std::vector<torch::Tensor> ts{torch::full({2, 3}, r + 1), torch::full({4}, int64_t(10 + r)),
                                  torch::full({1}, r + 5, torch::kFloat64)};
    d.Broadcast(ts);
    EXPECT_TRUE(ts[0].equal(torch::full({2, 3}, 1.0)));
    EXPECT_TRUE(ts[1].equal(torch::full({4}, int64_t(10))));
    EXPECT_TRUE(ts[2].equal(torch::full({1}, 5.0, torch::kFloat64)));
    // Gradients (rank + 1) * (1..n): average = 1.5 * (1..n). A tiny bucket size forces one
    // bucket per tensor, the default puts all float32 ones in one; a missing grad counts as 0.
    for (double bucket_mb : {1e-6, 25.0}) {
      auto a = torch::zeros({3, 5}).requires_grad_();
      auto b = torch::zeros({7}).requires_grad_();
      auto c = torch::zeros({2}, torch::kFloat64).requires_grad_();
      auto none = torch::zeros({2}).requires_grad_();
      a.mutable_grad() = torch::arange(1, 16).reshape({3, 5}).to(torch::kFloat32) * (r + 1);
      b.mutable_grad() = torch::arange(1, 8).to(torch::kFloat32) * (r + 1);
      c.mutable_grad() = torch::arange(1, 3).to(torch::kFloat64) * (r + 1);
      if (d.rank() == 1) none.mutable_grad() = torch::full({2}, 4.0);
      d.AverageGradients({a, b, c, none}, bucket_mb);
      EXPECT_TRUE(a.grad().equal(torch::arange(1, 16).reshape({3, 5}).to(torch::kFloat32) * 1.5));
      EXPECT_TRUE(b.grad().equal(torch::arange(1, 8).to(torch::kFloat32) * 1.5));
      EXPECT_TRUE(c.grad().equal(torch::arange(1, 3).to(torch::kFloat64) * 1.5));
      EXPECT_TRUE(none.grad().equal(torch::full({2}, 2.0)));
    }
    // AllGather in rank order; MaxDifferenceFromRank0 sees a difference on either rank.
    const auto all = d.AllGather(torch::full({2}, r));
    ASSERT_EQ(all.size(), 2u);
    EXPECT_TRUE(all[1].equal(torch::full({2}, 1.0)));
    EXPECT_EQ(d.MaxDifferenceFromRank0({torch::full({3}, 7.0)}), 0.0);
    EXPECT_EQ(d.MaxDifferenceFromRank0({torch::full({3}, r * 0.25)}), 0.25);
    d.Barrier();
  });
}

// The gradient of the global batch's mean loss, from one process and from two ranks holding
// half of the batch each and averaging: equal up to float summation order.
TEST(Distributed, TwoRankAveragedGradientEqualsOneProcessGradient) {
  test::ScratchDir dir("sn_dist_grad");
  const TrainConfig cfg = test::TinyTrainConfig();
  torch::manual_seed(3);
  const auto feats = torch::randn({4, cfg.model.feat_dim, 50});
  const auto labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  auto make = [&] {
    auto model = CreateModel(cfg.model);
    auto loss = MarginSoftmax(model->EmbeddingDim(), 3, cfg.loss);
    model->eval();  // BN from running statistics: the forward is per sample
    loss->train();  // margins on (they are per sample too)
    loss->SetLambda(0);
    return std::make_pair(model, loss);
  };
  auto [ref_model, ref_loss] = make();
  const StateDict ref_model_state = GetStateDict(*ref_model);
  const StateDict ref_loss_state = GetStateDict(*ref_loss);
  ref_loss->forward(ref_model->ForwardClassifierInput(feats), labels).loss.backward();
  std::vector<torch::Tensor> ref_grads;
  for (auto& p : ref_model->parameters()) ref_grads.push_back(p.grad().clone());
  for (auto& p : ref_loss->parameters()) ref_grads.push_back(p.grad().clone());

  std::vector<std::vector<torch::Tensor>> rank_grads(2);
  RunRanks(2, dir / "store", [&](Distributed& d) {
    auto [model, loss] = make();
    LoadStateDict(*model, ref_model_state);
    LoadStateDict(*loss, ref_loss_state);
    std::vector<torch::Tensor> params = model->parameters();
    for (auto& p : loss->parameters()) params.push_back(p);
    const int64_t lo = 2 * d.rank();
    loss->forward(model->ForwardClassifierInput(feats.narrow(0, lo, 2)), labels.narrow(0, lo, 2))
        .loss.backward();
    d.AverageGradients(params);
    for (auto& p : params) rank_grads[d.rank()].push_back(p.grad().clone());
  });
  ASSERT_EQ(rank_grads[0].size(), ref_grads.size());
  ASSERT_EQ(rank_grads[1].size(), ref_grads.size());
  double worst = 0;
  for (size_t i = 0; i < ref_grads.size(); ++i) {
    EXPECT_TRUE(rank_grads[0][i].equal(rank_grads[1][i])) << "ranks differ at parameter " << i;
    const double scale = ref_grads[i].abs().max().item<double>() + 1e-6;
    worst = std::max(worst, (rank_grads[0][i] - ref_grads[i]).abs().max().item<double>() / scale);
  }
  EXPECT_LT(worst, 1e-4) << "2-rank averaged gradient differs from the 1-process gradient";
  // A wrong average (sum instead of mean) would be off by 100 %: the test can fail.
  EXPECT_GT(ref_grads[0].abs().max().item<double>(), 0.0);
}

// SyncBatchNorm: 2 ranks in TRAIN mode, each with half of the global batch, against one process
// with the whole batch (float64, so that only summation order differs). With sync_bn (the
// DistributedBatchNormSync hook installed) the ranks' outputs are the 1-process outputs' halves,
// the averaged parameter gradients are the 1-process gradients, every BN's running statistics
// and num_batches_tracked equal the 1-process ones on both ranks, and each rank's input gradient
// is W times the 1-process one (torch's SyncBatchNorm gives the gradient of the SUM of the
// ranks' mean losses, which is W x the global mean loss). Without the hook the outputs differ
// (per-rank statistics): the comparison can fail.
struct SyncBnResult {
  torch::Tensor output, input_grad;
  std::vector<torch::Tensor> grads, buffers;
};

void SyncBnTwoRanksMatchOneProcess(const ModelConfig& model_config) {
  test::ScratchDir dir("sn_dist_syncbn");
  torch::manual_seed(7);
  const int64_t batch = 4;
  const auto feats = torch::randn({batch, model_config.feat_dim, 40}, torch::kFloat64);
  auto make = [&] {
    auto model = CreateModel(model_config);
    model->to(torch::kFloat64);
    model->train();
    return model;
  };
  auto ref_model = make();
  // Copies: the state dict holds the live buffers, which the reference forward updates.
  StateDict init = GetStateDict(*ref_model);
  for (auto& [name, t] : init) t = t.clone();
  // A per-sample loss, averaged over the batch the process holds (as the trainer's mean loss).
  const auto proj = torch::randn({batch, ref_model->EmbeddingDim()}, torch::kFloat64);
  auto run = [&](SpeakerModel& model, int64_t lo, int64_t n) {
    SyncBnResult r;
    auto x = feats.narrow(0, lo, n).clone().requires_grad_();
    r.output = model.ForwardClassifierInput(x);
    (r.output * proj.narrow(0, lo, n)).sum(1).pow(2).mean().backward();
    r.output = r.output.detach();
    r.input_grad = x.grad();
    for (auto& p : model.parameters()) {
      r.grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    }
    for (auto& b : model.buffers()) r.buffers.push_back(b.clone());
    return r;
  };
  const SyncBnResult ref = run(*ref_model, 0, batch);

  for (const bool sync_bn : {true, false}) {
    SCOPED_TRACE(sync_bn ? "sync_bn on" : "sync_bn off");
    std::vector<SyncBnResult> ranks(2);
    RunRanks(2, dir / (sync_bn ? "store_on" : "store_off"), [&](Distributed& d) {
      auto model = make();
      LoadStateDict(*model, init);
      DistributedBatchNormSync hook(d);
      ScopedBatchNormSync guard(sync_bn ? &hook : nullptr);
      SyncBnResult r = run(*model, d.rank() * batch / 2, batch / 2);
      d.AverageGradients(model->parameters());
      r.grads.clear();
      for (auto& p : model->parameters()) r.grads.push_back(p.grad().clone());
      ranks[d.rank()] = std::move(r);
    });
    ASSERT_TRUE(ranks[0].output.defined() && ranks[1].output.defined());
    const auto output = torch::cat({ranks[0].output, ranks[1].output});
    const double out_diff = (output - ref.output).abs().max().item<double>();
    if (!sync_bn) {
      EXPECT_GT(out_diff, 1e-3) << "per-rank BN statistics should change the outputs";
      continue;
    }
    EXPECT_LT(out_diff, 1e-9) << "forward differs from the 1-process train-mode forward";
    const auto input_grad = torch::cat({ranks[0].input_grad, ranks[1].input_grad}) / 2;
    EXPECT_LT((input_grad - ref.input_grad).abs().max().item<double>(),
              1e-9 * (ref.input_grad.abs().max().item<double>() + 1e-12));
    EXPECT_GT(ref.input_grad.abs().max().item<double>(), 0.0);
    ASSERT_EQ(ranks[0].grads.size(), ref.grads.size());
    // Relative to each tensor's largest gradient, but at least 1e-6 of the largest overall: a
    // conv bias in front of a BN has an exactly-zero gradient, known only to rounding.
    double overall = 0;
    for (const auto& g : ref.grads) overall = std::max(overall, g.abs().max().item<double>());
    double worst = 0;
    for (size_t i = 0; i < ref.grads.size(); ++i) {
      const double scale = std::max(ref.grads[i].abs().max().item<double>(), 1e-6 * overall);
      for (const auto& r : ranks) {
        worst = std::max(worst, (r.grads[i] - ref.grads[i]).abs().max().item<double>() / scale);
      }
    }
    EXPECT_LT(worst, 1e-8) << "averaged gradients differ from the 1-process gradients";
    ASSERT_EQ(ranks[0].buffers.size(), ref.buffers.size());
    for (size_t i = 0; i < ref.buffers.size(); ++i) {
      for (const auto& r : ranks) {
        EXPECT_LT((r.buffers[i].to(torch::kFloat64) - ref.buffers[i].to(torch::kFloat64))
                      .abs()
                      .max()
                      .item<double>(),
                  1e-10)
            << "buffer " << i;
      }
    }
  }
}

TEST(Distributed, SyncBatchNormTwoRanksEqualOneProcessResNet) {
  SyncBnTwoRanksMatchOneProcess(test::TinyTrainConfig().model);
}

TEST(Distributed, SyncBatchNormTwoRanksEqualOneProcessEcapa) {
  ModelConfig c = test::TinyTrainConfig().model;
  c.type = "ecapa";
  c.pooling.type = "channel_context";
  c.pooling.hidden_size = 8;
  c.ecapa.channels = 16;
  c.ecapa.scale = 4;
  c.emb_dim = 8;
  SyncBnTwoRanksMatchOneProcess(c);
}

TEST(DistEnv, ReadsTorchrunVariablesAndRejectsBadOnes) {
  const char* names[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"};
  for (const char* n : names) ::unsetenv(n);
  DistEnv e = DistEnv::FromEnvironment();
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.rank, 0);
  ::setenv("RANK", "1", 1);
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("LOCAL_RANK", "3", 1);
  ::setenv("MASTER_ADDR", "10.0.0.2", 1);
  ::setenv("MASTER_PORT", "29555", 1);
  e = DistEnv::FromEnvironment();
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_rank, 3);
  EXPECT_EQ(e.master_addr, "10.0.0.2");
  EXPECT_EQ(e.master_port, 29555);
  ::setenv("RANK", "4", 1);  // outside [0, WORLD_SIZE)
  EXPECT_THROW(DistEnv::FromEnvironment(), Error);
  ::setenv("RANK", "x1", 1);
  try {
    DistEnv::FromEnvironment();
    ADD_FAILURE() << "expected an error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("RANK='x1'"), std::string::npos) << err.what();
  }
  for (const char* n : names) ::unsetenv(n);
}

}  // namespace
}  // namespace speakernet
