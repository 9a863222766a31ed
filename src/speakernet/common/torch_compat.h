// Small shims over LibTorch API changes between 1.13 and 2.x, so that one source tree builds
// without deprecation warnings against either.
#pragma once

#include <ATen/autocast_mode.h>
#include <c10/core/DeviceType.h>
#include <torch/version.h>

namespace speakernet {

// at::autocast::set_enabled (CUDA) / set_cpu_enabled became set_autocast_enabled(device, on)
// in LibTorch 2.4, and the old names are deprecated there.
inline void SetAutocastEnabled(c10::DeviceType device, bool enabled) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(device, enabled);
#else
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_cpu_enabled(enabled);
  } else {
    at::autocast::set_enabled(enabled);
  }
#endif
}

}  // namespace speakernet
