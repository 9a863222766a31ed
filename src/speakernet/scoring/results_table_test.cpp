#include "speakernet/scoring/results_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;

TEST(ResultsTable, OneRowPerStageOneColumnPerTrialList) {
  ResultsTable table({0.01, 0.05});
  table.Set("cosine", "vox1-O", {1.23456, {0.123456, 0.05}});
  table.Set("asnorm", "vox1-O", {0.9, {0.1, 0.04}});
  table.Set("cosine", "vox1-E", {2.0, {0.2, 0.1}});
  const std::string text = table.Format();
  std::istringstream in(text);
  std::string header, units, cosine, asnorm;
  std::getline(in, header);
  std::getline(in, units);
  std::getline(in, cosine);
  std::getline(in, asnorm);
  EXPECT_THAT(header, HasSubstr("vox1-O"));
  EXPECT_THAT(header, HasSubstr("vox1-E"));
  // Each value sits under its header: fields padded to the widest of header and values.
  EXPECT_THAT(units, HasSubstr("EER%  │ minDCF(0.01) │ minDCF(0.05)"));
  EXPECT_THAT(cosine, HasSubstr("cosine"));
  EXPECT_THAT(cosine, HasSubstr("1.235 │ 0.1235       │ 0.0500"));
  EXPECT_THAT(cosine, HasSubstr("2.000 │ 0.2000       │ 0.1000"));
  EXPECT_THAT(asnorm, HasSubstr("0.900 │ 0.1000       │ 0.0400"));
  const auto column_of = [](const std::string& line, const std::string& what) {
    const std::string head = line.substr(0, line.find(what));
    size_t chars = 0;  // code points, not bytes (the rules are 3 bytes each)
    for (unsigned char c : head) chars += (c & 0xC0) != 0x80;
    return chars;
  };
  EXPECT_EQ(column_of(units, "minDCF(0.05)"), column_of(cosine, "0.0500"));
  EXPECT_EQ(column_of(units, "minDCF(0.05)"), column_of(asnorm, "0.0400"));
  EXPECT_THAT(asnorm, HasSubstr("-"));  // no asnorm result for vox1-E
  EXPECT_EQ(text.find(" \n"), std::string::npos) << "no trailing blanks";
}

TEST(ResultsTable, DeclaredColumnsKeepTheirOrderAndShowDashes) {
  ResultsTable table;
  for (const char* c : {"vox1-O", "vox1-E", "voxsrc2021-val"}) table.AddColumn(c);
  table.Set("cosine", "vox1-E", {2.0, {0.2}});
  table.Set("cosine", "extra", {3.0, {0.3}});
  const std::string text = table.Format();
  const std::string header = text.substr(0, text.find('\n'));
  EXPECT_LT(header.find("vox1-O"), header.find("vox1-E"));
  EXPECT_LT(header.find("vox1-E"), header.find("voxsrc2021-val"));
  EXPECT_LT(header.find("voxsrc2021-val"), header.find("extra"));
  std::string cosine = text.substr(text.rfind("cosine"));
  cosine = cosine.substr(0, cosine.find('\n'));
  EXPECT_THAT(cosine,
              ::testing::MatchesRegex("cosine +┃ +- +┃ 2.000 │ 0.2000 +┃ +- +┃ 3.000 │ 0.3000 *"));
}

// EER and minDCF against an independent ROC sweep in numpy written after scikit-learn's
// roc_curve (scikit-learn itself is not installed on Debian here): thresholds at the distinct
// scores in descending order, "accept >= threshold", and the EER as the intersection of the ROC
// polyline with FNR = FPR. Heavily tied scores (two decimals) and three target priors.
TEST(ResultsTable, MetricsMatchNumpyRocSweepWithTies) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<double> scores;
  std::vector<int> labels;
  for (int i = 0; i < 40000; ++i) {
    const int label = i % 7 == 0;
    labels.push_back(label);
    scores.push_back(std::round((gauss(rng) + (label ? 2.5 : 0.0)) * 100) / 100);
  }
  test::ScratchDir dir("sn_results_roc");
  {
    std::ofstream out(dir / "scores.txt");
    out.precision(17);
    for (size_t i = 0; i < scores.size(); ++i) out << scores[i] << " " << labels[i] << "\n";
  }
  {
    std::ofstream py(dir / "roc.py");
    py << R"PY(
import sys
import numpy as np
d = np.loadtxt(sys.argv[1]); s = d[:, 0]; y = d[:, 1]
order = np.argsort(-s, kind="mergesort"); s = s[order]; y = y[order]
distinct = np.where(np.diff(s))[0]
idx = np.r_[distinct, len(s) - 1]
tps = np.cumsum(y)[idx]; fps = 1 + idx - tps
tpr = np.r_[0, tps / y.sum()]; fpr = np.r_[0, fps / (1 - y).sum()]  # sklearn adds (0, 0)
fnr = 1 - tpr
# EER: the segment where FNR - FPR changes sign, intersected with the diagonal.
g = fnr - fpr
k = int(np.where((g[:-1] >= 0) & (g[1:] < 0))[0][-1])
x1, y1, x2, y2 = fpr[k], fnr[k], fpr[k + 1], fnr[k + 1]
t = (x1 - y1) / ((y2 - y1) - (x2 - x1)) if g[k] != 0 else 0.0
eer = 100 * (x1 + t * (x2 - x1))
for p in (0.01, 0.001, 0.05):
    print("%.12f %.12f" % (eer, np.min(p * fnr + (1 - p) * fpr) / min(p, 1 - p)))
)PY";
  }
  std::istringstream ref(test::RunPython(dir / "roc.py", {dir / "scores.txt"}));
  const ResultCell cell = MakeResultCell(scores, labels, {0.01, 0.001, 0.05});
  for (size_t i = 0; i < 3; ++i) {
    double eer = 0, dcf = 0;
    ref >> eer >> dcf;
    EXPECT_NEAR(cell.eer_percent, eer, 1e-9);
    EXPECT_NEAR(cell.min_dcf[i], dcf, 1e-9) << i;
  }
  EXPECT_GT(cell.min_dcf[1], cell.min_dcf[0]);  // a rarer target costs more
}

}  // namespace
}  // namespace speakernet
