#include "speakernet/models/torch_save_reader.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "speakernet/common/error.h"
#include "speakernet/common/test_util.h"
#include "speakernet/models/speaker_net_interop.h"

namespace speakernet {
namespace {

class TorchSaveReader : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::ScratchDir>("models_torch_save_reader");
    test::RunPython(test::SourcePath("src/speakernet/models/testdata/torch_save_writer.py"),
                    {dir_->str()});
  }
  static void TearDownTestSuite() { dir_.reset(); }
  static std::string Path(const std::string& name) { return dir_->str() + "/" + name; }
  static std::map<std::string, torch::Tensor> Read(const std::string& name) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& [k, v] : ReadTorchSaveStateDict(Path(name))) out[k] = v;
    return out;
  }
  static std::unique_ptr<test::ScratchDir> dir_;
};
std::unique_ptr<test::ScratchDir> TorchSaveReader::dir_;

void ExpectPlainDict(const std::map<std::string, torch::Tensor>& sd) {
  ASSERT_EQ(sd.size(), 9u);
  const auto a = torch::arange(12, torch::kFloat).reshape({3, 4});
  EXPECT_TRUE(torch::equal(sd.at("a"), a));
  EXPECT_TRUE(torch::equal(sd.at("a_t"), a.t()));
  EXPECT_TRUE(torch::equal(sd.at("row"), torch::tensor({4.0f, 5.0f, 6.0f, 7.0f})));
  EXPECT_EQ(sd.at("half").scalar_type(), torch::kHalf);
  EXPECT_TRUE(torch::equal(sd.at("half").to(torch::kFloat), torch::tensor({0.5f, -2.0f})));
  EXPECT_EQ(sd.at("double").scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::equal(sd.at("double"), torch::tensor({1.25, 3.0}, torch::kDouble)));
  EXPECT_TRUE(torch::equal(sd.at("flags"), torch::tensor({true, false, true})));
  EXPECT_TRUE(
      torch::equal(sd.at("long"), torch::tensor({int64_t{-5}, int64_t{7}, int64_t{1} << 40})));
  EXPECT_EQ(sd.at("bn.num_batches_tracked").dim(), 0);
  EXPECT_EQ(sd.at("bn.num_batches_tracked").item<int64_t>(), 123456789012);
  EXPECT_EQ(sd.at("empty").sizes(), (std::vector<int64_t>{0, 3}));
}

TEST_F(TorchSaveReader, ReadsAnOrderedDictStateDict) {
  ExpectPlainDict(Read("plain.pt"));
  // File order is kept (state dicts are ordered).
  const auto entries = ReadTorchSaveStateDict(Path("plain.pt"));
  EXPECT_EQ(entries.front().first, "a");
  EXPECT_EQ(entries.back().first, "empty");
}

TEST_F(TorchSaveReader, ReadsPickleProtocol4) { ExpectPlainDict(Read("p4.pt")); }

TEST_F(TorchSaveReader, UnwrapsATrainingCheckpointAndMapsDdpNames) {
  const auto sd = ReadTorchSaveStateDict(Path("ddp.pt"));
  ASSERT_EQ(sd.size(), 1u);
  EXPECT_EQ(sd[0].first, "module.w");
  const auto mapped = FromSpeakerNetStateDict(sd, nullptr);
  EXPECT_EQ(mapped[0].first, "w");
}

TEST_F(TorchSaveReader, ReadsParameters) {
  const auto sd = Read("param.pt");
  EXPECT_EQ(sd.at("weight").sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(sd.at("bias").sizes(), (std::vector<int64_t>{3}));
}

// Regression (fuzz/torch_save_fuzzer): each was an out-of-bounds read, an integer overflow, a
// LibTorch exception or a terabyte allocation; now an Error naming the file.
TEST_F(TorchSaveReader, HostileFilesAreErrorsNamingTheFile) {
  for (const char* name : {"hostile_short_stride.pt", "hostile_overflow.pt", "hostile_negative.pt",
                           "hostile_expand.pt", "damaged.pt"}) {
    const std::string err = test::ErrorOf([&] { ReadTorchSaveStateDict(Path(name)); });
    EXPECT_NE(err.find(name), std::string::npos) << err;
  }
  EXPECT_NE(
      test::ErrorOf([] { ReadArchiveRecords(Path("damaged.pt"), {"data/0"}); }).find("damaged"),
      std::string::npos);
}

TEST_F(TorchSaveReader, RejectsNonStateDictsByName) {
  EXPECT_NE(test::ErrorOf([] {
              ReadTorchSaveStateDict(Path("module.pt"));
            }).find("torch.nn.modules.linear.Linear"),
            std::string::npos);
  const std::string legacy = test::ErrorOf([] { ReadTorchSaveStateDict(Path("legacy.pt")); });
  EXPECT_NE(legacy.find("legacy.pt"), std::string::npos) << legacy;
  EXPECT_NE(legacy.find("_use_new_zipfile_serialization"), std::string::npos) << legacy;
  EXPECT_NE(test::ErrorOf([] { ReadTorchSaveStateDict(Path("missing.pt")); }).find("missing.pt"),
            std::string::npos);
}

TEST(SpeakerNetInterop, MapsNames) {
  StateDict in{{"module.resnet.conv1.weight", torch::zeros(1)},
               {"module.extract_fbank.mel_spec_extractor.mel_scale.fb", torch::zeros(1)},
               {"module.loss.affine.weight", torch::zeros(1)}};
  std::vector<std::string> dropped;
  const auto out = FromSpeakerNetStateDict(in, &dropped);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "resnet.conv1.weight");
  EXPECT_EQ(out[1].first, "loss.weight");
  EXPECT_EQ(dropped,
            (std::vector<std::string>{"module.extract_fbank.mel_spec_extractor.mel_scale.fb"}));
  const StateDict dup{{"module.a", torch::zeros(1)}, {"a", torch::zeros(1)}};
  EXPECT_NE(test::ErrorOf([&] { FromSpeakerNetStateDict(dup, nullptr); }).find("'a'"),
            std::string::npos);
}

}  // namespace
}  // namespace speakernet
