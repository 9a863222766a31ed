// The scoring back end of one trial list (spec §7.2 items 1-4), as `speakernet score` runs it:
// cosine scoring, optional mean subtraction, optional multi-utterance enrolment models, optional
// AS-norm / S-norm against a cohort, optional QMF calibration fitted on labelled calibration
// trials scored with the same chain. Writes the last stage's scores; optionally every stage's
// score file (speaker-net's names), the trials' quality features and a table of EER │ minDCF
// per stage.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "speakernet/scoring/embedding_table.h"
#include "speakernet/scoring/qmf_calibration.h"
#include "speakernet/scoring/score_norm.h"
#include "speakernet/scoring/trials.h"

namespace speakernet {

struct ScorePipelineOptions {
  std::string trials;  // 'enroll test [target|nontarget]' (or '1|0 enroll test')
  std::string emb;     // evaluation embeddings (any form EmbeddingTable::Load reads)
  std::string out;     // score file of the last stage
  // Mean subtraction: the mean of these embeddings (e.g. the training set), or a saved mean
  // (.npy); save_mean writes the submean_emb mean.
  std::string submean_emb, mean, save_mean;
  // 'model utt1 utt2 ...': enrolment ids of the trials that are models, each the average of its
  // utterances' embeddings, each utterance mean-subtracted and L2-normalised first (the
  // construction of a cohort speaker). Model ids must not also be utterance ids of `emb`.
  std::string enroll_spk2utt;
  // Score normalisation: "" (none), "asnorm" or "snorm", against one vector per speaker of
  // cohort_data, embeddings from cohort_emb.
  std::string score_norm, cohort_emb, cohort_data;
  CohortMean cohort_mean = CohortMean::kPerUtterance;
  int64_t top_n = 300;
  // QMF calibration: labelled calibration trials, their embeddings (default: emb), durations.
  std::string calib_trials, calib_emb, utt2dur, calib_utt2dur;
  std::vector<std::string> quality_measures;  // duration | embedding | imposter, in order
  bool calib_line_search = false;
  std::string stage_dir;  // every stage's score file and the trials' quality file
  std::string results;    // EER │ minDCF(0.01) table per stage (labelled trials)
  int precision = 5;      // decimals of the written scores
};

struct ScoreStage {
  std::string name;    // row of the results table: cosine, submean, asnorm, snorm, qmf
  std::string suffix;  // speaker-net file name part: "", "_submean", "_asnorm_top300", "_qmf"
  std::vector<double> scores;
};

class ScorePipeline {
 public:
  // Checks the option combinations (e.g. the imposter measure needs a cohort).
  explicit ScorePipeline(ScorePipelineOptions options);
  ~ScorePipeline();

  // Runs the chain, writes `out` (and stage files, results), logs the metrics of labelled
  // trials; returns the stages, the last one being what `out` holds.
  std::vector<ScoreStage> Run();

  // The table that is scored: every row of `raw` minus `mean` (rounded to float, as
  // CosineScores does), plus one row per model of `enroll` (may be null; see
  // ScorePipelineOptions::enroll_spk2utt) built from `raw` with `mean`.
  static EmbeddingTable ScoringTable(const EmbeddingTable& raw, const std::vector<float>* mean,
                                     const std::vector<std::pair<std::string, std::string>>* enroll,
                                     const std::string& enroll_source);

 private:
  struct Loaded;
  void LoadInputs();
  void LoadMean();
  void LoadCohort();
  std::vector<ScoreStage> Chain(const EmbeddingTable& raw, const EmbeddingTable& centred,
                                const std::vector<Trial>& trials, bool all,
                                const std::string& utt2dur, QualityFeatures* quality);
  QualityFeatures Quality(const EmbeddingTable& centred, const std::vector<Trial>& trials,
                          const std::string& utt2dur, const NormalizedScores& normalized) const;
  ScoreStage Calibrate(const ScoreStage& last, const QualityFeatures& quality);
  void Write(const std::vector<ScoreStage>& stages, const QualityFeatures& quality) const;
  void Report(const std::vector<ScoreStage>& stages) const;
  bool Wants(const char* measure) const;

  ScorePipelineOptions o_;
  std::unique_ptr<Loaded> in_;
};

}  // namespace speakernet
