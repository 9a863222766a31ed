// torch.save files (models/torch_save_reader.h): the zip container and the pickle inside it.
// Both the state-dict reader and the record reader (used by single-file models) run.
#include "fuzz/fuzz_torch.h"
#include "fuzz/fuzz_util.h"
#include "speakernet/models/torch_save_reader.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  speakernet::fuzz::SkipTorchErrorBacktraces();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace speakernet;
  const std::string path = fuzz::WriteInput("model.pt", data, size);
  fuzz::Clean([&] {
    for (const auto& [name, tensor] : ReadTorchSaveStateDict(path)) {
      if (name.empty() && tensor.defined()) (void)tensor.sum();
    }
  });
  fuzz::Clean([&] {
    (void)ReadArchiveRecords(path, {"speakernet/format", "speakernet/meta.yaml"});
  });
  return 0;
}
