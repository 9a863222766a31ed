#include "speakernet/common/runtime.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <cstdlib>
#include <thread>

#include "speakernet/common/error.h"

namespace speakernet {

void RuntimeConfig::Validate() const {
  SN_CHECK(threads >= 0, "runtime.threads must be >= 0, got {}", threads);
  SN_CHECK(!(deterministic && cudnn_benchmark),
           "runtime.cudnn_benchmark=true is not deterministic: set runtime.deterministic=false "
           "as well (resumed training will then differ from an uninterrupted run)");
  // Only the spelling is checked here: a config naming cuda stays readable on a CPU-only
  // machine (model-info, extraction with --device cpu); ParseDevice checks availability on use.
  try {
    c10::Device parsed(device);
    (void)parsed;
  } catch (const std::exception&) {
    Fail(fmt::format("runtime.device: unknown device '{}' (expected cpu, cuda or cuda:N)", device));
  }
}

int ConfigureRuntime(const RuntimeConfig& config) {
  int threads = config.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  if (!c10::Device(config.device).is_cuda()) return threads;  // CPU kernels: deterministic
  if (config.deterministic) {
    // cuBLAS is only deterministic with a fixed workspace (CUDA >= 10.2); an explicit setting
    // by the user wins.
    ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  }
  at::globalContext().setDeterministicCuDNN(config.deterministic);
  at::globalContext().setBenchmarkCuDNN(config.cudnn_benchmark);
  // warn_only: an op without a deterministic CUDA kernel warns instead of failing the run.
  at::globalContext().setDeterministicAlgorithms(config.deterministic, /*warn_only=*/true);
  return threads;
}

c10::Device ParseDevice(const std::string& name) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const std::exception&) {
    Fail(fmt::format("unknown device '{}' (expected cpu, cuda or cuda:N)", name));
  }
  if (device.is_cuda()) {
    SN_CHECK(torch::cuda::is_available(),
             "device '{}' requested but this LibTorch has no CUDA or no GPU is visible", name);
    SN_CHECK(!device.has_index() || device.index() < static_cast<int>(torch::cuda::device_count()),
             "device '{}' does not exist ({} GPU(s) visible)", name, torch::cuda::device_count());
  }
  return device;
}

std::string DescribeRuntime() {
  return fmt::format("torch threads={}, cuda={}", at::get_num_threads(),
                     torch::cuda::is_available() ? "yes" : "no");
}

std::string DescribeBuild() {
  // jemalloc is linked for speed (see cmake/helpers.cmake) and only interposes malloc, so a link
  // that dropped it still runs: report what this process really uses.
  const bool jemalloc = ::dlsym(RTLD_DEFAULT, "mallctl") != nullptr;
  std::string out = fmt::format("LibTorch {}, allocator: {}, CUDA build: {}", TORCH_VERSION,
                                jemalloc ? "jemalloc" : "system", at::hasCUDA() ? "yes" : "no");
  if (at::hasCUDA()) {
    out += fmt::format(", CUDA devices: {}, cuDNN: {}", torch::cuda::device_count(),
                       torch::cuda::cudnn_is_available() ? "yes" : "no");
  }
  return out;
}

}  // namespace speakernet
