// Test-only: speaker-net's state-dict listings ("name\t(shape)\tdtype" per line) and the same
// listing of one of our models, for line-by-line comparison; and the comparison of our outputs
// with those of the independent PyTorch references in testdata/.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "speakernet/common/test_util.h"
#include "speakernet/models/state_dict.h"

namespace speakernet::test {

// The copy in models/testdata/, else the shared reference dir beside the checkout.
inline std::string ReferenceListing(const std::string& file) {
  const std::string copy = SourcePath("src/speakernet/models/testdata/" + file);
  if (std::filesystem::exists(copy)) return copy;
  return SourcePath("../shared/reference/speaker-net-state-dicts/" + file);
}

// The encoder's lines: extract_fbank.* (feature layer) and loss.* (classifier) are dropped.
inline std::vector<std::string> ReadReferenceLines(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("extract_fbank.", 0) == 0 || line.rfind("loss.", 0) == 0) continue;
    lines.push_back(line);
  }
  return lines;
}

inline std::string PythonShape(c10::IntArrayRef sizes) {
  if (sizes.size() == 1) return fmt::format("({},)", sizes[0]);
  return fmt::format("({})", fmt::join(sizes, ", "));
}

inline std::string DtypeName(const torch::Tensor& t) {
  if (t.scalar_type() == torch::kFloat) return "float32";
  if (t.scalar_type() == torch::kLong) return "int64";
  return std::string(c10::toString(t.scalar_type()));
}

inline std::vector<std::string> ModelLines(const torch::nn::Module& model) {
  std::vector<std::string> lines;
  for (const auto& [name, t] : GetStateDict(model)) {
    lines.push_back(name + "\t" + PythonShape(t.sizes()) + "\t" + DtypeName(t));
  }
  return lines;
}

inline std::vector<float> ToVector(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Max |ref - got| <= tol, after checking that the reference is not (nearly) constant, which
// would make two trivial outputs look equal.
inline void ExpectClose(const std::vector<float>& ref, const torch::Tensor& got, double tol,
                        const std::string& what) {
  const auto g = ToVector(got);
  ASSERT_EQ(ref.size(), g.size()) << what;
  const auto [lo, hi] = std::minmax_element(ref.begin(), ref.end());
  EXPECT_GT(*hi - *lo, 1e-2) << what << ": reference output is (nearly) constant";
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(double(ref[i]) - g[i]));
  EXPECT_LE(worst, tol) << what;
  std::cout << what << ": max |diff| = " << worst << "\n";
}

}  // namespace speakernet::test
