// Kaldi data directories (data/data_dir.h): the input's sections ("@@" lines) are wav.scp,
// segments, utt2spk, spk2utt, utt2dur and utt2lang; an empty section leaves that file out.
// Audio is never opened (no durations are probed, no pipe is run); every wav.scp spec is parsed.
#include "fuzz/fuzz_util.h"
#include "speakernet/audio/audio_reader.h"
#include "speakernet/data/data_dir.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace speakernet;
  static const char* kFiles[] = {"wav.scp", "segments", "utt2spk",
                                 "spk2utt", "utt2dur",  "utt2lang"};
  const auto sections = fuzz::Sections(data, size);
  for (size_t i = 0; i < 6; ++i) {
    if (i < sections.size() && !sections[i].empty()) {
      fuzz::WriteInput(kFiles[i], sections[i].data(), sections[i].size());
    } else {
      fuzz::RemoveInput(kFiles[i]);
    }
  }
  fuzz::Clean([&] {
    const DataDir dir = DataDir::Load(fuzz::ScratchDir());
    for (const Utterance& u : dir.utterances()) {
      if (&dir.Find(u.id) != &u) std::abort();
      fuzz::Clean([&] { (void)ParseAudioSpec(u.wav); });
    }
    for (const auto& [spk, utts] : dir.Spk2Utt()) {
      if (dir.SpeakerIndex(spk) < 0 || utts.empty()) std::abort();
    }
  });
  return 0;
}
