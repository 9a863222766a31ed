#include "speakernet/scoring/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {

struct Scored {
  double score;
  int target;
};

struct Counts {
  size_t n_tar = 0, n_non = 0;
};

Counts CheckInputs(const std::vector<double>& scores, const std::vector<int>& labels,
                   const char* who) {
  SN_CHECK(scores.size() == labels.size(), "{}: {} scores but {} labels", who, scores.size(),
           labels.size());
  Counts c;
  for (size_t i = 0; i < labels.size(); ++i) {
    SN_CHECK(labels[i] == 0 || labels[i] == 1,
             "{}: trial #{} has label {} (expected 1 = target or 0 = non-target)", who, i + 1,
             labels[i]);
    SN_CHECK(!std::isnan(scores[i]), "{}: trial #{} has a NaN score", who, i + 1);
    (labels[i] ? c.n_tar : c.n_non)++;
  }
  SN_CHECK(c.n_tar > 0 && c.n_non > 0,
           "{}: need at least one target and one non-target trial, "
           "got {} and {}",
           who, c.n_tar, c.n_non);
  return c;
}

void CheckCosts(double p_target, double c_miss, double c_fa) {
  SN_CHECK(p_target > 0 && p_target < 1, "p_target must be in (0, 1), got {}", p_target);
  SN_CHECK(c_miss > 0 && c_fa > 0, "costs must be positive, got c_miss {} c_fa {}", c_miss, c_fa);
}

std::vector<Scored> SortedAscending(const std::vector<double>& scores,
                                    const std::vector<int>& labels) {
  std::vector<Scored> v(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) v[i] = {scores[i], labels[i]};
  std::sort(v.begin(), v.end(), [](const Scored& a, const Scored& b) { return a.score < b.score; });
  return v;
}

// log(1 + e^x) without overflow.
double Softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

}  // namespace

DetMetrics ComputeMetrics(const std::vector<double>& scores, const std::vector<int>& labels,
                          double p_target, double c_miss, double c_fa) {
  CheckCosts(p_target, c_miss, c_fa);
  const Counts n = CheckInputs(scores, labels, "ComputeMetrics");
  const std::vector<Scored> v = SortedAscending(scores, labels);
  const double n_tar = static_cast<double>(n.n_tar), n_non = static_cast<double>(n.n_non);
  const double w_miss = c_miss * p_target, w_fa = c_fa * (1 - p_target);
  const double norm = std::min(w_miss, w_fa);
  const double inf = std::numeric_limits<double>::infinity();

  // Start: threshold below every score, everything accepted.
  double prev_fnr = 0, prev_fpr = 1, prev_thr = -inf;
  DetMetrics m;
  m.min_dcf = w_fa;  // un-normalised until the end
  m.min_dcf_threshold = -inf;
  bool eer_found = false;
  size_t cum_tar = 0, cum_non = 0;
  for (size_t i = 0; i < v.size();) {
    const double s = v[i].score;
    for (; i < v.size() && v[i].score == s; ++i) (v[i].target ? cum_tar : cum_non)++;
    const double fnr = static_cast<double>(cum_tar) / n_tar;
    const double fpr = 1.0 - static_cast<double>(cum_non) / n_non;
    const double dcf = w_miss * fnr + w_fa * fpr;
    if (dcf < m.min_dcf) {
      m.min_dcf = dcf;
      m.min_dcf_threshold = s;
    }
    if (!eer_found && fnr - fpr >= 0) {
      // (x1, y1) = previous point, (x2, y2) = this one; FNR - FPR goes from < 0 to >= 0.
      const double x1 = prev_fpr, y1 = prev_fnr, x2 = fpr, y2 = fnr;
      const double denom = y2 - x2 - y1 + x1;  // > 0
      const double a = (x1 - x2) / denom;
      m.eer_percent = 100.0 * (x1 + a * (y1 - x1));
      const double t = (x1 - y1) / denom;  // position of the crossing along the segment
      m.eer_threshold = std::isinf(prev_thr) ? s : prev_thr + t * (s - prev_thr);
      eer_found = true;
    }
    prev_fnr = fnr;
    prev_fpr = fpr;
    prev_thr = s;
  }
  // The last point is (FNR 1, FPR 0), so the crossing is always found.
  m.min_dcf /= norm;
  return m;
}

double ActualDcf(const std::vector<double>& scores, const std::vector<int>& labels, double p_target,
                 double c_miss, double c_fa) {
  CheckCosts(p_target, c_miss, c_fa);
  const Counts n = CheckInputs(scores, labels, "ActualDcf");
  const double threshold = std::log(c_fa * (1 - p_target) / (c_miss * p_target));
  size_t miss = 0, fa = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] == 1 && scores[i] <= threshold) ++miss;
    if (labels[i] == 0 && scores[i] > threshold) ++fa;
  }
  const double p_miss = static_cast<double>(miss) / static_cast<double>(n.n_tar);
  const double p_fa = static_cast<double>(fa) / static_cast<double>(n.n_non);
  const double w_miss = c_miss * p_target, w_fa = c_fa * (1 - p_target);
  return (w_miss * p_miss + w_fa * p_fa) / std::min(w_miss, w_fa);
}

double Cllr(const std::vector<double>& scores, const std::vector<int>& labels) {
  const Counts n = CheckInputs(scores, labels, "Cllr");
  double tar = 0, non = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] == 1) {
      tar += Softplus(-scores[i]);
    } else {
      non += Softplus(scores[i]);
    }
  }
  return (tar / static_cast<double>(n.n_tar) + non / static_cast<double>(n.n_non)) /
         (2 * std::log(2.0));
}

double MinCllr(const std::vector<double>& scores, const std::vector<int>& labels) {
  const Counts n = CheckInputs(scores, labels, "MinCllr");
  const std::vector<Scored> v = SortedAscending(scores, labels);
  // Pool adjacent violators: blocks of (targets, total) whose target fraction must be
  // non-decreasing in the score. Tied scores start in one block.
  struct Block {
    double tar, total;
  };
  std::vector<Block> blocks;
  for (size_t i = 0; i < v.size();) {
    Block b{0, 0};
    const double s = v[i].score;
    for (; i < v.size() && v[i].score == s; ++i) {
      b.tar += v[i].target;
      b.total += 1;
    }
    while (!blocks.empty() && blocks.back().tar * b.total >= b.tar * blocks.back().total) {
      b.tar += blocks.back().tar;
      b.total += blocks.back().total;
      blocks.pop_back();
    }
    blocks.push_back(b);
  }
  // Optimal posteriors p per block → LLR = logit(p) - logit(prior), prior = N_tar / N.
  const double n_tar = static_cast<double>(n.n_tar), n_non = static_cast<double>(n.n_non);
  const double prior_log_odds = std::log(n_tar / n_non);
  double tar = 0, non = 0;
  for (const Block& b : blocks) {
    const double non_in = b.total - b.tar;
    if (b.tar == 0 || non_in == 0) continue;  // LLR = -inf / +inf: zero cost for its trials
    const double llr = std::log(b.tar / non_in) - prior_log_odds;
    tar += b.tar * Softplus(-llr);
    non += non_in * Softplus(llr);
  }
  return (tar / n_tar + non / n_non) / (2 * std::log(2.0));
}

}  // namespace speakernet
