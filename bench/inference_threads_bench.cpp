// inference_threads_bench: model inference per core, the server layout of one thread per worker.
// For ResNet34-c32 and ECAPA-c512 (speaker-net's recipe configs, random weights), one 10 s
// utterance ([1, 80, 1001] fbank frames), eval mode, no autograd, each the best of --reps runs:
//   1 thread: speakernet's default (1x1 convolutions routed to oneDNN, models/conv1d_bn_layer.h)
//             and LibTorch's own dispatch (the route switched off);
//   2 threads: LibTorch (oneDNN for every convolution at > 1 thread);
//   bf16 autocast at 1 and 2 threads, and its embedding's cosine with fp32's.
// Prints ms per utterance and the per-core ratio 1t / 2t = (1 / t1) / (1 / (2 t2)) = 2 t2 / t1
// (1.0: one thread does per core what two do). OpenBLAS's detected core is printed: Debian's
// OpenBLAS 0.3.21 took an Intel Xeon VM for "Prescott" (SSE3 kernels), see
// ../shared/reference/libtorch-on-debian.md item 12.
//   Run: build/bench/inference_threads_bench [reps=5]
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "speakernet/common/torch_compat.h"
#include "speakernet/models/conv1d_bn_layer.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/training/train_config.h"

using namespace speakernet;

namespace {

double BestMs(int reps, const std::function<void()>& f) {
  f();  // warm-up (oneDNN primitive creation, allocator)
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(
        best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                  .count());
  }
  return best;
}

std::string OpenBlasCore() {
  using Fn = char* (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return fn ? fn() : "(BLAS is not OpenBLAS)";
}

// The CPU flags that make bf16 fast: AVX-512 BF16 or AMX (without them oneDNN emulates it).
std::string Bf16Flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    for (const char* f : {" avx512_bf16", " amx_bf16"}) {
      if (line.find(f) != std::string::npos) found += f;
    }
    break;
  }
  return found.empty() ? " none (bf16 is emulated)" : found;
}

torch::Tensor Forward(SpeakerModel& model, const torch::Tensor& x, bool bf16) {
  torch::NoGradGuard no_grad;
  std::optional<ScopedAutocast> autocast;
  if (bf16) autocast.emplace(c10::DeviceType::CPU, torch::kBFloat16);
  return model.forward(x).to(torch::kFloat);
}

void Run(const std::string& name, const std::string& config_file, int reps) {
  const TrainConfig cfg =
      LoadTrainConfig(std::string(SPEAKERNET_SOURCE_DIR) + "/recipes/voxceleb/conf/" + config_file,
                      {});
  torch::manual_seed(1);
  auto model = CreateModel(cfg.model);
  model->eval();
  const torch::Tensor x = torch::randn({1, 80, 1001});
  auto time = [&](int threads, bool onednn, bool bf16) {
    at::set_num_threads(threads);
    SetPointwiseConvOneDnn(onednn);
    const double ms = BestMs(reps, [&] { Forward(*model, x, bf16); });
    SetPointwiseConvOneDnn(true);
    return ms;
  };
  const double t1 = time(1, true, false), t1_lt = time(1, false, false);
  const double t2 = time(2, true, false);
  const double b1 = time(1, true, true), b2 = time(2, true, true);
  at::set_num_threads(1);
  const auto ref = Forward(*model, x, false), low = Forward(*model, x, true);
  const double cos = torch::cosine_similarity(ref, low, 1).item<double>();
  std::printf("%-14s fp32: 1t %7.1f ms (LibTorch dispatch %7.1f ms, %.2fx), 2t %7.1f ms; "
              "per-core 1t/2t %.2f (LibTorch %.2f)\n",
              name.c_str(), t1, t1_lt, t1_lt / t1, t2, 2 * t2 / t1, 2 * t2 / t1_lt);
  std::printf("%-14s bf16: 1t %7.1f ms (%.2fx fp32), 2t %7.1f ms (%.2fx fp32); cosine to fp32 "
              "%.6f\n",
              name.c_str(), b1, t1 / b1, b2, t2 / b2, cos);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  std::printf("OpenBLAS core: %s; oneDNN: %s; CPU bf16 flags:%s\n", OpenBlasCore().c_str(),
              at::hasMKLDNN() ? "yes" : "no", Bf16Flags().c_str());
  Run("ResNet34-c32", "resnet34-32.yaml", reps);
  Run("ECAPA-c512", "ecapa-tdnn-c512_sgd.yaml", reps);
  return 0;
}
