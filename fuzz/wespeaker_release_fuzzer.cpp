// WeSpeaker release directories (models/wespeaker_release.h, training/wespeaker_import.h): the
// input is `config.yaml` and `avg_model.pt` separated by a line "@@". Both are read as
// `speakernet import --wespeaker` reads them, and the release's experiment config is derived
// (WeSpeakerTrainConfig validates the whole TrainConfig).
#include "fuzz/fuzz_torch.h"
#include "fuzz/fuzz_util.h"
#include "speakernet/training/wespeaker_import.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  speakernet::fuzz::SkipTorchErrorBacktraces();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace speakernet;
  // Split at the first "@@" line only: the checkpoint's bytes may hold that sequence too.
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t at = all.find("\n@@\n");
  const std::string_view config = all.substr(0, at == std::string_view::npos ? size : at + 1);
  const std::string dir = fuzz::ScratchDir() + "/release";
  std::filesystem::create_directories(dir);
  fuzz::WriteInput("release/config.yaml", config.data(), config.size());
  if (at != std::string_view::npos) {
    const std::string_view weights = all.substr(at + 4);
    fuzz::WriteInput("release/avg_model.pt", weights.data(), weights.size());
  } else {
    fuzz::RemoveInput("release/avg_model.pt");
  }
  fuzz::Clean([&] { (void)WeSpeakerTrainConfig(ReadWeSpeakerRelease(dir)); });
  return 0;
}
