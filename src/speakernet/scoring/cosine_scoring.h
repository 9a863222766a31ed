// Cosine scoring of trials (spec §7.2 items 1-2) and score files "enroll test score".
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "speakernet/scoring/embedding_table.h"
#include "speakernet/scoring/trials.h"

namespace speakernet {

// score = cos(e_enroll - mean, e_test - mean), each vector divided by max(||v||, 1e-8) as in
// torch.cosine_similarity. mean == nullptr scores the raw embeddings. Each used embedding's
// norm is computed once (in double); each trial is one float dot product of the centred rows
// times both inverse norms, the trials split over OpenMP threads. A trial id missing from the
// table is an error naming the first such trial and the id (see MapTrialsToRows); a non-finite
// embedding is an error naming its key.
std::vector<double> CosineScores(const EmbeddingTable& table, const std::vector<Trial>& trials,
                                 const std::vector<float>* mean = nullptr);

// Writes "enroll test score" lines (score with `precision` decimals, 5 as in speaker-net),
// atomically.
void WriteScores(const std::string& path, const std::vector<Trial>& trials,
                 const std::vector<double>& scores, int precision = 5);

// Scores keyed by ScoreKey(enroll, test).
using ScoreMap = std::unordered_map<std::string, double>;
std::string ScoreKey(const std::string& enroll, const std::string& test);

// Reads "enroll test score" lines; a 4th column "target|nontarget" (WeSpeaker style) is
// accepted and ignored. Bad numbers, wrong column counts and a pair repeated with a different
// score are errors naming file:line (a repeat with the same score is fine).
ScoreMap ReadScores(const std::string& path);

// The scores of `trials` in trial order; a trial without a score is an error naming the trial
// and `scores_name` (e.g. the score file).
std::vector<double> LookupScores(const ScoreMap& scores, const std::vector<Trial>& trials,
                                 const std::string& scores_name);

}  // namespace speakernet
