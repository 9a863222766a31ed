// Each optimizer against torch.optim's (run through /usr/bin/python3 at test time, one process
// for all cases) on the same parameters, gradients and per-step learning rates; the exact-resume
// property of each is checked through the trainer in trainer_test.cpp.
#include "speakernet/training/optimizer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <map>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

std::vector<float> ToVector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().contiguous().to(torch::kFloat);
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

struct Case {
  std::string label;
  OptimizerConfig config;
  int steps;
};

OptimizerConfig Config(const std::string& name) {
  OptimizerConfig c;
  c.name = name;
  c.lr = name == "sgd" ? 0.05 : 0.01;
  c.weight_decay = name == "adamw" ? 0.05 : 2e-3;
  c.eps = 1e-6;
  return c;
}

std::vector<Case> Cases() {
  OptimizerConfig adam = Config("adam");  // speaker-net's ecapa-tdnn-c512_adam settings
  adam.eps = 1e-8;
  adam.weight_decay = 2e-5;
  OptimizerConfig radam_fast = Config("radam");
  radam_fast.beta2 = 0.9;  // rho_inf = 19: rectified from step 6 on, with a stronger correction
  // 12 RAdam steps cover both branches: rho_t <= 5 for steps 1-5 (beta2 0.999), rectified after.
  return {{"sgd", Config("sgd"), 8},       {"adam", adam, 8},
          {"adamw", Config("adamw"), 8},   {"radam", Config("radam"), 12},
          {"radam_beta2_0.9", radam_fast, 12}};
}

// Runs `c` for its steps here, writing what torch needs into `dir`.
std::vector<torch::Tensor> RunHere(const Case& c, const std::string& dir) {
  torch::manual_seed(3);
  std::vector<torch::Tensor> params = {torch::randn({3, 4}), torch::randn({5})};
  std::ofstream shapes(dir + "/shapes.txt");
  for (size_t i = 0; i < params.size(); ++i) {
    for (auto s : params[i].sizes()) shapes << s << " ";
    shapes << "\n";
    test::WriteRawFloats(dir + "/p" + std::to_string(i) + ".bin", ToVector(params[i]));
    params[i].set_requires_grad(true);
  }
  auto optimizer = MakeOptimizer(c.config, params);
  std::ofstream lrs(dir + "/lrs.txt");
  for (int step = 0; step < c.steps; ++step) {
    const double lr = c.config.lr * (1.0 - 0.05 * step);  // the trainer sets the lr every step
    lrs << fmt::format("{:.17g}\n", lr);
    SetLearningRate(*optimizer, lr);
    for (size_t i = 0; i < params.size(); ++i) {
      params[i].mutable_grad() = torch::randn(params[i].sizes());
      test::WriteRawFloats(dir + fmt::format("/g{}_{}.bin", step, i), ToVector(params[i].grad()));
    }
    optimizer->step();
  }
  const OptimizerConfig& o = c.config;
  std::ofstream(dir + "/job.txt") << fmt::format(
      "{} {:.17g} {:.17g} {} {:.17g} {:.17g} {:.17g} {:.17g} {}\n", o.name, o.lr, o.momentum,
      o.nesterov ? 1 : 0, o.weight_decay, o.beta1, o.beta2, o.eps, c.steps);
  return params;
}

// Largest |speakernet - torch| over the final parameters of each case (every element is also
// checked against a float32 rounding tolerance). Computed once per process.
const std::map<std::string, double>& Differences() {
  static const std::map<std::string, double> diffs = [] {
    static test::ScratchDir root("sn_optimizer_ref");
    std::vector<std::pair<std::string, std::vector<torch::Tensor>>> ours;
    std::vector<std::string> dirs;
    for (const Case& c : Cases()) {
      const std::string dir = root / c.label;
      std::filesystem::create_directories(dir);
      ours.emplace_back(c.label, RunHere(c, dir));
      dirs.push_back(dir);
    }
    test::RunPython(test::SourcePath("src/speakernet/training/testdata/optimizer_reference.py"),
                    dirs);
    std::map<std::string, double> out;
    for (size_t k = 0; k < ours.size(); ++k) {
      double max_diff = 0;
      for (size_t i = 0; i < ours[k].second.size(); ++i) {
        const auto ref = test::ReadRawFloats(dirs[k] + "/out" + std::to_string(i) + ".bin");
        const auto got = ToVector(ours[k].second[i]);
        EXPECT_EQ(ref.size(), got.size());
        for (size_t j = 0; j < std::min(ref.size(), got.size()); ++j) {
          EXPECT_NEAR(got[j], ref[j], 1e-6 * std::max(1.0f, std::abs(ref[j])))
              << ours[k].first << " element " << j;
          max_diff = std::max(max_diff, static_cast<double>(std::abs(got[j] - ref[j])));
        }
      }
      std::printf("optimizer %s: max |speakernet - torch| = %g\n", ours[k].first.c_str(), max_diff);
      out[ours[k].first] = max_diff;
    }
    return out;
  }();
  return diffs;
}

TEST(Optimizer, SgdMatchesTorch) { EXPECT_EQ(Differences().at("sgd"), 0.0); }

// speaker-net's ecapa-tdnn-c512_adam settings (betas 0.9/0.999, coupled weight decay 2e-5).
TEST(Optimizer, AdamMatchesTorch) { EXPECT_LE(Differences().at("adam"), 1e-6); }

TEST(Optimizer, AdamWMatchesTorch) { EXPECT_LE(Differences().at("adamw"), 1e-6); }

TEST(Optimizer, RAdamMatchesTorchInBothBranches) {
  EXPECT_LE(Differences().at("radam"), 1e-6);
  EXPECT_LE(Differences().at("radam_beta2_0.9"), 1e-6);
}

TEST(Optimizer, ValidateNamesTheKey) {
  OptimizerConfig c;
  c.name = "lamb";
  EXPECT_NE(test::ErrorOf([&] { c.Validate(); }).find("optimizer.name"), std::string::npos);
  c = OptimizerConfig();
  c.beta2 = 1.0;
  EXPECT_NE(test::ErrorOf([&] { c.Validate(); }).find("optimizer.beta2"), std::string::npos);
  c = OptimizerConfig();
  c.eps = -1;
  EXPECT_NE(test::ErrorOf([&] { c.Validate(); }).find("optimizer.eps"), std::string::npos);
}

}  // namespace
}  // namespace speakernet
