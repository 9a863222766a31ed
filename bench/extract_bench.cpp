// Whole-utterance embedding extraction of one 10 s utterance (160,000 samples at 16 kHz, the
// front end of the model + forward, eval mode, no grad) on 1 thread, per recipe model:
// ResNet34-c32, ResNet34-c64, ECAPA-TDNN C512 / C1024, RepVGG-B1 deployed, x-vector, ResNet101.
//
// Counters: ms per utterance (real time), real-time factor, the forward's MACs (measured on the
// same input with models/mac_count.h: conv and matrix products), the achieved GFLOP/s
// (2 x MACs / time; the front end's work is in the time but not in the MACs), and that rate as a
// fraction of
//   frac_of_core_peak     one core's nominal fp32 peak: clock x 32 FLOP/cycle (Zen 4: AVX-512
//                         FMAs on two 256-bit pipes = 16 FMA lanes x 2 FLOP),
//   frac_of_machine_peak  all cores' peak (hardware_concurrency x the above; this extraction
//                         uses one of them),
//   frac_of_sgemm         a 2048^2 sgemm measured in the same run on 1 thread (the practical
//                         ceiling of this LibTorch/BLAS build).
// The clock comes from SPEAKERNET_PEAK_GHZ, else /proc/cpuinfo's "cpu MHz" (on VMs often the
// base clock; boost can then exceed 1.0), as bench/train_step_bench.cpp.
//
// cpu_ms_per_utt, cpu_frac_of_core_peak and cpu_frac_of_sgemm use the thread's CPU time instead
// of wall time: on a shared, loaded machine they show the speed the code reaches while it runs.
//
// Run: build/bench/extract_bench [--benchmark_filter=ECAPA]
#include <benchmark/benchmark.h>
#include <time.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "speakernet/features/front_end.h"
#include "speakernet/models/mac_count.h"
#include "speakernet/models/speaker_model.h"
#include "bench_util.h"

namespace {

using speakernet::ModelConfig;

constexpr int64_t kSamples = 160000;  // 10 s at 16 kHz

using speakernet::bench::CpuMhz;

// CPU time of the calling thread: with 1 intra-op thread all the work runs here, so this stays
// meaningful when other processes compete for the cores (wall time then includes waiting).
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// 2048^2 sgemm FLOP/s on 1 thread: {by wall time, by this thread's CPU time}.
std::pair<double, double> SgemmFlops1Thread() {
  static const std::pair<double, double> flops = [] {
    at::set_num_threads(1);
    const auto a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
    torch::mm(a, b);
    const int reps = 5;
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = ThreadCpuSeconds();
    for (int i = 0; i < reps; ++i) torch::mm(a, b);
    const double cpu = ThreadCpuSeconds() - c0;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double work = reps * 2.0 * 2048.0 * 2048.0 * 2048.0;
    return std::make_pair(work / s, work / cpu);
  }();
  return flops;
}

struct BenchModel {
  std::string name;
  ModelConfig config;
  bool kaldi_fbank = false;  // ResNet101: 81-dim Kaldi fbank with energy (speaker-net's yaml)
};

std::vector<BenchModel> Models() {
  std::vector<BenchModel> out;
  ModelConfig r34;  // defaults: ResNet34-c32, MHA-16, emb 256
  out.push_back({"ResNet34-c32", r34});
  ModelConfig r34_64 = r34;
  r34_64.resnet.planes = {64, 128, 256, 512};
  r34_64.emb_dim = 512;
  out.push_back({"ResNet34-c64", r34_64});
  ModelConfig ecapa;
  ecapa.type = "ecapa";
  ecapa.pooling.type = "channel_context";
  ecapa.emb_dim = 256;
  out.push_back({"ECAPA-c512", ecapa});
  ModelConfig ecapa1024 = ecapa;
  ecapa1024.ecapa.channels = 1024;
  ecapa1024.emb_dim = 512;
  out.push_back({"ECAPA-c1024", ecapa1024});
  ModelConfig repvgg;
  repvgg.type = "repvgg";
  repvgg.emb_dim = 512;
  repvgg.repvgg.deploy = true;
  out.push_back({"RepVGG-B1-deploy", repvgg});
  ModelConfig xvector;
  xvector.type = "xvector";
  xvector.pooling.type = "statistics";
  out.push_back({"x-vector", xvector});
  ModelConfig r101;
  r101.feat_dim = 81;
  r101.resnet.block = "bottleneck";
  r101.resnet.layers = {3, 4, 23, 3};
  r101.resnet.planes = {64, 128, 256, 512};
  r101.emb_dim = 512;
  out.push_back({"ResNet101", r101, /*kaldi_fbank=*/true});
  return out;
}

void BM_Extract(benchmark::State& state, const BenchModel& m) {
  at::set_num_threads(1);
  torch::manual_seed(0);
  const auto [sgemm, cpu_sgemm] = SgemmFlops1Thread();
  at::set_num_threads(1);
  speakernet::FrontEndConfig front_end_config;  // kaldi: resnet101's options (the defaults)
  if (m.kaldi_fbank) front_end_config.type = "kaldi_fbank";
  const speakernet::FrontEnd front_end(front_end_config);
  auto features = [&front_end](const torch::Tensor& w) { return front_end(w, false); };
  auto model = speakernet::CreateModel(m.config);
  model->eval();
  const auto wave = (torch::randn({kSamples}) * 0.1).clamp(-1, 1);
  auto extract = [&] {
    torch::NoGradGuard no_grad;
    return model->forward(features(wave).unsqueeze(0));
  };
  const int64_t frames = [&] {
    torch::NoGradGuard no_grad;
    return features(wave).size(-1);
  }();
  const double macs =
      static_cast<double>(speakernet::CountForwardMacs(*model, m.config.feat_dim, frames));
  extract();  // warm-up: allocations, oneDNN primitive creation
  double seconds = 0, cpu_seconds = 0;
  int64_t reps = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = ThreadCpuSeconds();
    benchmark::DoNotOptimize(extract());
    cpu_seconds += ThreadCpuSeconds() - c0;
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++reps;
  }
  const double per_utt = seconds / reps;
  const double flops = 2.0 * macs / per_utt;
  const double core_peak = CpuMhz() * 1e6 * 32.0;
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  state.counters["ms_per_utt"] = per_utt * 1e3;
  state.counters["RTF"] = per_utt / 10.0;
  state.counters["frames"] = static_cast<double>(frames);
  state.counters["GMACs"] = macs / 1e9;
  state.counters["GFLOPs"] = flops / 1e9;
  state.counters["peak_GHz"] = CpuMhz() / 1000.0;
  state.counters["frac_of_core_peak"] = core_peak > 0 ? flops / core_peak : 0;
  state.counters["frac_of_machine_peak"] = core_peak > 0 ? flops / (cores * core_peak) : 0;
  state.counters["frac_of_sgemm"] = flops / sgemm;
  // The same rates from the thread's CPU time (robust against a loaded machine).
  const double cpu_flops = 2.0 * macs / (cpu_seconds / reps);
  state.counters["cpu_ms_per_utt"] = cpu_seconds / reps * 1e3;
  state.counters["cpu_frac_of_core_peak"] = core_peak > 0 ? cpu_flops / core_peak : 0;
  state.counters["cpu_frac_of_sgemm"] = cpu_flops / cpu_sgemm;
  state.counters["cpu_sgemm_GFLOPs"] = cpu_sgemm / 1e9;
  state.counters["sgemm_GFLOPs"] = sgemm / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  static const std::vector<BenchModel> models = Models();
  for (const auto& m : models) {
    // Heavy models get fewer repetitions so that the whole run stays within a few minutes.
    const int iterations = m.name == "x-vector" || m.name.rfind("ECAPA", 0) == 0 ? 10 : 3;
    benchmark::RegisterBenchmark(("BM_Extract10s/" + m.name).c_str(),
                                 [&m](benchmark::State& s) { BM_Extract(s, m); })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(iterations)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
