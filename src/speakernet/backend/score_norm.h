// Score normalisation against a speaker cohort (spec §7.2 item 3): cohort building, AS-norm
// (adaptive, top-N) and S-norm (whole cohort), plus the per-utterance "imposter" quality measure
// used later by QMF calibration.
//
// Cost: every enroll/test utterance's cohort statistics are computed once, as a [U, D] x [D, C]
// matrix product in row blocks (LibTorch BLAS, whole blocks per thread) followed by a partial
// selection of the top N per row; every trial is then normalised in O(1). The product is the
// floor: 2 U C D flops (4.7e11 at VoxCeleb1-E scale). S-norm needs no [U, C] product: the mean
// and variance of x.c over the whole cohort follow from the cohort mean and second-moment
// matrix, O(U D^2).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "speakernet/backend/embedding_table.h"
#include "speakernet/backend/trials.h"

namespace speakernet {

// One vector per cohort speaker: the mean of that speaker's L2-normalised utterance embeddings
// (speaker-net `--average-cohort true`). Mean subtraction is NOT applied here; ScoreNorm
// subtracts the submean vector from the cohort vectors, as from enroll and test.
struct Cohort {
  std::vector<std::string> speakers;  // sorted byte-wise
  int64_t dim = 0;
  std::vector<float> vectors;  // [speakers.size(), dim], row-major
  std::string source;          // for messages
  size_t size() const { return speakers.size(); }
  const float* Row(size_t i) const { return vectors.data() + i * static_cast<size_t>(dim); }
};

// (utterance, speaker) pairs of a Kaldi data dir: utt2spk, else spk2utt. Errors name file:line;
// a dir with neither file is an error.
std::vector<std::pair<std::string, std::string>> ReadUtt2Spk(const std::string& data_dir);

// Averages the L2-normalised embeddings (each divided by max(||e||, 1e-8), accumulated in
// double) of every speaker's utterances. Every listed utterance must have an embedding in
// `table`: a missing one is an error naming the utterance, its speaker and the table (a cohort
// silently built from part of the data would change the scores).
Cohort BuildCohort(const EmbeddingTable& table,
                   const std::vector<std::pair<std::string, std::string>>& utt2spk,
                   const std::string& source = "<utt2spk>");
// BuildCohort(table, ReadUtt2Spk(data_dir), data_dir).
Cohort BuildCohortFromDataDir(const EmbeddingTable& table, const std::string& data_dir);

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
  // AS-norm in float32: find each row's top-N candidates with a bfloat16 matrix product (about
  // twice the fp32 throughput on CPUs with AVX512-BF16), then rescore only the candidates in fp32.
  // The result is the exact top-N, not an approximation: every cosine of the bf16 product is
  // within delta = 3 * 2^-9 + 1e-4 of the true one (unit vectors: two input roundings and one
  // output rounding of 2^-9 each, plus fp32 accumulation), so every true top-N member has a bf16
  // value >= (N-th largest bf16 value) - 2 delta, and all those candidates are rescored exactly.
  // Ignored by S-norm and in double precision. Off by default: on the 2-core Cooper Lake machine
  // it was measured slower than the plain fp32 path at VoxCeleb1-E scale (14.4 vs 10.5 CPU s,
  // bench/backend_bench): the ~440 candidates per row (300 + the 2 delta band) cost as much to
  // rescore as the bf16 product saves. It pays off where bf16 is much faster than fp32 (AMX).
  bool bf16_preselect = false;
  // Utterances per block: each thread takes whole blocks ([block_rows, C] cosines, 6 MB for
  // 256 x 5994 floats, kept in cache for the selection) in one parallel region.
  int64_t block_rows = 256;
};

// Cohort statistics of one utterance x (after submean): mean and population std of its top-N
// cosines against the cohort (the whole cohort for S-norm), and the imposter measure: the mean
// of the top-N inner products (x - m).(c - m), the N also selected by inner product (speaker-net
// mean_imposter; the whole cohort for S-norm). std is floored at 1e-8 before it divides.
struct CohortStats {
  double mean = 0, std = 0, imposter = 0;
};

// Statistics of `ids` (all must be in `table`), with `mean` (may be null) subtracted from the
// utterances and from the cohort vectors.
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

// Cosine-scores `trials` (as CosineScores: mean subtracted, eps 1e-8) and normalises each score
// with the enroll and test utterances' cohort statistics, each computed once. A trial id missing
// from the table is an error naming the trial; the cohort and mean dimensions must match.
NormalizedScores ScoreNorm(const EmbeddingTable& table, const std::vector<Trial>& trials,
                           const Cohort& cohort, const ScoreNormOptions& options,
                           const std::vector<float>* mean = nullptr);

}  // namespace speakernet
