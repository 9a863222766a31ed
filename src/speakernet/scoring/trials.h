// Trial lists: which enrollment/test pairs to score, with their labels when known.
#pragma once

#include <string>
#include <vector>

namespace speakernet {

struct Trial {
  std::string enroll, test;
  int target = -1;  // 1 = same speaker, 0 = different speakers, -1 = unknown
};

// Reads one trial per non-blank line, in any of these formats (mixing is allowed):
//   VoxCeleb:   "1 enroll test" / "0 enroll test"
//   Kaldi:      "enroll test target" / "enroll test nontarget"
//   unlabelled: "enroll test"
// Errors (missing file, wrong column count, unknown label) name file:line.
std::vector<Trial> ReadTrials(const std::string& path);

// Number of trials with target == 1, == 0 and == -1.
struct TrialCounts {
  size_t target = 0, nontarget = 0, unknown = 0;
  // Every trial labelled and both classes present: what EER, minDCF and calibration need.
  bool FullyLabelled() const { return unknown == 0 && target > 0 && nontarget > 0; }
};
TrialCounts CountTrials(const std::vector<Trial>& trials);

// The 1/0 labels of a labelled trial list; an empty list, or a trial without a label, is an
// error naming `source` (the list's path) and the trial.
std::vector<int> TrialLabels(const std::vector<Trial>& trials, const std::string& source);

}  // namespace speakernet
