// Detection metrics (spec §7.2 item 6): EER, normalised minDCF, actual DCF, Cllr and minCllr.
#pragma once

#include <vector>

namespace speakernet {

struct DetMetrics {
  double eer_percent = 0;        // equal error rate, in %
  double min_dcf = 0;            // normalised minimum detection cost
  double eer_threshold = 0;      // score at the EER crossing (interpolated)
  double min_dcf_threshold = 0;  // trials scoring <= this are rejected at the minimum DCF
};

// labels: 1 = target, 0 = non-target (anything else is an error naming its index); at least
// one of each is required and scores must not be NaN. O(N log N).
//
// The scores are sorted ascending and the threshold sweeps over every observed score with
// "score <= threshold is rejected": at threshold s, FNR(s) = #targets <= s / N_tar and
// FPR(s) = #non-targets > s / N_non; the sweep starts from "accept everything" (FNR 0, FPR 1).
// Tied scores move together (one operating point per distinct score), so the result does not
// depend on the input order.
//   EER: between the consecutive points (x1 = FPR, y1 = FNR) and (x2, y2) where FNR - FPR
//        changes sign, a = (x1 - x2) / (y2 - x2 - y1 + x1) and EER = 100 (x1 + a (y1 - x1)).
//   minDCF = min over points of (c_miss FNR p + c_fa FPR (1 - p)) / min(c_miss p, c_fa (1 - p)).
// speaker-net divides the counts by N + 1e-6; that changes the rates by < 1e-6 relative and is
// not reproduced.
DetMetrics ComputeMetrics(const std::vector<double>& scores, const std::vector<int>& labels,
                          double p_target = 0.01, double c_miss = 1, double c_fa = 1);

// Normalised DCF at the Bayes threshold log(beta), beta = c_fa (1 - p) / (c_miss p), treating
// scores as log-likelihood ratios (score <= threshold rejected). Equals P_miss + beta P_fa when
// c_miss p <= c_fa (1 - p). Only meaningful for calibrated scores.
double ActualDcf(const std::vector<double>& scores, const std::vector<int>& labels,
                 double p_target = 0.01, double c_miss = 1, double c_fa = 1);

// Cllr = (mean_tar log2(1 + e^-s) + mean_non log2(1 + e^s)) / 2, scores as natural-log LLRs.
double Cllr(const std::vector<double>& scores, const std::vector<int>& labels);

// Cllr after the optimal monotone (PAV) recalibration of the scores: the discrimination part.
double MinCllr(const std::vector<double>& scores, const std::vector<int>& labels);

}  // namespace speakernet
