// Quality-measure-function (QMF) calibration and linear score fusion (spec §7.2 items 4-5).
//
//   llr = sum_s w_s score_s + b + sum_j v_j q_j
//
// with one weight per system (several systems = fusion) and one per quality feature, fitted on
// labelled calibration trials by minimising the (not prior-weighted) Cllr
//   0.5 (mean_tar softplus(-llr) + mean_non softplus(llr)) / ln 2
// in float64 with LBFGS, as speaker-net's calibrator: w starts at 1/#systems, b and v at 0,
// lr 0.01, at most 100 outer step(closure) calls of 20 LBFGS iterations, stopping when the loss
// improves by less than 1e-6 between calls. The fitted model is applied to the eval trials.
//
// Quality features come two per measure, in the order the measures are listed:
//   duration:  [shorter, longer] duration of the two sides, in seconds (raw, not logged)
//   embedding: [min, max] norm of the two embeddings after mean subtraction
//   imposter:  [max, min] of the two sides' mean top-N inner products against the cohort
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "speakernet/scoring/embedding_table.h"
#include "speakernet/scoring/score_norm.h"
#include "speakernet/scoring/trials.h"
#include "speakernet/common/error.h"

namespace speakernet {

struct CalibrationOptions {
  double lr = 0.01;          // LBFGS learning rate (speaker-net: 0.01, no line search)
  int64_t max_steps = 100;   // outer step(closure) calls
  int64_t max_iter = 20;     // LBFGS iterations per call
  double tolerance = 1e-6;   // stop when one call improves the loss by less than this
  bool line_search = false;  // strong-Wolfe line search (not speaker-net's; converges tighter)
  // Use torch::optim::LBFGS itself rather than the plain-C++ transcription of its no-line-search
  // iteration (same numbers, ~10x slower on a few parameters); for tests. Line search always
  // uses torch's.
  bool torch_lbfgs = false;
  template <class V>
  void Fields(V& v) {
    v("lr", lr, "LBFGS learning rate");
    v("max_steps", max_steps, "outer LBFGS step(closure) calls");
    v("max_iter", max_iter, "LBFGS iterations per step");
    v("tolerance", tolerance, "stop when a step improves the Cllr loss by less than this");
    v("line_search", line_search, "strong-Wolfe line search");
    v("torch_lbfgs", torch_lbfgs, "use torch::optim::LBFGS (reference) instead of the port");
  }
  void Validate() const {
    SN_CHECK(lr > 0, "calibration lr must be > 0, got {}", lr);
    SN_CHECK(max_steps >= 1 && max_iter >= 1,
             "calibration max_steps and max_iter must be >= 1, got {} and {}", max_steps,
             max_iter);
    SN_CHECK(tolerance >= 0, "calibration tolerance must be >= 0, got {}", tolerance);
  }
};

// Per-trial quality features: named columns, each one value per trial.
struct QualityFeatures {
  std::vector<std::string> names;
  std::vector<std::vector<double>> columns;  // [feature][trial]
  // Appends other's columns (same number of trials, or this one empty).
  void Append(const QualityFeatures& other);
  size_t trials() const { return columns.empty() ? 0 : columns[0].size(); }
};

// "duration imposter", "duration,embedding": each of duration | embedding | imposter, at most
// once; unknown or repeated names are errors.
std::vector<std::string> ParseQualityMeasures(const std::string& list);

// Durations in seconds by utterance: utt2dur ("utt seconds"). Errors name file:line.
using Durations = std::unordered_map<std::string, double>;
Durations ReadUtt2Dur(const std::string& path);

// [shorter, longer] duration per trial; an utterance without a duration is an error naming the
// trial and `source`.
QualityFeatures DurationQuality(const std::vector<Trial>& trials, const Durations& durations,
                                const std::string& source);
// [min, max] of ||e - mean|| of the two sides (mean may be null).
QualityFeatures EmbeddingQuality(const EmbeddingTable& table, const std::vector<Trial>& trials,
                                 const std::vector<float>* mean = nullptr);
// [max, min] of the enroll and test imposter measures (ScoreNorm with options.imposter).
QualityFeatures ImposterQuality(const NormalizedScores& normalized);

// Writes "enroll test q1 q2 ..." lines (speaker-net's .qual files), atomically.
void WriteQuality(const std::string& path, const std::vector<Trial>& trials,
                  const QualityFeatures& quality);
// Reads such a file for `trials` (looked up by pair; a missing trial or a row with a different
// number of values is an error naming file:line or the trial). Columns are named "<file>:<k>".
QualityFeatures ReadQuality(const std::string& path, const std::vector<Trial>& trials);

struct Calibrator {
  std::vector<double> weights;          // one per system
  double bias = 0;
  std::vector<double> quality_weights;  // one per quality feature
  std::vector<std::string> quality_names;
  double loss = 0;    // Cllr (bits) on the training trials at the end
  int64_t steps = 0;  // outer LBFGS steps taken

  // llr per trial; systems[s] holds the scores of system s, quality the features in the order
  // used for training (same names).
  std::vector<double> Apply(const std::vector<std::vector<double>>& systems,
                            const QualityFeatures& quality) const;
  std::string Describe() const;
};

// Fits the model on labelled trials (labels 1/0; at least one of each). systems must be non-empty
// and every column must have labels.size() finite values.
Calibrator TrainCalibrator(const std::vector<std::vector<double>>& systems,
                           const QualityFeatures& quality, const std::vector<int>& labels,
                           const CalibrationOptions& options = {});

}  // namespace speakernet
