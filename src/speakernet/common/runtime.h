// Process-wide runtime defaults: torch threads (Debian's LibTorch defaults to 1 on this kind of
// machine), device selection. The allocator (jemalloc, no decay) and OpenBLAS-OpenMP are linked
// into the executables by CMake; see README "Speed defaults".
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace speakernet {

struct RuntimeConfig {
  int threads = 0;             // intra-op threads; 0 = number of cores
  std::string device = "cpu";  // cpu | cuda | cuda:N
  // CUDA only (CPU kernels are deterministic already). A resumed run can equal an uninterrupted
  // one only if every kernel is deterministic: cuDNN deterministic algorithms, deterministic
  // implementations of the other ops where PyTorch has them, and a fixed cuBLAS workspace.
  bool deterministic = true;
  // CUDA only: let cuDNN time algorithms per input shape (faster with fixed-size chunks; not
  // deterministic, so it requires deterministic=false).
  bool cudnn_benchmark = false;
  template <class V>
  void Fields(V& v) {
    v("threads", threads, "intra-op threads, 0 = all cores");
    v("device", device, "cpu, cuda or cuda:N");
    v("deterministic", deterministic,
      "CUDA: deterministic kernels, so that resumed training equals uninterrupted training");
    v("cudnn_benchmark", cudnn_benchmark,
      "CUDA: cuDNN picks the fastest algorithm per shape (needs deterministic=false)");
  }
  void Validate() const;
};

// Applies the thread count and the CUDA determinism settings; seeds nothing. Returns the thread
// count in use. Call it before the first CUDA operation (cuBLAS reads its workspace setting once).
int ConfigureRuntime(const RuntimeConfig& config);

// "cpu", "cuda", "cuda:1"; a clear error when CUDA is asked for but absent.
c10::Device ParseDevice(const std::string& name);

// Describes the runtime in one line (threads, BLAS, allocator, device).
std::string DescribeRuntime();

// What this binary was built against and can use, for `speakernet --version` and bug reports:
// "LibTorch 2.11.0, allocator: jemalloc, CUDA build: yes, CUDA devices: 1, cuDNN: yes".
std::string DescribeBuild();

}  // namespace speakernet
