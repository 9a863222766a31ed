// Training-step throughput of ResNet34-c32 (speaker-net's recipe model): batch 32 of 2-second
// chunks (32240 samples → 202 frames), fbank + forward + AM-softmax + backward + SGD step.
// Reports samples/s and the achieved FLOP rate as a fraction of (a) the machine's nominal fp32
// peak, threads × clock × 32 FLOP/cycle (two 256-bit FMA pipes), with the clock from
// SPEAKERNET_PEAK_GHZ or else /proc/cpuinfo's "cpu MHz" (on VMs often the base clock, so boost
// can exceed 1.0), and (b) a 2048² sgemm measured in the same run: the practical ceiling of this
// LibTorch/BLAS build on these cores.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <thread>

#include "speakernet/common/runtime.h"
#include "speakernet/features/fbank.h"
#include "speakernet/losses/margin_softmax.h"
#include "speakernet/models/speaker_model.h"
#include "bench_util.h"

namespace {

using speakernet::ModelConfig;

// Multiply-adds of one forward pass of the ResNet trunk + pooling + fc2 for one sample.
double ResNetForwardMacs(const ModelConfig& c, int64_t frames) {
  auto out = [](int64_t n, int64_t stride) { return (n - 1) / stride + 1; };  // 3x3, pad 1
  int64_t h = c.feat_dim, w = frames, cin = c.resnet.planes[0];
  double macs = static_cast<double>(h * w) * cin * 9;  // head conv 1 → planes[0]
  const int64_t strides[4] = {1, 2, 2, 2};
  for (int stage = 0; stage < 4; ++stage) {
    const int64_t planes = c.resnet.planes[stage];
    for (int64_t b = 0; b < c.resnet.layers[stage]; ++b) {
      const int64_t s = b == 0 ? strides[stage] : 1;
      const int64_t ho = out(h, s), wo = out(w, s);
      macs += static_cast<double>(ho * wo) * planes * (cin * 9 + planes * 9);
      if (s != 1 || cin != planes) macs += static_cast<double>(ho * wo) * planes * cin;  // 1x1
      h = ho, w = wo, cin = planes;
    }
  }
  const double pooled_dim = static_cast<double>(h) * cin;
  macs += pooled_dim * w * 2;                            // attention scores + weighted stats
  macs += 2 * pooled_dim * c.EmbeddingDim();            // fc2
  return macs;
}

using speakernet::bench::CpuMhz;

double MeasureSgemmFlops(int threads) {
  at::set_num_threads(threads);
  const auto a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
  torch::mm(a, b);
  const int reps = 10;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) torch::mm(a, b);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return reps * 2.0 * 2048.0 * 2048.0 * 2048.0 / secs;
}

void BM_ResNet34TrainStep(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const int64_t batch = 32, samples = 32240;
  ModelConfig config;  // ResNet34-c32 defaults
  torch::manual_seed(0);
  speakernet::Fbank fbank(speakernet::FbankOptions{});
  auto model = speakernet::CreateModel(config);
  speakernet::MarginSoftmax loss(model->EmbeddingDim(), 1000, speakernet::MarginSoftmaxConfig{});
  std::vector<torch::Tensor> params = model->parameters();
  for (auto& p : loss->parameters()) params.push_back(p);
  torch::optim::SGD opt(params, torch::optim::SGDOptions(0.01).momentum(0.9).nesterov(true));
  const auto waves = torch::randn({batch, samples}) * 0.1;
  const auto labels = torch::randint(0, 1000, {batch}, torch::kLong);
  const double sgemm = MeasureSgemmFlops(threads);
  at::set_num_threads(threads);
  auto step = [&] {
    torch::Tensor feats;
    {
      torch::NoGradGuard g;
      feats = fbank(waves, true);
    }
    auto out = loss->forward(model->forward(feats), labels);
    opt.zero_grad();
    out.loss.backward();
    torch::nn::utils::clip_grad_norm_(params, 10.0);
    opt.step();
  };
  step();  // warm-up (allocations, oneDNN primitive creation)
  double seconds = 0;
  int64_t steps = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++steps;
  }
  // Backward costs about twice the forward, hence 3x; FLOPs = 2 x multiply-adds.
  const double flops = 3.0 * 2.0 * ResNetForwardMacs(config, 202) * batch * steps / seconds;
  const double nominal = threads * CpuMhz() * 1e6 * 32.0;
  state.counters["threads"] = threads;
  state.counters["samples_per_s"] = batch * steps / seconds;
  state.counters["GFLOPs"] = flops / 1e9;
  state.counters["peak_GHz"] = CpuMhz() / 1000.0;
  state.counters["frac_of_nominal_peak"] = nominal > 0 ? flops / nominal : 0;
  state.counters["frac_of_sgemm"] = flops / sgemm;
  state.counters["sgemm_GFLOPs"] = sgemm / 1e9;
}

BENCHMARK(BM_ResNet34TrainStep)
    ->Arg(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())))
    ->Unit(benchmark::kSecond)
    ->Iterations(3)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
