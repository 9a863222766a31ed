// Tests of the DET plotting: the probit against tabulated normal quantiles, the DET sweep
// against a brute-force count at every threshold (and against ComputeMetrics' minDCF / EER),
// and the written files: the SVG parses as XML with an <svg> root (Python's xml.etree), the PNG
// has the PNG signature and the requested size in its IHDR chunk.
#include "speakernet/scoring/det_plot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "speakernet/scoring/metrics.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(ProbitTest, MatchesTabulatedNormalQuantiles) {
  // Standard normal quantiles from statistical tables (15+ significant digits).
  const struct {
    double p, z;
  } table[] = {{0.01, -2.326347874040841},  {0.5, 0.0},
               {0.975, 1.959963984540054},  {0.001, -3.090232306167814},
               {1e-6, -4.753424308822899},  {0.9, 1.2815515655446004},
               {0.025, -1.959963984540054}, {0.3, -0.5244005127080407},
               {0.99, 2.326347874040841}};
  for (const auto& t : table) {
    EXPECT_NEAR(Probit(t.p), t.z, 1e-12) << "p = " << t.p;
  }
  EXPECT_EQ(Probit(0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(Probit(1), std::numeric_limits<double>::infinity());
  EXPECT_THROW(Probit(-0.1), Error);
  EXPECT_THROW(Probit(1.5), Error);
}

TEST(ProbitTest, InvertsTheNormalCdfEverywhere) {
  // Φ(z) = erfc(-z / √2) / 2 computed here directly from the C library.
  for (double p = 1e-12; p < 1; p *= 1.7) {
    const double z = Probit(p);
    EXPECT_NEAR(0.5 * std::erfc(-z / std::sqrt(2.0)) / p, 1.0, 1e-12) << "p = " << p;
    // Upper tail: 1 - Φ(z) = erfc(z / √2) / 2 for q = 1 - p (rounded, so compared with 1 - q).
    const double q = 1 - p;
    const double zq = Probit(q);
    EXPECT_NEAR(0.5 * std::erfc(zq / std::sqrt(2.0)) / (1 - q), 1.0, 1e-12) << "q = " << q;
  }
}

TEST(DetCurveTest, HandWorkedExampleWithTies) {
  // scores (label): 0.1 (non), 0.35 (non), 0.4 (tar), 0.4 (non), 0.8 (tar).
  const std::vector<double> s = {0.4, 0.1, 0.8, 0.35, 0.4};
  const std::vector<int> l = {1, 0, 1, 0, 0};
  const auto c = DetCurve(s, l);
  ASSERT_EQ(c.size(), 5u);    // accept-all + 4 distinct scores
  const double expect[][3] = {// threshold, p_fa, p_miss
                              {-INFINITY, 1.0, 0.0},
                              {0.1, 2.0 / 3, 0.0},
                              {0.35, 1.0 / 3, 0.0},
                              {0.4, 0.0, 0.5},  // the tie at 0.4 moves both counts at once
                              {0.8, 0.0, 1.0}};
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c[i].threshold, expect[i][0]) << i;
    EXPECT_DOUBLE_EQ(c[i].p_fa, expect[i][1]) << i;
    EXPECT_DOUBLE_EQ(c[i].p_miss, expect[i][2]) << i;
  }
  EXPECT_THROW(DetCurve({1, 2}, {1, 1}), Error);  // no non-target
  EXPECT_THROW(DetCurve({1, 2}, {1, 2}), Error);  // bad label
}

TEST(DetCurveTest, PointsMatchBruteForceSweepAndMetrics) {
  std::mt19937 rng(7);
  std::normal_distribution<double> tar(2.0, 1.0), non(0.0, 1.0);
  std::vector<double> scores;
  std::vector<int> labels;
  for (int i = 0; i < 300; ++i) {
    // Rounded to 0.05 so that many scores tie.
    const bool is_tar = i % 5 == 0;
    scores.push_back(std::round((is_tar ? tar(rng) : non(rng)) * 20) / 20);
    labels.push_back(is_tar);
  }
  const auto curve = DetCurve(scores, labels);
  // Brute force: for every distinct score t, count directly.
  std::vector<double> distinct = scores;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  ASSERT_EQ(curve.size(), distinct.size() + 1);
  const double n_tar = 60, n_non = 240;
  double best_dcf = 1e9;
  for (size_t k = 0; k < distinct.size(); ++k) {
    const double t = distinct[k];
    double miss = 0, fa = 0;
    for (size_t i = 0; i < scores.size(); ++i) {
      if (labels[i] == 1 && scores[i] <= t) miss += 1;
      if (labels[i] == 0 && scores[i] > t) fa += 1;
    }
    EXPECT_EQ(curve[k + 1].threshold, t);
    EXPECT_DOUBLE_EQ(curve[k + 1].p_miss, miss / n_tar);
    EXPECT_DOUBLE_EQ(curve[k + 1].p_fa, fa / n_non);
    best_dcf = std::min(best_dcf, (miss / n_tar * 0.01 + fa / n_non * 0.99) / 0.01);
  }
  best_dcf = std::min(best_dcf, 0.99 / 0.01);  // the accept-all point
  const DetMetrics m = ComputeMetrics(scores, labels, 0.01);
  EXPECT_NEAR(m.min_dcf, std::min(best_dcf, 1.0), 1e-12);
  // The EER lies between the p_fa and p_miss of the two points where the curve crosses the
  // diagonal.
  for (size_t i = 1; i < curve.size(); ++i) {
    if (curve[i - 1].p_miss <= curve[i - 1].p_fa && curve[i].p_miss >= curve[i].p_fa) {
      const double lo =
          std::min({curve[i - 1].p_miss, curve[i].p_fa, curve[i - 1].p_fa, curve[i].p_miss});
      const double hi =
          std::max({curve[i - 1].p_miss, curve[i].p_fa, curve[i - 1].p_fa, curve[i].p_miss});
      EXPECT_GE(m.eer_percent / 100, lo - 1e-12);
      EXPECT_LE(m.eer_percent / 100, hi + 1e-12);
      break;
    }
  }
}

// Two synthetic systems with Gaussian scores of different separations.
std::vector<PlotSystem> TwoSystems() {
  std::vector<PlotSystem> systems(2);
  std::mt19937 rng(3);
  for (int s = 0; s < 2; ++s) {
    systems[s].name = s == 0 ? "good" : "weaker";
    std::normal_distribution<double> tar(s == 0 ? 3.0 : 1.5, 1.0), non(0.0, 1.0);
    for (int i = 0; i < 4000; ++i) {
      const bool is_tar = i % 10 == 0;
      systems[s].scores.push_back(is_tar ? tar(rng) : non(rng));
      systems[s].labels.push_back(is_tar);
    }
  }
  return systems;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

uint32_t BigEndian32(const std::string& b, size_t at) {
  return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) |
         (uint32_t(uint8_t(b[at + 2])) << 8) | uint32_t(uint8_t(b[at + 3]));
}

// PNG: 8-byte signature, then the IHDR chunk (length 13, "IHDR", width, height).
void ExpectPng(const std::string& path, uint32_t width, uint32_t height) {
  const std::string b = ReadBytes(path);
  ASSERT_GT(b.size(), 1000u) << path;
  EXPECT_EQ(b.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(b.substr(12, 4), "IHDR");
  EXPECT_EQ(BigEndian32(b, 16), width);
  EXPECT_EQ(BigEndian32(b, 20), height);
}

// Parses the SVG with Python's XML parser; prints "<root tag> <number of path elements>".
std::string ParseSvg(const std::string& path, const test::ScratchDir& dir) {
  const std::string script = dir / "parse_svg.py";
  std::ofstream(script) << "import sys, xml.etree.ElementTree as ET\n"
                           "root = ET.parse(sys.argv[1]).getroot()\n"
                           "paths = [e for e in root.iter() if e.tag.endswith('path')]\n"
                           "print(root.tag.split('}')[-1], root.get('width'), len(paths))\n";
  return test::RunPython(script, {path});
}

TEST(PlotTest, DetAndHistogramFilesAreValidSvgAndPng) {
  if (!PlottingAvailable()) GTEST_SKIP() << "built without cairo";
  test::ScratchDir dir("sn_plot_test");
  const auto systems = TwoSystems();
  PlotConfig config;
  config.title = "DET test";

  PlotDet(systems, dir / "det.png", config);
  ExpectPng(dir / "det.png", 640, 600);
  PlotDet(systems, dir / "det.svg", config);
  const std::string parsed = ParseSvg(dir / "det.svg", dir);
  EXPECT_THAT(parsed, HasSubstr("svg 640"));  // root <svg width="640pt"...>

  // Histograms: one 600-high panel per system.
  PlotScoreHistograms(systems, dir / "hist.png", config);
  ExpectPng(dir / "hist.png", 640, 1200);
  PlotScoreHistograms({systems[0]}, dir / "hist.svg", config);
  EXPECT_THAT(ParseSvg(dir / "hist.svg", dir), HasSubstr("svg 640"));

  // Another size is honoured.
  config.width = 300;
  config.height = 200;
  PlotDet({systems[1]}, dir / "small.png", config);
  ExpectPng(dir / "small.png", 300, 200);

  // Nothing but the outputs (and the helper script) is left: no temporaries.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir / "")) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "det.png" || name == "det.svg" || name == "hist.png" ||
                name == "hist.svg" || name == "small.png" || name == "parse_svg.py")
        << name;
    ++files;
  }
  EXPECT_EQ(files, 6);
}

TEST(PlotTest, BadInputsAreErrorsNamingTheFile) {
  test::ScratchDir dir("sn_plot_bad");
  const auto systems = TwoSystems();
  try {
    PlotDet(systems, dir / "det.jpg");
    ADD_FAILURE() << "no error for .jpg";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("det.jpg"));
  }
  EXPECT_THROW(PlotDet({}, dir / "det.svg"), Error);
  PlotConfig bad;
  bad.min_prob = 0.6;  // above max_prob
  EXPECT_THROW(PlotDet(systems, dir / "det.svg", bad), Error);
  EXPECT_FALSE(fs::exists(dir / "det.svg"));
}

}  // namespace
}  // namespace speakernet
