// AS-norm cohort statistics through an int8 preselection and an exact fp32 rescoring
// (ScoreNormOptions::int8_preselect; the derivation is in int8_cohort_stats.cpp). Internal to
// the scoring layer: ScoreNorm / ComputeCohortStats call it.
#pragma once

#include <cstdint>

#include "speakernet/scoring/score_norm.h"

namespace speakernet {

// Whether Int8CohortStats can run here: an x86-64 CPU with AVX-512 (F, BW, VL, DQ), oneDNN with
// an exact VNNI int8 product (Int8GemmAvailable()), and d <= 1024.
bool Int8CohortStatsAvailable(int64_t d);

// For each of the u rows of x ([u, d], L2-normalised; xn = their norms before normalising):
// mean and population std of its top_n largest fp32 dot products with the c rows of ch ([c, d],
// L2-normalised; cn = their norms before normalising), and, when `imposter`, xn times the mean of
// its top_n largest products f_j * cn[j]. The values are those of fp32 dot products; the top-N
// sets are exact (not approximations), ties included. Multi-threaded (at::parallel_for).
// Requires Int8CohortStatsAvailable(d) and 1 <= top_n <= c.
void Int8CohortStats(const float* x, const double* xn, int64_t u, const float* ch,
                     const float* cn, int64_t c, int64_t d, int64_t top_n, bool imposter,
                     CohortStats* stats);

}  // namespace speakernet
