// `speakernet calibrate` (alias `fuse`): linear calibration, QMF calibration and fusion of score
// files (spec §7.2 items 4-5): llr = sum_s w_s score_s + b + sum_j v_j q_j, fitted on labelled
// calibration trials (Cllr, LBFGS in float64) and applied to the evaluation trials. Several
// --scores are fused (one weight each); quality features come from "enroll test q1 q2 ..." files
// (e.g. written by `speakernet score --stage-dir`).
#include <memory>

#include "speakernet/cli/commands.h"
#include "speakernet/common/error.h"
#include "speakernet/common/logging.h"
#include "speakernet/common/runtime.h"
#include "speakernet/scoring/cosine_scoring.h"
#include "speakernet/scoring/metrics.h"
#include "speakernet/scoring/qmf_calibration.h"
#include "speakernet/scoring/trials.h"

namespace speakernet {

namespace {

struct CalibrateArgs {
  std::string calib_trials, trials, out;
  std::vector<std::string> calib_scores, scores, calib_quality, quality;
  bool line_search = false;
  int threads = 0;
  int precision = 5;
};

void AddCalibrateOptions(CLI::App* cmd, CalibrateArgs& args) {
  cmd->add_option("--calib-trials", args.calib_trials, "labelled calibration trial list")
      ->required();
  cmd->add_option("--calib-scores", args.calib_scores,
                  "score file(s) of the calibration trials, one per system")
      ->required();
  cmd->add_option("--calib-quality", args.calib_quality,
                  "quality file(s) of the calibration trials: 'enroll test q1 q2 ...'");
  cmd->add_option("--trials", args.trials, "trial list to calibrate")->required();
  cmd->add_option("--scores", args.scores,
                  "score file(s) of those trials, the systems in the order of --calib-scores")
      ->required();
  cmd->add_option("--quality", args.quality,
                  "quality file(s) of those trials, in the order of --calib-quality");
  cmd->add_option("--out", args.out, "calibrated (fused) score file: natural-log LLRs")->required();
  cmd->add_flag("--line-search", args.line_search,
                "LBFGS with strong-Wolfe line search and lr 1 instead of speaker-net's lr 0.01");
  cmd->add_option("--threads", args.threads, "threads, 0 = all cores")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", args.precision, "decimals of the written scores")
      ->capture_default_str()
      ->check(CLI::Range(0, 17));
}

// One trial list with the scores of each system and the quality features on its trials.
struct ScoredTrials {
  std::vector<Trial> trials;
  std::vector<std::vector<double>> systems;
  QualityFeatures quality;
};

ScoredTrials LoadScoredTrials(const std::string& trials_path,
                              const std::vector<std::string>& score_files,
                              const std::vector<std::string>& quality_files) {
  ScoredTrials s;
  s.trials = ReadTrials(trials_path);
  SN_CHECK(!s.trials.empty(), "trial list '{}' is empty", trials_path);
  for (const std::string& f : score_files) {
    s.systems.push_back(LookupScores(ReadScores(f), s.trials, f));
  }
  for (const std::string& f : quality_files) s.quality.Append(ReadQuality(f, s.trials));
  return s;
}

// Logs the calibrated scores' metrics when the evaluation trials are labelled.
void LogEvaluation(const std::vector<Trial>& trials, const std::string& trials_path,
                   const std::vector<double>& llr) {
  if (!CountTrials(trials).FullyLabelled()) return;
  const std::vector<int> labels = TrialLabels(trials, trials_path);
  const DetMetrics m = ComputeMetrics(llr, labels);
  spdlog::info("EER {:.3f}% minDCF(p=0.01) {:.4f} actDCF {:.4f} Cllr {:.4f} minCllr {:.4f}",
               m.eer_percent, m.min_dcf, ActualDcf(llr, labels), Cllr(llr, labels),
               MinCllr(llr, labels));
}

void RunCalibrate(const CalibrateArgs& args) {
  SN_CHECK(args.scores.size() == args.calib_scores.size(),
           "calibrate: {} --scores for {} --calib-scores (one per system each)", args.scores.size(),
           args.calib_scores.size());
  SN_CHECK(args.quality.size() == args.calib_quality.size(),
           "calibrate: {} --quality for {} --calib-quality files", args.quality.size(),
           args.calib_quality.size());
  RuntimeConfig runtime;
  runtime.threads = args.threads;
  ConfigureRuntime(runtime);
  const ScoredTrials calib =
      LoadScoredTrials(args.calib_trials, args.calib_scores, args.calib_quality);
  const std::vector<int> labels = TrialLabels(calib.trials, args.calib_trials);
  const ScoredTrials eval = LoadScoredTrials(args.trials, args.scores, args.quality);
  CalibrationOptions options;
  if (args.line_search) {
    options.lr = 1;
    options.line_search = true;
  }
  for (size_t s = 0; s < calib.systems.size(); ++s) {
    spdlog::info("system {} ({}): calibration-set Cllr {:.4f} minCllr {:.4f}", s + 1,
                 args.calib_scores[s], Cllr(calib.systems[s], labels),
                 MinCllr(calib.systems[s], labels));
  }
  const Calibrator cal = TrainCalibrator(calib.systems, calib.quality, labels, options);
  spdlog::info("{} calibration trials: {}", calib.trials.size(), cal.Describe());
  const std::vector<double> llr = cal.Apply(eval.systems, eval.quality);
  WriteScores(args.out, eval.trials, llr, args.precision);
  spdlog::info("wrote {} calibrated scores to {}", llr.size(), args.out);
  LogEvaluation(eval.trials, args.trials, llr);
}

}  // namespace

void AddCalibrateCommand(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  auto* cmd = app.add_subcommand(
      "calibrate",
      "calibrate (QMF) and fuse score files: fit on labelled calibration trials, apply to a "
      "trial list");
  cmd->alias("fuse");
  AddCalibrateOptions(cmd, *args);
  cmd->callback([args] { RunCalibrate(*args); });
}

SPEAKERNET_REGISTER_COMMAND(55, AddCalibrateCommand);

}  // namespace speakernet
