#include "speakernet/scoring/det_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/scoring/metrics.h"

#ifdef SPEAKERNET_HAVE_CAIRO
#include <cairo-svg.h>
#include <cairo.h>
#endif

namespace speakernet {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double Probit(double p) {
  SN_CHECK(!(p < 0 || p > 1), "Probit: probability {} is outside [0, 1]", p);
  if (p == 0) return -kInf;
  if (p == 1) return kInf;
  // 1 - p is exact for p > 0.5, and the lower tail keeps full relative precision in erfc.
  if (p > 0.5) return -Probit(1 - p);
  // Acklam's rational approximation (relative error < 1.2e-9) ...
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  constexpr double p_low = 0.02425;
  double x;
  if (p < p_low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // ... refined by one Halley step on the exact CDF, which brings it to double precision.
  const double e = NormalCdf(x) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

std::vector<DetPoint> DetCurve(const std::vector<double>& scores, const std::vector<int>& labels) {
  SN_CHECK(scores.size() == labels.size(), "DetCurve: {} scores but {} labels", scores.size(),
           labels.size());
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  size_t n_tar = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    SN_CHECK(labels[i] == 0 || labels[i] == 1, "DetCurve: label #{} is {}, expected 0 or 1", i,
             labels[i]);
    SN_CHECK(!std::isnan(scores[i]), "DetCurve: score #{} is NaN", i);
    n_tar += labels[i];
  }
  const size_t n_non = labels.size() - n_tar;
  SN_CHECK(n_tar > 0 && n_non > 0, "DetCurve: need target and non-target trials (got {} and {})",
           n_tar, n_non);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  std::vector<DetPoint> curve;
  curve.push_back({1.0, 0.0, -kInf});
  size_t tar_below = 0, non_below = 0;
  for (size_t i = 0; i < order.size();) {
    const double s = scores[order[i]];
    // Tied scores move together: one operating point per distinct score.
    for (; i < order.size() && scores[order[i]] == s; ++i) {
      (labels[order[i]] ? tar_below : non_below)++;
    }
    curve.push_back({static_cast<double>(n_non - non_below) / n_non,
                     static_cast<double>(tar_below) / n_tar, s});
  }
  return curve;
}

void PlotConfig::Validate() const {
  SN_CHECK(width >= 100 && height >= 100 && width <= 20000 && height <= 20000,
           "plot size {}x{} must be within 100..20000", width, height);
  SN_CHECK(p_target > 0 && p_target < 1, "p_target must be in (0, 1), got {}", p_target);
  SN_CHECK(c_miss > 0 && c_fa > 0, "c_miss and c_fa must be > 0");
  SN_CHECK(min_prob > 0 && min_prob < max_prob && max_prob < 1,
           "DET axis range must satisfy 0 < min_prob < max_prob < 1, got {} .. {}", min_prob,
           max_prob);
  SN_CHECK(hist_bins >= 2 && hist_bins <= 10000, "hist_bins must be in 2..10000, got {}",
           hist_bins);
}

PlotFormat PlotFormatOf(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == ".svg") return PlotFormat::kSvg;
  if (ext == ".png") return PlotFormat::kPng;
  Fail(fmt::format("plot output '{}': unknown image format '{}' (use .svg or .png)", path, ext));
}

#ifndef SPEAKERNET_HAVE_CAIRO

bool PlottingAvailable() { return false; }
void PlotDet(const std::vector<PlotSystem>&, const std::string& path, const PlotConfig&) {
  Fail(fmt::format("cannot write '{}': speakernet was built without cairo (libcairo2-dev)", path));
}
void PlotScoreHistograms(const std::vector<PlotSystem>&, const std::string& path,
                         const PlotConfig&) {
  Fail(fmt::format("cannot write '{}': speakernet was built without cairo (libcairo2-dev)", path));
}

#else

bool PlottingAvailable() { return true; }

namespace {

struct Rgb {
  double r, g, b;
};
// Colour-blind-safe palette (Okabe-Ito), cycled for more systems.
const Rgb kPalette[] = {{0.00, 0.45, 0.70}, {0.84, 0.37, 0.00}, {0.00, 0.62, 0.45},
                        {0.80, 0.47, 0.65}, {0.90, 0.62, 0.00}, {0.34, 0.71, 0.91},
                        {0.94, 0.89, 0.26}, {0.0, 0.0, 0.0}};
Rgb Colour(size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

void CheckSystems(const std::vector<PlotSystem>& systems, const std::string& path) {
  SN_CHECK(!systems.empty(), "plot '{}': no system to plot", path);
  for (const auto& s : systems) {
    SN_CHECK(s.scores.size() == s.labels.size(), "plot '{}': system '{}' has {} scores, {} labels",
             path, s.name, s.scores.size(), s.labels.size());
  }
}

// A cairo surface of the requested format whose output goes to a temporary path and is
// renamed into place only when everything was drawn (WriteFileAtomically).
template <class Draw>
void RenderTo(const std::string& path, int width, int height, const Draw& draw) {
  const PlotFormat format = PlotFormatOf(path);
  WriteFileAtomically(path, [&](const std::string& tmp) {
    cairo_surface_t* surface = format == PlotFormat::kSvg
                                   ? cairo_svg_surface_create(tmp.c_str(), width, height)
                                   : cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    cairo_t* cr = cairo_create(surface);
    try {
      cairo_set_source_rgb(cr, 1, 1, 1);
      cairo_paint(cr);
      cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
      draw(cr);
    } catch (...) {
      cairo_destroy(cr);
      cairo_surface_destroy(surface);
      throw;
    }
    const cairo_status_t draw_status = cairo_status(cr);
    cairo_destroy(cr);
    cairo_status_t status = draw_status;
    if (status == CAIRO_STATUS_SUCCESS && format == PlotFormat::kPng) {
      status = cairo_surface_write_to_png(surface, tmp.c_str());
    }
    cairo_surface_finish(surface);  // the SVG is flushed to its file here
    if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    SN_CHECK(status == CAIRO_STATUS_SUCCESS, "cannot write plot '{}': {}", path,
             cairo_status_to_string(status));
  });
}

enum class Align { kLeft, kCenter, kRight };

// Text with its baseline's anchor at (x, y), shifted by `align` horizontally and by `vshift`
// text heights vertically (0.5 centres a line on y).
void Text(cairo_t* cr, double x, double y, const std::string& s, Align align = Align::kLeft,
          double vshift = 0) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  if (align == Align::kCenter) x -= e.x_advance / 2;
  if (align == Align::kRight) x -= e.x_advance;
  cairo_move_to(cr, x, y + vshift * e.height);
  cairo_show_text(cr, s.c_str());
}

void VerticalText(cairo_t* cr, double x, double y, const std::string& s) {
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, -M_PI / 2);
  Text(cr, 0, 0, s, Align::kCenter);
  cairo_restore(cr);
}

// Probability (fraction) as the percent label NIST plots use: "0.1", "1", "40".
std::string PercentLabel(double p) { return fmt::format("{:g}", p * 100); }

// "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi] with about `n` of them.
std::vector<double> NiceTicks(double lo, double hi, int n) {
  std::vector<double> ticks;
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / n;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double f : {1.0, 2.0, 5.0, 10.0}) {
    if (f * mag >= raw) {
      step = f * mag;
      break;
    }
  }
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

struct Box {
  double x0, y0, x1, y1;  // device coordinates, y grows downwards
  double w() const { return x1 - x0; }
  double h() const { return y1 - y0; }
};

void DrawFrame(cairo_t* cr, const Box& box) {
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, box.x0, box.y0, box.w(), box.h());
  cairo_stroke(cr);
}

void DrawTitle(cairo_t* cr, const std::string& title, double width, double y) {
  if (title.empty()) return;
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_size(cr, 15);
  Text(cr, width / 2, y, title, Align::kCenter);
}

// One system's DET curve with its metrics and its minDCF operating point.
struct DetSystem {
  std::vector<DetPoint> curve;
  DetMetrics metrics;
  DetPoint min_dcf_point;
};

DetSystem PrepareDet(const PlotSystem& s, const PlotConfig& config) {
  DetSystem p;
  p.curve = DetCurve(s.scores, s.labels);
  p.metrics = ComputeMetrics(s.scores, s.labels, config.p_target, config.c_miss, config.c_fa);
  // The minDCF point is the sweep point at its threshold (the curve has one per score).
  p.min_dcf_point = p.curve.front();
  for (const auto& pt : p.curve) {
    if (pt.threshold == p.metrics.min_dcf_threshold) p.min_dcf_point = pt;
  }
  return p;
}

// Probabilities map to the probit axes of the box; 0 and 1 (±inf) are clamped just outside the
// box so that a curve leaves the plot instead of vanishing.
struct DetAxes {
  Box box;
  double lo, hi;
  double X(double p) const {
    const double z = std::clamp(Probit(p), lo - 2, hi + 2);
    return box.x0 + (z - lo) / (hi - lo) * box.w();
  }
  double Y(double p) const {
    const double z = std::clamp(Probit(p), lo - 2, hi + 2);
    return box.y1 - (z - lo) / (hi - lo) * box.h();
  }
};

// Grid and ticks at the NIST-style percentages inside the range, and the axis labels.
void DrawDetGrid(cairo_t* cr, const DetAxes& ax, const PlotConfig& config) {
  const double candidates[] = {0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001,
                               0.002,   0.005,   0.01,    0.02,   0.05,   0.1,    0.2,
                               0.3,     0.4,     0.5,     0.6,    0.7,    0.8,    0.9,
                               0.95,    0.98,    0.99,    0.995,  0.998,  0.999};
  const Box& box = ax.box;
  cairo_set_font_size(cr, 11);
  for (double p : candidates) {
    if (p < config.min_prob * (1 - 1e-9) || p > config.max_prob * (1 + 1e-9)) continue;
    cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
    cairo_set_line_width(cr, 0.8);
    cairo_move_to(cr, ax.X(p), box.y0);
    cairo_line_to(cr, ax.X(p), box.y1);
    cairo_move_to(cr, box.x0, ax.Y(p));
    cairo_line_to(cr, box.x1, ax.Y(p));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    Text(cr, ax.X(p), box.y1 + 16, PercentLabel(p), Align::kCenter);
    Text(cr, box.x0 - 6, ax.Y(p), PercentLabel(p), Align::kRight, 0.5);
  }
  cairo_set_font_size(cr, 13);
  Text(cr, box.x0 + box.w() / 2, box.y1 + 40, "False alarm probability (%)", Align::kCenter);
  VerticalText(cr, 22, box.y0 + box.h() / 2, "Miss probability (%)");
}

// The EER diagonal, then each system's curve with its EER (circle) and minDCF (square) points,
// clipped to the box.
void DrawDetCurves(cairo_t* cr, const DetAxes& ax, const std::vector<DetSystem>& systems) {
  const Box& box = ax.box;
  cairo_save(cr);
  cairo_rectangle(cr, box.x0, box.y0, box.w(), box.h());
  cairo_clip(cr);
  cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
  cairo_set_line_width(cr, 0.8);
  const double dash[] = {4, 3};
  cairo_set_dash(cr, dash, 2, 0);
  cairo_move_to(cr, box.x0, box.y1);
  cairo_line_to(cr, box.x1, box.y0);
  cairo_stroke(cr);
  cairo_set_dash(cr, nullptr, 0, 0);
  for (size_t s = 0; s < systems.size(); ++s) {
    const Rgb c = Colour(s);
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_set_line_width(cr, 1.8);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    // The sweep has a point per distinct score (millions for big trial lists); points closer
    // than a quarter pixel to the last drawn one are skipped, which keeps SVGs small and does
    // not change the picture.
    double lx = 0, ly = 0;
    const auto& curve = systems[s].curve;
    for (size_t i = 0; i < curve.size(); ++i) {
      const double x = ax.X(curve[i].p_fa), y = ax.Y(curve[i].p_miss);
      if (i == 0) {
        cairo_move_to(cr, x, y);
      } else if (i + 1 == curve.size() || std::hypot(x - lx, y - ly) >= 0.25) {
        cairo_line_to(cr, x, y);
      } else {
        continue;
      }
      lx = x;
      ly = y;
    }
    cairo_stroke(cr);
    // EER: on the diagonal at p_miss = p_fa = EER (circle); minDCF: the sweep point (square).
    const double eer = systems[s].metrics.eer_percent / 100;
    cairo_arc(cr, ax.X(eer), ax.Y(eer), 4.5, 0, 2 * M_PI);
    cairo_stroke(cr);
    const DetPoint& m = systems[s].min_dcf_point;
    cairo_rectangle(cr, ax.X(m.p_fa) - 4, ax.Y(m.p_miss) - 4, 8, 8);
    cairo_fill(cr);
  }
  cairo_restore(cr);
}

// Legend in the lower left corner, which DET curves leave empty (both error rates low).
void DrawDetLegend(cairo_t* cr, const Box& box, const std::vector<PlotSystem>& systems,
                   const std::vector<DetSystem>& prepared, const PlotConfig& config) {
  cairo_set_font_size(cr, 11);
  std::vector<std::string> lines;
  double text_w = 0;
  for (size_t s = 0; s < systems.size(); ++s) {
    lines.push_back(fmt::format("{}  EER {:.2f}%  minDCF {:.3f}", systems[s].name,
                                prepared[s].metrics.eer_percent, prepared[s].metrics.min_dcf));
    cairo_text_extents_t e;
    cairo_text_extents(cr, lines.back().c_str(), &e);
    text_w = std::max(text_w, e.x_advance);
  }
  lines.push_back(fmt::format("o EER   \u25a0 minDCF (p={:g})", config.p_target));
  const double row = 16, lw = 28 + text_w + 10, lh = row * lines.size() + 8;
  const double lx0 = box.x0 + 8, ly0 = box.y1 - lh - 8;
  cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
  cairo_rectangle(cr, lx0, ly0, lw, lh);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
  cairo_set_line_width(cr, 0.8);
  cairo_stroke(cr);
  for (size_t i = 0; i < lines.size(); ++i) {
    const double y = ly0 + 4 + row * (i + 0.5);
    if (i < systems.size()) {
      const Rgb c = Colour(i);
      cairo_set_source_rgb(cr, c.r, c.g, c.b);
      cairo_set_line_width(cr, 2);
      cairo_move_to(cr, lx0 + 6, y);
      cairo_line_to(cr, lx0 + 26, y);
      cairo_stroke(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    Text(cr, lx0 + 32, y, lines[i], Align::kLeft, 0.4);
  }
}

// Densities of the non-target (0) and target (1) scores over `bins` equal bins of [lo, hi].
struct Histogram {
  double lo = 0, hi = 0, bin_width = 0, top = 0;  // top: the y-axis maximum
  std::vector<double> density[2];
  size_t count[2] = {0, 0};
};

Histogram ScoreHistogram(const PlotSystem& sys, int bins) {
  Histogram h;
  h.lo = *std::min_element(sys.scores.begin(), sys.scores.end());
  h.hi = *std::max_element(sys.scores.begin(), sys.scores.end());
  if (!(h.hi > h.lo)) {
    h.lo -= 0.5;
    h.hi += 0.5;
  }
  h.bin_width = (h.hi - h.lo) / bins;
  h.density[0].assign(bins, 0);
  h.density[1].assign(bins, 0);
  for (size_t i = 0; i < sys.scores.size(); ++i) {
    const int b = std::clamp(static_cast<int>((sys.scores[i] - h.lo) / h.bin_width), 0, bins - 1);
    h.density[sys.labels[i]][b] += 1;
    h.count[sys.labels[i]]++;
  }
  for (int c = 0; c < 2; ++c) {
    for (double& d : h.density[c]) {
      d = h.count[c] ? d / (h.count[c] * h.bin_width) : 0;
      h.top = std::max(h.top, d);
    }
  }
  h.top *= 1.08;
  return h;
}

struct HistAxes {
  Box box;
  double lo, hi, top;
  double X(double s) const { return box.x0 + (s - lo) / (hi - lo) * box.w(); }
  double Y(double d) const { return box.y1 - d / top * box.h(); }
};

void DrawHistAxes(cairo_t* cr, const HistAxes& ax) {
  const Box& box = ax.box;
  cairo_set_font_size(cr, 11);
  for (double t : NiceTicks(ax.lo, ax.hi, 8)) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, ax.X(t), box.y1);
    cairo_line_to(cr, ax.X(t), box.y1 + 4);
    cairo_stroke(cr);
    Text(cr, ax.X(t), box.y1 + 16, fmt::format("{:g}", t), Align::kCenter);
  }
  for (double t : NiceTicks(0, ax.top, 5)) {
    cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
    cairo_set_line_width(cr, 0.8);
    cairo_move_to(cr, box.x0, ax.Y(t));
    cairo_line_to(cr, box.x1, ax.Y(t));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    Text(cr, box.x0 - 6, ax.Y(t), fmt::format("{:g}", t), Align::kRight, 0.5);
  }
  cairo_set_font_size(cr, 13);
  Text(cr, box.x0 + box.w() / 2, box.y1 + 40, "Score", Align::kCenter);
  VerticalText(cr, 22, box.y0 + box.h() / 2, "Density");
}

// Non-targets blue, targets red, translucent so that the overlap stays visible.
const Rgb kHistColours[2] = {{0.0, 0.45, 0.70}, {0.84, 0.20, 0.10}};

void DrawHistBars(cairo_t* cr, const HistAxes& ax, const Histogram& h) {
  for (int c = 0; c < 2; ++c) {
    cairo_set_source_rgba(cr, kHistColours[c].r, kHistColours[c].g, kHistColours[c].b, 0.45);
    for (size_t b = 0; b < h.density[c].size(); ++b) {
      if (h.density[c][b] <= 0) continue;
      const double x0 = ax.X(h.lo + b * h.bin_width), x1 = ax.X(h.lo + (b + 1) * h.bin_width);
      cairo_rectangle(cr, x0, ax.Y(h.density[c][b]), x1 - x0, ax.box.y1 - ax.Y(h.density[c][b]));
    }
    cairo_fill(cr);
  }
}

// Dashed vertical lines at the EER and minDCF thresholds.
void DrawThresholdMarkers(cairo_t* cr, const HistAxes& ax, const DetMetrics& m) {
  struct Marker {
    double threshold;
    const char* label;
    double dash;
  };
  const Marker markers[] = {{m.eer_threshold, "EER", 6}, {m.min_dcf_threshold, "minDCF", 2}};
  cairo_set_font_size(cr, 11);
  for (const Marker& mk : markers) {
    if (mk.threshold < ax.lo || mk.threshold > ax.hi) continue;
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_line_width(cr, 1.4);
    const double dash[] = {mk.dash, 3};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, ax.X(mk.threshold), ax.box.y0);
    cairo_line_to(cr, ax.X(mk.threshold), ax.box.y1);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    VerticalText(cr, ax.X(mk.threshold) - 4, ax.box.y0 + ax.box.h() * 0.25,
                 fmt::format("{} {:.4g}", mk.label, mk.threshold));
  }
}

// Legend in the upper right corner.
void DrawHistLegend(cairo_t* cr, const Box& box, const Histogram& h, const DetMetrics& m) {
  const std::string entries[] = {
      fmt::format("non-target ({})", h.count[0]), fmt::format("target ({})", h.count[1]),
      fmt::format("EER {:.2f}%  minDCF {:.3f}", m.eer_percent, m.min_dcf)};
  double text_w = 0;
  for (const auto& e : entries) {
    cairo_text_extents_t ext;
    cairo_text_extents(cr, e.c_str(), &ext);
    text_w = std::max(text_w, ext.x_advance);
  }
  const double row = 16, lw = 30 + text_w + 8, lx0 = box.x1 - lw - 8, ly0 = box.y0 + 8;
  cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
  cairo_rectangle(cr, lx0, ly0, lw, row * 3 + 8);
  cairo_fill(cr);
  for (int i = 0; i < 3; ++i) {
    const double y = ly0 + 4 + row * (i + 0.5);
    if (i < 2) {
      cairo_set_source_rgba(cr, kHistColours[i].r, kHistColours[i].g, kHistColours[i].b, 0.6);
      cairo_rectangle(cr, lx0 + 6, y - 5, 18, 10);
      cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    Text(cr, lx0 + 30, y, entries[i], Align::kLeft, 0.4);
  }
}

}  // namespace

void PlotDet(const std::vector<PlotSystem>& systems, const std::string& path,
             const PlotConfig& config) {
  config.Validate();
  CheckSystems(systems, path);
  std::vector<DetSystem> prepared;
  for (const auto& s : systems) prepared.push_back(PrepareDet(s, config));
  RenderTo(path, config.width, config.height, [&](cairo_t* cr) {
    const double top = config.title.empty() ? 20 : 40;
    const DetAxes ax{Box{70, top, config.width - 25.0, config.height - 60.0},
                     Probit(config.min_prob), Probit(config.max_prob)};
    DrawTitle(cr, config.title, config.width, 26);
    DrawDetGrid(cr, ax, config);
    DrawDetCurves(cr, ax, prepared);
    DrawFrame(cr, ax.box);
    DrawDetLegend(cr, ax.box, systems, prepared, config);
  });
}

void PlotScoreHistograms(const std::vector<PlotSystem>& systems, const std::string& path,
                         const PlotConfig& config) {
  config.Validate();
  CheckSystems(systems, path);
  const int panels = static_cast<int>(systems.size());
  // Each panel keeps the configured height, so several systems make a taller image.
  RenderTo(path, config.width, config.height * panels, [&](cairo_t* cr) {
    for (int k = 0; k < panels; ++k) {
      const PlotSystem& sys = systems[k];
      const DetMetrics m =
          ComputeMetrics(sys.scores, sys.labels, config.p_target, config.c_miss, config.c_fa);
      const double y_off = static_cast<double>(k) * config.height;
      const std::string title =
          config.title.empty() ? sys.name : fmt::format("{}: {}", config.title, sys.name);
      DrawTitle(cr, title, config.width, y_off + 24);
      const Histogram h = ScoreHistogram(sys, config.hist_bins);
      const HistAxes ax{Box{70, y_off + 36, config.width - 25.0, y_off + config.height - 60.0},
                        h.lo, h.hi, h.top};
      DrawHistAxes(cr, ax);
      DrawHistBars(cr, ax, h);
      DrawThresholdMarkers(cr, ax, m);
      DrawFrame(cr, ax.box);
      DrawHistLegend(cr, ax.box, h, m);
    }
  });
}

#endif  // SPEAKERNET_HAVE_CAIRO

}  // namespace speakernet
