// Runs the C checks of c_api_test.c (compiled as C) against a tiny trained experiment and the
// C++ API's embedding of a wav.
#include <gtest/gtest.h>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/common/test_util.h"
#include "speakernet/speakernet.h"
#include "speakernet/training/toy_experiment_test_util.h"
#include "speakernet/training/trainer.h"

extern "C" int speakernet_c_api_checks(const char* model, const char* wav, const float* samples,
                                       long n, const float* expected, int dim, char* msg,
                                       int msg_size);

namespace speakernet {
namespace {

TEST(CApiTest, FromC) {
  const test::ScratchDir dir("sn_c_api");
  const std::string data = test::MakeToyData(dir), exp = dir / "exp";
  TrainConfig c = test::TinyTrainConfig();
  c.trainer.epochs = 1;
  Trainer(c, data, exp).Run();
  const std::string wav = dir / "spk1-u2.wav";
  const std::vector<float> samples = ReadAudio(wav, 16000);
  const std::vector<float> expected = Embedder::Load(exp, {"", "cpu", 1}).EmbedFile(wav);
  char msg[1024] = "";
  EXPECT_EQ(speakernet_c_api_checks(exp.c_str(), wav.c_str(), samples.data(),
                                    static_cast<long>(samples.size()), expected.data(),
                                    static_cast<int>(expected.size()), msg, sizeof msg),
            0)
      << msg;
}

}  // namespace
}  // namespace speakernet
