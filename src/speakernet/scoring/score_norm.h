// Score normalisation against a speaker cohort (spec §7.2 item 3): cohort building, AS-norm
// (adaptive, top-N) and S-norm (whole cohort), plus the per-utterance "imposter" quality measure
// used later by QMF calibration.
//
// Cost: every enroll/test utterance's cohort statistics are computed once, as a [U, D] x [D, C]
// matrix product in row blocks followed by a partial selection of the top N per row; every
// trial is then normalised in O(1). The product (2 U C D = 4.7e11 operations at VoxCeleb1-E
// scale) is int8 where oneDNN with VNNI is available, with an exact fp32 rescoring of the
// candidates (see ScoreNormOptions::int8_preselect), else fp32 (LibTorch BLAS). S-norm needs no
// [U, C] product: the mean and variance of x.c over the whole cohort follow from the cohort
// mean and second-moment matrix, O(U D^2).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "speakernet/scoring/embedding_table.h"
#include "speakernet/scoring/trials.h"

namespace speakernet {

// How the submean vector m (spec §7.2 item 1) enters the cohort vectors (§7.2 item 3).
enum class CohortMean {
  // Default: each cohort utterance gets the transform enroll and test get, c_s = mean over the
  // speaker's utterances of (e_u - m) / |e_u - m|, so the cohort describes the space that is
  // scored.
  kPerUtterance,
  // speaker-net's form, for reproducing its published pipeline: c_s = mean_u e_u / |e_u| - m.
  // The raw-embedding mean is subtracted from an average of unit vectors (spec §10.2 item 4):
  // when |m| is not small next to 1 every cohort vector turns towards -m and AS-norm degrades
  // the scores (docs/speaker-net-differences.md).
  kSpeakerNet,
};
// "per-utterance" | "speaker-net"; anything else is an error.
CohortMean ParseCohortMean(const std::string& name);

// One vector per cohort speaker.
struct Cohort {
  std::vector<std::string> speakers;  // sorted byte-wise
  int64_t dim = 0;
  std::vector<float> vectors;  // [speakers.size(), dim], row-major
  std::string source;          // for messages
  // false (vectors given directly, e.g. raw speaker models): the vectors live in the raw
  // embedding space, and ScoreNorm / ComputeCohortStats subtract their `mean` from them as from
  // enroll and test. true (BuildCohort): the vectors are final, built with `built_mean`
  // (empty = none), and are used as they are; a mean passed to ScoreNorm must then equal
  // `built_mean` (a cohort built without the mean cannot be scored with one).
  bool mean_applied = false;
  std::vector<float> built_mean;
  size_t size() const { return speakers.size(); }
  const float* Row(size_t i) const { return vectors.data() + i * static_cast<size_t>(dim); }
};

// (utterance, speaker) pairs of a Kaldi data dir: utt2spk, else spk2utt. Errors name file:line;
// a dir with neither file is an error.
std::vector<std::pair<std::string, std::string>> ReadUtt2Spk(const std::string& data_dir);
// (utterance, speaker) pairs of a spk2utt file ('speaker utt1 utt2 ...').
std::vector<std::pair<std::string, std::string>> ReadSpk2Utt(const std::string& path);

// One vector per speaker: the average of its utterances' embeddings after `mean` (may be null)
// is applied in the given form (see CohortMean), each utterance L2-normalised (divided by
// max(|v|, 1e-8)), accumulated in double. Every listed utterance must have an embedding in
// `table`: a missing one is an error naming `source`, the utterance, its speaker and the table
// (a cohort silently built from part of the data would change the scores); so is an utterance
// listed twice. The result has mean_applied = true. Also used for multi-utterance enrolment
// models (the same construction).
Cohort BuildCohort(const EmbeddingTable& table,
                   const std::vector<std::pair<std::string, std::string>>& utt2spk,
                   const std::string& source = "<utt2spk>",
                   const std::vector<float>* mean = nullptr,
                   CohortMean form = CohortMean::kPerUtterance);
// BuildCohort(table, ReadUtt2Spk(data_dir), "cohort " + data_dir, mean, form); source = data_dir.
Cohort BuildCohortFromDataDir(const EmbeddingTable& table, const std::string& data_dir,
                              const std::vector<float>* mean = nullptr,
                              CohortMean form = CohortMean::kPerUtterance);

enum class ScoreNormMethod { kASNorm, kSNorm };
// "asnorm" | "snorm"; anything else is an error.
ScoreNormMethod ParseScoreNormMethod(const std::string& name);

struct ScoreNormOptions {
  ScoreNormMethod method = ScoreNormMethod::kASNorm;
  // AS-norm: the N largest cosines per utterance. N must lie in [1, cohort size]: a larger N is
  // an error (not clamped), as the result would silently be S-norm. Ignored by S-norm.
  int64_t top_n = 300;
  // Also compute the imposter measure (one more top-N selection per utterance under AS-norm).
  bool imposter = true;
  // Compute in float64 (tests, exact comparisons); float32 by default (~1e-6 relative).
  bool double_precision = false;
  // AS-norm in float32: preselect each row's top-N candidates with an int8 product (oneDNN,
  // VNNI; about 4x the fp32 product's throughput) and rescore only the candidates with fp32 dot
  // products. The result is the exact top-N of the fp32 values, not an approximation: every
  // int8 approximation comes with a rigorous per-pair error bound (quantisation residuals by
  // Cauchy-Schwarz, plus float rounding; derivation in score_norm.cpp), and every cohort entry
  // whose upper bound reaches a proven lower bound of the N-th largest exact value is rescored.
  // Used only where oneDNN is built in and reports VNNI (Int8GemmAvailable(), int8_gemm.h) and
  // d <= 1024; otherwise, in double precision and for S-norm the fp32 (fp64) product is used.
  // Measured at VoxCeleb1-E scale on 2 Zen 4 cores: see docs/scoring.md.
  bool int8_preselect = true;
  // Utterances per block: S-norm gives each thread whole blocks; the fp32 AS-norm path uses
  // super-blocks of max(block_rows, 2048) rows (one BLAS product each). The int8 path ignores it
  // (fixed 128-row blocks, one thread each: int8_cohort_stats.cpp).
  int64_t block_rows = 512;
};

// Cohort statistics of one utterance x (after submean): mean and population std of its top-N
// cosines against the cohort (the whole cohort for S-norm), and the imposter measure: the mean
// of the top-N inner products (x - m).c, c the cohort vector as scored (c - m for a cohort given
// in the raw space), the N also selected by inner product (speaker-net mean_imposter; the whole
// cohort for S-norm). std is floored at 1e-8 before it divides.
struct CohortStats {
  double mean = 0, std = 0, imposter = 0;
};

// Statistics of `ids` (all must be in `table`), with `mean` (may be null) subtracted from the
// utterances, and from the cohort vectors unless the cohort was built with it (Cohort).
std::vector<CohortStats> ComputeCohortStats(const EmbeddingTable& table,
                                            const std::vector<std::string>& ids,
                                            const Cohort& cohort, const ScoreNormOptions& options,
                                            const std::vector<float>* mean = nullptr);

struct NormalizedScores {
  std::vector<double> raw;     // cosine scores (after submean)
  std::vector<double> scores;  // s' = 0.5 [(s - mu_e)/sigma_e + (s - mu_t)/sigma_t]
  // Per trial: imposter measure of the enroll and the test utterance (0 when not computed).
  std::vector<double> enroll_imposter, test_imposter;
};

// Cohort statistics by table row, kept between ScoreNorm calls over the same table, cohort,
// mean and options, so that utterances shared by several trial lists (QMF: the evaluation and
// the calibration trials) get their statistics once. A call with other inputs (other objects,
// or a table or cohort of another size, other options) drops what the cache held. The objects
// are recognised by address: do not modify the table or cohort while a cache refers to them.
class CohortStatsCache {
 public:
  size_t size() const;  // utterances whose statistics are held
 private:
  friend NormalizedScores ScoreNorm(const EmbeddingTable&, const std::vector<Trial>&, const Cohort&,
                                    const ScoreNormOptions&, const std::vector<float>*,
                                    CohortStatsCache*);
  const EmbeddingTable* table_ = nullptr;
  const Cohort* cohort_ = nullptr;
  const std::vector<float>* mean_ = nullptr;
  std::string key_;                 // sizes and options
  std::vector<CohortStats> stats_;  // by table row
  std::vector<uint8_t> have_;
};

// Cosine-scores `trials` (as CosineScores: mean subtracted, eps 1e-8) and normalises each score
// with the enroll and test utterances' cohort statistics, each computed once (and, with a
// cache, reused from and added to it). A trial id missing from the table is an error naming the
// trial; the cohort and mean dimensions must match.
NormalizedScores ScoreNorm(const EmbeddingTable& table, const std::vector<Trial>& trials,
                           const Cohort& cohort, const ScoreNormOptions& options,
                           const std::vector<float>* mean = nullptr,
                           CohortStatsCache* cache = nullptr);

}  // namespace speakernet
