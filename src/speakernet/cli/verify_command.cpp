// `speakernet verify`: is the test utterance spoken by the enrolled speaker?
//
//   speakernet verify --model model.snm enrol1.wav [enrol2.wav ...] test.wav [--threshold T]
//
// The enrolment embeddings are averaged (SpeakerRegistry), the test embedding is scored against
// the mean by cosine similarity, and the score is compared with --threshold or, without it, the
// threshold stored in the model file (`speakernet package --calib-trials`). Prints one line,
//   score 0.734512 threshold 0.41 accept
// (or reject); the exit status is 0 either way (non-zero only for errors).
#include <cstdio>

#include "speakernet/cli/commands.h"
#include "speakernet/cli/model_options.h"
#include "speakernet/common/error.h"

namespace speakernet {

void AddVerifyCommand(CLI::App& app) {
  struct Args {
    ModelOptions model;
    std::vector<std::string> files;
    double threshold = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "verify", "score a test file against one or more enrolment files; accept or reject");
  args->model.Add(cmd);
  cmd->add_option("files", args->files, "enrolment file(s), then the test file (last)")
      ->required()
      ->expected(2, -1);
  auto* threshold = cmd->add_option("--threshold", args->threshold,
                                    "accept when the cosine score is >= this (default: the "
                                    "model file's calibrated threshold)");
  cmd->callback([args, threshold] {
    const Embedder embedder = args->model.Load();
    const bool given = threshold->count() > 0;
    SN_CHECK(given || embedder.HasThreshold(),
             "verify: the model '{}' stores no threshold; pass --threshold (or package the model "
             "with --calib-trials)",
             args->model.model);
    const float t = given ? static_cast<float>(args->threshold) : embedder.Threshold();
    SpeakerRegistry registry(embedder.Dim());
    std::vector<std::vector<float>> enrol;
    for (size_t i = 0; i + 1 < args->files.size(); ++i) {
      enrol.push_back(embedder.EmbedFile(args->files[i]));
    }
    registry.Enroll("speaker", enrol);
    const float score = registry.Score("speaker", embedder.EmbedFile(args->files.back()));
    std::printf("score %s threshold %s %s\n", fmt::format("{}", score).c_str(),
                fmt::format("{}", t).c_str(), score >= t ? "accept" : "reject");
  });
}

SPEAKERNET_REGISTER_COMMAND(42, AddVerifyCommand);

}  // namespace speakernet
