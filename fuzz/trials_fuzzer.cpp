// Trial lists and score files (scoring/trials.h, scoring/cosine_scoring.h): section 1 is a trial
// list, section 2 a score file; scores are then looked up for the trials.
#include "fuzz/fuzz_util.h"
#include "speakernet/scoring/cosine_scoring.h"
#include "speakernet/scoring/trials.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace speakernet;
  const auto sections = fuzz::Sections(data, size);
  const std::string trials_path =
      fuzz::WriteInput("trials", sections[0].data(), sections[0].size());
  std::vector<Trial> trials;
  fuzz::Clean([&] {
    trials = ReadTrials(trials_path);
    (void)CountTrials(trials);
  });
  if (sections.size() > 1) {
    const std::string scores_path =
        fuzz::WriteInput("scores", sections[1].data(), sections[1].size());
    fuzz::Clean([&] {
      const ScoreMap scores = ReadScores(scores_path);
      (void)LookupScores(scores, trials, scores_path);
    });
  }
  return 0;
}
