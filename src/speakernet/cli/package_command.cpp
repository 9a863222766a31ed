// `speakernet package`: one experiment checkpoint -> one model file for inference, e.g.
//
//   speakernet package --exp exp/r34 --out r34.snm
//   speakernet package --exp exp/r34 --out r34.snm --calib-trials trials --calib-data data/dev
//
// The file (training/model_package.h, docs/library.md) holds the weights (RepVGG already
// re-parameterised), the model and front-end config and the embedding dim, plus an accept
// threshold on cosine scores: --threshold T, or calibrated on labelled trials between
// utterances of --calib-data (the score at the equal error rate, or with --threshold-rule
// min_dcf the one at the minimum DCF for --p-target). `Embedder::Load`, `embed`, `verify`,
// `extract --exp` and `export --exp` accept the file where they accept an experiment.
#include <spdlog/spdlog.h>

#include <map>

#include "speakernet/cli/commands.h"
#include "speakernet/common/error.h"
#include "speakernet/data/data_dir.h"
#include "speakernet/inference/embedding_extractor.h"
#include "speakernet/scoring/metrics.h"
#include "speakernet/scoring/trials.h"
#include "speakernet/speakernet.h"
#include "speakernet/training/model_package.h"

namespace speakernet {

namespace {

struct CalibrationArgs {
  std::string trials, data, rule = "eer";
  double p_target = 0.01;
};

// The embedding of every utterance the trials name, by utterance id.
std::map<std::string, std::vector<float>> EmbedTrialUtterances(const TrainedModel& model,
                                                               const std::vector<Trial>& trials,
                                                               const DataDir& data) {
  ExtractConfig config;
  config.num_workers = 0;
  const EmbeddingExtractor extractor(model, config, RuntimeConfig());
  std::map<std::string, std::vector<float>> embs;
  for (const Trial& t : trials) {
    for (const std::string* id : {&t.enroll, &t.test}) {
      if (embs.count(*id)) continue;
      const Utterance& u = data.Find(*id);
      embs[*id] = extractor.Extract(LoadUtteranceAudio(u, extractor.sample_rate()));
    }
  }
  return embs;
}

// The accept threshold on cosine scores from labelled calibration trials.
double CalibratedThreshold(const TrainedModel& model, const CalibrationArgs& c) {
  SN_CHECK(c.rule == "eer" || c.rule == "min_dcf",
           "package: --threshold-rule must be eer or min_dcf, got '{}'", c.rule);
  SN_CHECK(!c.data.empty(),
           "package: --calib-trials needs --calib-data (the utterances' data dir)");
  const std::vector<Trial> trials = ReadTrials(c.trials);
  const TrialCounts counts = CountTrials(trials);
  SN_CHECK(counts.FullyLabelled(),
           "package: '{}' needs labelled trials, both target and non-target ({} target, {} "
           "non-target, {} unlabelled)",
           c.trials, counts.target, counts.nontarget, counts.unknown);
  const auto embs = EmbedTrialUtterances(model, trials, DataDir::Load(c.data));
  std::vector<double> scores;
  std::vector<int> labels;
  for (const Trial& t : trials) {
    scores.push_back(CosineScore(embs.at(t.enroll), embs.at(t.test)));
    labels.push_back(t.target);
  }
  const DetMetrics m = ComputeMetrics(scores, labels, c.p_target);
  const double threshold = c.rule == "eer" ? m.eer_threshold : m.min_dcf_threshold;
  spdlog::info("package: {} calibration trials: EER {:.2f} %, minDCF({}) {:.4f}; threshold ({}) {}",
               trials.size(), m.eer_percent, c.p_target, m.min_dcf, c.rule, threshold);
  return threshold;
}

}  // namespace

void AddPackageCommand(CLI::App& app) {
  struct Args {
    std::string exp, checkpoint, out;
    double threshold = 0;
    CalibrationArgs calib;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("package", "write an experiment's model as one file (.snm)");
  cmd->add_option("--exp", args->exp, "experiment dir")->required();
  cmd->add_option("--checkpoint", args->checkpoint, "checkpoint dir (default: newest)");
  cmd->add_option("--out", args->out, "model file to write (e.g. model.snm)")->required();
  auto* threshold =
      cmd->add_option("--threshold", args->threshold, "accept threshold on cosine scores to store");
  auto* calib = cmd->add_option("--calib-trials", args->calib.trials,
                                "labelled trials between utterances of --calib-data: store the "
                                "threshold calibrated on them");
  cmd->add_option("--calib-data", args->calib.data, "data dir of the calibration utterances");
  cmd->add_option("--threshold-rule", args->calib.rule, "eer or min_dcf")->capture_default_str();
  cmd->add_option("--p-target", args->calib.p_target, "target prior of min_dcf")
      ->capture_default_str();
  threshold->excludes(calib);
  cmd->callback([args, threshold, calib] {
    const TrainedModel m = Experiment::Open(args->exp).LoadModel(args->checkpoint, /*deploy=*/true);
    std::optional<double> t;
    if (threshold->count() > 0) t = args->threshold;
    if (calib->count() > 0) t = CalibratedThreshold(m, args->calib);
    WriteModelPackage(args->out, m, t);
    spdlog::info("package: {} -> {} ({}, embedding dim {}{})", m.source, args->out,
                 DescribeModel(m.config.model, *m.model), m.model->EmbeddingDim(),
                 t ? fmt::format(", threshold {}", *t) : std::string());
  });
}

SPEAKERNET_REGISTER_COMMAND(33, AddPackageCommand);

}  // namespace speakernet
