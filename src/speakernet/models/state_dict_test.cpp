#include "speakernet/models/state_dict.h"

#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
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

// torch.load's default since PyTorch 2.6 is weights_only=True, which refuses any global outside
// its allow-list (torch::pickle_save's restore_type_tag among them). Every dtype a state dict may
// hold, 0-dim and non-contiguous tensors and large ints must come back exact and in order.
TEST(StateDictIo, PythonReadsItWithWeightsOnlyForEveryDtype) {
  test::ScratchDir dir("sn_state_dict_wo");
  torch::manual_seed(4);
  StateDict state = {
      {"f32", torch::randn({2, 3})},
      {"f64", torch::randn({4}, torch::kDouble)},
      {"f16", torch::randn({3}).to(torch::kHalf)},
      {"bf16", torch::randn({3}).to(torch::kBFloat16)},
      {"i64", torch::tensor({int64_t{1} << 40, int64_t{-7}})},
      {"i32", torch::tensor({3, -4}, torch::kInt)},
      {"u8", torch::tensor({0, 255}, torch::kByte)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(int64_t{12})},
      {"transposed", torch::arange(6, torch::kFloat).view({2, 3}).t()},
      {"empty", torch::zeros({0, 5})}};
  const std::string path = dir / "state.pt";
  SaveStateDictFile(path, state);
  const std::string script = dir / "check.py";
  std::ofstream(script)
      << "import sys, torch\n"
         "kw = {'weights_only': True} if 'weights_only' in torch.load.__code__.co_varnames else {}\n"
         "sd = torch.load(sys.argv[1], **kw)\n"
         "print(type(sd).__name__, ','.join(sd.keys()))\n"
         "for k, v in sd.items():\n"
         "    print(k, str(v.dtype), tuple(v.shape), v.double().flatten().tolist())\n";
  const std::string out = test::RunPython(script, {path});
  EXPECT_NE(out.find("OrderedDict f32,f64,f16,bf16,i64,i32,u8,bool,scalar,transposed,empty\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("i64 torch.int64 (2,) [1099511627776.0, -7.0]"), std::string::npos) << out;
  EXPECT_NE(out.find("bool torch.bool (3,) [1.0, 0.0, 1.0]"), std::string::npos) << out;
  EXPECT_NE(out.find("scalar torch.int64 () [12.0]"), std::string::npos) << out;
  EXPECT_NE(out.find("transposed torch.float32 (3, 2) [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("empty torch.float32 (0, 5) []"), std::string::npos) << out;
  // And our reader gets back exactly what was written.
  const StateDict back = LoadStateDictFile(path);
  ASSERT_EQ(back.size(), state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    EXPECT_EQ(back[i].first, state[i].first);
    EXPECT_EQ(back[i].second.scalar_type(), state[i].second.scalar_type()) << state[i].first;
    EXPECT_TRUE(torch::equal(back[i].second, state[i].second)) << state[i].first;
  }
}

// Checkpoints written by earlier versions (torch::pickle_save) still load.
TEST(StateDictIo, ReadsLegacyPickleSaveFiles) {
  test::ScratchDir dir("sn_state_dict_legacy");
  c10::Dict<std::string, at::Tensor> dict;
  dict.insert("w", torch::arange(4, torch::kFloat));
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  const std::string path = dir / "old.pt";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const StateDict back = LoadStateDictFile(path);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].first, "w");
  EXPECT_TRUE(torch::equal(back[0].second, torch::arange(4, torch::kFloat)));
  const std::string garbage = dir / "garbage.pt";
  std::ofstream(garbage) << "not a checkpoint";
  EXPECT_NE(test::ErrorOf([&] { LoadStateDictFile(garbage); }).find(garbage), std::string::npos);
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

// Hand-derived means; num_batches_tracked keeps int64 and floors; mismatches name the input.
TEST(StateDictAverage, MeansFloatsFloorsIntegersAndNamesMismatches) {
  const auto sd = [](std::vector<float> w, int64_t n) {
    return StateDict{{"w", torch::tensor(w)}, {"bn.num_batches_tracked", torch::tensor(n)}};
  };
  const StateDict avg = AverageStateDicts({sd({1, 2}, 10), sd({2, 4}, 11), sd({4, -1}, 13)},
                                          {"a", "b", "c"});
  ASSERT_EQ(avg.size(), 2u);
  EXPECT_EQ(avg[0].first, "w");
  EXPECT_TRUE(torch::allclose(avg[0].second, torch::tensor({7.0f / 3, 5.0f / 3})));
  EXPECT_EQ(avg[1].second.scalar_type(), torch::kLong);
  EXPECT_EQ(avg[1].second.item<int64_t>(), 11);  // floor(34 / 3)
  StateDict wrong = sd({1, 2}, 1);
  wrong[0].second = torch::zeros({3});
  EXPECT_NE(test::ErrorOf([&] { AverageStateDicts({sd({1, 2}, 1), wrong}, {"a", "b"}); })
                .find("b: 'w' is Float (3)"),
            std::string::npos);
  StateDict renamed = sd({1, 2}, 1);
  renamed[0].first = "v";
  EXPECT_NE(test::ErrorOf([&] { AverageStateDicts({sd({1, 2}, 1), renamed}, {"a", "b"}); })
                .find("b: entry 0 is 'v'"),
            std::string::npos);
}

}  // namespace
}  // namespace speakernet
