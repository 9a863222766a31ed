// DET curves and score histograms (spec §7.2 item 7), drawn with cairo as SVG or PNG, without
// Python. speaker-net's plot_det.py is an empty TODO and plot_scores.py draws seaborn
// histograms; this follows the NIST/Kaldi DET convention instead: miss and false-alarm
// probabilities on normal-deviate (probit) axes, so that Gaussian score distributions give
// straight lines.
#pragma once

#include <string>
#include <vector>

namespace speakernet {

// The standard normal CDF Φ(x) and its inverse Φ⁻¹(p) (the probit), p in (0, 1); Φ⁻¹(0) = -inf
// and Φ⁻¹(1) = +inf. Accurate to about 1e-15 relative (Acklam's rational approximation refined
// by one Halley step on erfc).
double NormalCdf(double x);
double Probit(double p);

// One operating point: trials scoring <= threshold are rejected.
struct DetPoint {
  double p_fa = 0, p_miss = 0, threshold = 0;
};

// The operating points of the same sweep as ComputeMetrics (scoring/metrics.h): first "accept
// everything" (p_fa 1, p_miss 0, threshold -inf), then one point per distinct score s in
// ascending order with p_miss = #targets <= s / N_tar and p_fa = #non-targets > s / N_non.
// labels: 1 target, 0 non-target; at least one of each (errors otherwise).
std::vector<DetPoint> DetCurve(const std::vector<double>& scores, const std::vector<int>& labels);

// One system to plot: its scores and the trial labels (same order).
struct PlotSystem {
  std::string name;
  std::vector<double> scores;
  std::vector<int> labels;
};

struct PlotConfig {
  int width = 640, height = 600;                 // pixels (PNG) or points (SVG)
  double p_target = 0.01, c_miss = 1, c_fa = 1;  // the minDCF operating point to mark
  double min_prob = 0.001, max_prob = 0.5;       // DET axis range (probabilities)
  int hist_bins = 60;                            // histogram bins over the score range
  std::string title;                             // "" = none

  template <class V>
  void Fields(V& v) {
    v("width", width, "image width in pixels (PNG) or points (SVG)");
    v("height", height, "image height");
    v("p_target", p_target, "target prior of the marked minDCF point");
    v("c_miss", c_miss, "cost of a miss");
    v("c_fa", c_fa, "cost of a false alarm");
    v("min_prob", min_prob, "lower end of both DET axes (probability)");
    v("max_prob", max_prob, "upper end of both DET axes (probability)");
    v("hist_bins", hist_bins, "number of histogram bins");
    v("title", title, "plot title");
  }
  void Validate() const;
};

// Image format from the path's extension: ".svg" or ".png" (an error otherwise).
enum class PlotFormat { kSvg, kPng };
PlotFormat PlotFormatOf(const std::string& path);

// A DET plot of every system (one coloured curve each, legend "name  EER x% minDCF y"), with
// each system's EER point (circle, on the diagonal) and minDCF point (square) marked. Written
// atomically. Throws Error when speakernet was built without cairo.
void PlotDet(const std::vector<PlotSystem>& systems, const std::string& path,
             const PlotConfig& config = {});

// Target and non-target score histograms (each normalised to a density, since non-targets
// usually outnumber targets by 100x), one panel per system stacked vertically, with the EER
// threshold (dashed) and minDCF threshold (dotted) drawn as vertical lines. Written atomically.
void PlotScoreHistograms(const std::vector<PlotSystem>& systems, const std::string& path,
                         const PlotConfig& config = {});

// False when built without cairo (PlotDet / PlotScoreHistograms then throw).
bool PlottingAvailable();

}  // namespace speakernet
