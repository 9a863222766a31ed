// Single-file models (.snm, training/model_package.h): a torch.save archive whose records hold
// the format, the training config (read as a full TrainConfig) and metadata, and whose state dict
// must match the model the config builds.
#include "fuzz/fuzz_torch.h"
#include "fuzz/fuzz_util.h"
#include "speakernet/training/model_package.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  speakernet::fuzz::SkipTorchErrorBacktraces();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace speakernet;
  const std::string path = fuzz::WriteInput("model.snm", data, size);
  fuzz::Clean([&] { (void)ReadModelPackage(path); });
  return 0;
}
