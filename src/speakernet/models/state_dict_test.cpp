#include "speakernet/models/state_dict.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

struct TinyImpl : torch::nn::Module {
  TinyImpl() {
    conv = register_module("conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(2, 3, 1)));
    bn = register_module("bn", torch::nn::BatchNorm1d(3));
  }
  torch::nn::Conv1d conv{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
};

TEST(StateDictIo, PyTorchOrderAndNames) {
  TinyImpl m;
  std::vector<std::string> names;
  for (const auto& kv : GetStateDict(m, "enc.")) names.push_back(kv.first);
  const std::vector<std::string> expected{
      "enc.conv.weight",       "enc.conv.bias",        "enc.bn.weight",
      "enc.bn.bias",           "enc.bn.running_mean", "enc.bn.running_var",
      "enc.bn.num_batches_tracked"};
  EXPECT_EQ(names, expected);
}

TEST(StateDictIo, FileRoundTripAndPythonTorchLoadReadsIt) {
  test::ScratchDir dir("sn_state_dict");
  torch::manual_seed(3);
  TinyImpl a;
  a.bn->running_mean.fill_(0.25);
  const std::string path = dir / "model.pt";
  SaveStateDictFile(path, GetStateDict(a));

  TinyImpl b;
  LoadStateDict(b, LoadStateDictFile(path));
  EXPECT_TRUE(torch::equal(a.conv->weight, b.conv->weight));
  EXPECT_TRUE(torch::equal(a.bn->running_mean, b.bn->running_mean));

  // Python's torch.load must see the same names and values (checkpoint interop).
  const std::string script = dir / "check.py";
  std::ofstream(script) << "import sys, torch\n"
                           "sd = torch.load(sys.argv[1])\n"
                           "for k, v in sd.items(): print(k, tuple(v.shape), float(v.double().sum()))\n";
  const std::string out = test::RunPython(script, {path});
  const double weight_sum = a.conv->weight.sum().item<double>();
  EXPECT_NE(out.find("conv.weight (3, 2, 1)"), std::string::npos) << out;
  EXPECT_NE(out.find("bn.running_mean (3,) 0.75"), std::string::npos) << out;
  EXPECT_NE(out.find("bn.num_batches_tracked () 0.0"), std::string::npos) << out;
  const auto pos = out.find("conv.weight (3, 2, 1) ");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_NEAR(std::stod(out.substr(pos + 22)), weight_sum, 1e-6);
}

TEST(StateDictIo, MismatchesAreReportedByName) {
  TinyImpl m;
  StateDict sd = GetStateDict(m);
  sd[0].second = torch::zeros({4, 2, 1});      // conv.weight mis-shaped
  sd.erase(sd.begin() + 1);                    // conv.bias missing
  sd.emplace_back("extra.weight", torch::zeros({1}));
  try {
    LoadStateDict(m, sd);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("conv.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing key 'conv.bias'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected key 'extra.weight'"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace speakernet
