// `speakernet eval`: EER, minDCF (at one or more target priors), and for calibrated scores
// actDCF, Cllr and minCllr, of score files against labelled trial lists (spec §7.2 item 6), plus
// a results table (one row per score file, one column group per trial list) like speaker-net's
// `.results`.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "speakernet/cli/commands.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/scoring/cosine_scoring.h"
#include "speakernet/scoring/metrics.h"
#include "speakernet/scoring/results_table.h"
#include "speakernet/scoring/trials.h"

namespace speakernet {

namespace {

struct EvalArgs {
  std::vector<std::string> trials, scores, names, columns;
  std::vector<double> p_targets = {0.01};
  double c_miss = 1, c_fa = 1;
  std::string results;
  bool thresholds = false, llr = false;
};

void AddEvalOptions(CLI::App* cmd, EvalArgs& args) {
  cmd->add_option("--trials", args.trials,
                  "labelled trial list(s): '1|0 enroll test' or 'enroll test target|nontarget'; "
                  "one for all score files, or one per score file")
      ->required();
  cmd->add_option("--scores", args.scores,
                  "score file(s): 'enroll test score' lines; each is one row of the table")
      ->required();
  cmd->add_option("--names", args.names,
                  "row names of the score files (default: the file names without .score)");
  cmd->add_option("--columns", args.columns,
                  "results table columns in this order (trial list file names); a listed one "
                  "without scores shows '-', lists not named follow");
  cmd->add_option("--p-target", args.p_targets,
                  "target prior(s) of the DCF, e.g. --p-target 0.01 0.001 0.05")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--c-miss", args.c_miss, "cost of a miss")->capture_default_str();
  cmd->add_option("--c-fa", args.c_fa, "cost of a false alarm")->capture_default_str();
  cmd->add_option("--results", args.results,
                  "write the results table (EER │ minDCF per score file and trial list) here");
  cmd->add_flag("--thresholds", args.thresholds, "also print the EER and minDCF thresholds");
  cmd->add_flag("--llr", args.llr,
                "scores are calibrated log-likelihood ratios: also print actDCF, Cllr, minCllr");
}

// Prints EER and minDCF at each prior (and the LLR metrics with --llr); returns the table cell.
ResultCell PrintMetrics(const std::vector<double>& scores, const std::vector<int>& labels,
                        const EvalArgs& args) {
  ResultCell cell;
  for (size_t p = 0; p < args.p_targets.size(); ++p) {
    const double pt = args.p_targets[p];
    const DetMetrics m = ComputeMetrics(scores, labels, pt, args.c_miss, args.c_fa);
    if (p == 0) {
      cell.eer_percent = m.eer_percent;
      std::printf("EER %.3f%% minDCF(p=%g) %.4f\n", m.eer_percent, pt, m.min_dcf);
      if (args.thresholds) {
        std::printf("threshold EER %.6f minDCF %.6f\n", m.eer_threshold, m.min_dcf_threshold);
      }
    } else {
      const std::string threshold =
          args.thresholds ? fmt::format(" threshold {:.6f}", m.min_dcf_threshold) : "";
      std::printf("minDCF(p=%g) %.4f%s\n", pt, m.min_dcf, threshold.c_str());
    }
    cell.min_dcf.push_back(m.min_dcf);
  }
  if (args.llr) {
    for (double pt : args.p_targets) {
      std::printf("actDCF(p=%g) %.4f ", pt, ActualDcf(scores, labels, pt, args.c_miss, args.c_fa));
    }
    std::printf("Cllr %.4f minCllr %.4f\n", Cllr(scores, labels), MinCllr(scores, labels));
  }
  return cell;
}

// The table row of score file k: --names, or the file name without ".score".
std::string RowName(const EvalArgs& args, size_t k) {
  if (!args.names.empty()) return args.names[k];
  std::string name = std::filesystem::path(args.scores[k]).filename().string();
  if (name.size() > 6 && name.substr(name.size() - 6) == ".score") name.resize(name.size() - 6);
  return name;
}

void RunEval(const EvalArgs& args) {
  const size_t n = args.scores.size();
  SN_CHECK(args.trials.size() == 1 || args.trials.size() == n,
           "eval: {} trial lists for {} score files (give one, or one per score file)",
           args.trials.size(), n);
  SN_CHECK(args.names.empty() || args.names.size() == n, "eval: {} --names for {} score files",
           args.names.size(), n);
  ResultsTable table(args.p_targets);
  for (const auto& column : args.columns) table.AddColumn(column);
  for (size_t k = 0; k < n; ++k) {
    const std::string& trials_path = args.trials.size() == 1 ? args.trials[0] : args.trials[k];
    const std::string& scores_path = args.scores[k];
    const std::vector<Trial> trials = ReadTrials(trials_path);
    const std::vector<int> labels = TrialLabels(trials, trials_path);
    const std::vector<double> scores = LookupScores(ReadScores(scores_path), trials, scores_path);
    const TrialCounts counts = CountTrials(trials);
    if (n > 1) std::printf("== %s on %s\n", scores_path.c_str(), trials_path.c_str());
    std::printf("trials %zu target %zu nontarget %zu\n", trials.size(), counts.target,
                counts.nontarget);
    table.Set(RowName(args, k), std::filesystem::path(trials_path).filename().string(),
              PrintMetrics(scores, labels, args));
  }
  if (n > 1 || !args.results.empty()) {
    const std::string text = table.Format();
    std::printf("%s", text.c_str());
    if (!args.results.empty()) WriteTextAtomically(args.results, text);
  }
  std::fflush(stdout);
}

}  // namespace

void AddEvalCommand(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand(
      "eval", "EER and minDCF (actDCF, Cllr with --llr) of score files on labelled trial lists");
  AddEvalOptions(cmd, *args);
  cmd->callback([args] { RunEval(*args); });
}

SPEAKERNET_REGISTER_COMMAND(60, AddEvalCommand);

}  // namespace speakernet
