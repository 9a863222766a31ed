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
  template <class V>
  void Fields(V& v) {
    v("threads", threads, "intra-op threads, 0 = all cores");
    v("device", device, "cpu, cuda or cuda:N");
  }
  void Validate() const;
};

// Applies the thread count and seeds nothing. Returns the thread count in use.
int ConfigureRuntime(const RuntimeConfig& config);

// "cpu", "cuda", "cuda:1"; a clear error when CUDA is asked for but absent.
c10::Device ParseDevice(const std::string& name);

// Describes the runtime in one line (threads, BLAS, allocator, device).
std::string DescribeRuntime();

// What this binary was built against and can use, for `speakernet --version` and bug reports:
// "LibTorch 2.1.0, CUDA build: yes, CUDA devices: 1 (NVIDIA H100 80GB HBM3), cuDNN: yes".
std::string DescribeBuild();

}  // namespace speakernet
