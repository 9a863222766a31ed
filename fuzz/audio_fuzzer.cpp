// Audio decoding (audio/audio_reader.h): the input is an audio file (wav, flac, ogg, anything
// libsndfile recognises). It is probed, decoded at its own rate and at 16 kHz (resampled), and
// read as a range; a range past the end must be an Error, never a crash.
#include "fuzz/fuzz_util.h"
#include "speakernet/audio/audio_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace speakernet;
  const std::string path = fuzz::WriteInput("input.audio", data, size);
  fuzz::Clean([&] {
    const AudioInfo info = ProbeAudio(path);
    const std::vector<float> native = ReadAudio(path, info.sample_rate);
    if (static_cast<int64_t>(native.size()) != AudioLength(info, info.sample_rate)) std::abort();
    const std::vector<float> at16k = ReadAudio(path, 16000);
    if (static_cast<int64_t>(at16k.size()) != AudioLength(info, 16000)) std::abort();
    if (native.size() > 2) (void)ReadAudio(path, info.sample_rate, 1, native.size() - 2);
    (void)ReadAudio(path + " 0 1", 16000);  // a range spec of the same file
  });
  return 0;
}
