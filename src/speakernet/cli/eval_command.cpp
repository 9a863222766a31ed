// `speakernet eval`: EER and minDCF of a score file against a labelled trial list
// (spec §7.2 item 6).
#include <cstdio>
#include <memory>

#include "speakernet/backend/cosine_scoring.h"
#include "speakernet/backend/metrics.h"
#include "speakernet/backend/trials.h"
#include "speakernet/cli/commands.h"
#include "speakernet/common/error.h"

namespace speakernet {

void AddEvalCommand(CLI::App& app) {
  struct Args {
    std::string trials, scores;
    double p_target = 0.01, c_miss = 1, c_fa = 1;
    bool thresholds = false, llr = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "EER and minDCF of a score file on a labelled trial list");
  cmd->add_option("--trials", args->trials,
                  "labelled trial list: '1|0 enroll test' or 'enroll test target|nontarget'")
      ->required();
  cmd->add_option("--scores", args->scores, "score file: 'enroll test score' lines")->required();
  cmd->add_option("--p-target", args->p_target, "target prior of the DCF")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--c-miss", args->c_miss, "cost of a miss")->capture_default_str();
  cmd->add_option("--c-fa", args->c_fa, "cost of a false alarm")->capture_default_str();
  cmd->add_flag("--thresholds", args->thresholds, "also print the EER and minDCF thresholds");
  cmd->add_flag("--llr", args->llr,
                "scores are calibrated log-likelihood ratios: also print actDCF, Cllr, minCllr");
  cmd->callback([args] {
    const std::vector<Trial> trials = ReadTrials(args->trials);
    SN_CHECK(!trials.empty(), "trial list '{}' is empty", args->trials);
    std::vector<int> labels(trials.size());
    for (size_t i = 0; i < trials.size(); ++i) {
      SN_CHECK(trials[i].target >= 0, "{}: trial #{} ('{}' '{}') has no target/nontarget label",
               args->trials, i + 1, trials[i].enroll, trials[i].test);
      labels[i] = trials[i].target;
    }
    const std::vector<double> scores = LookupScores(ReadScores(args->scores), trials, args->scores);
    const TrialCounts counts = CountTrials(trials);
    const DetMetrics m = ComputeMetrics(scores, labels, args->p_target, args->c_miss, args->c_fa);
    std::printf("trials %zu target %zu nontarget %zu\n", trials.size(), counts.target,
                counts.nontarget);
    std::printf("EER %.3f%% minDCF(p=%g) %.4f\n", m.eer_percent, args->p_target, m.min_dcf);
    if (args->thresholds) {
      std::printf("threshold EER %.6f minDCF %.6f\n", m.eer_threshold, m.min_dcf_threshold);
    }
    if (args->llr) {
      std::printf("actDCF(p=%g) %.4f Cllr %.4f minCllr %.4f\n", args->p_target,
                  ActualDcf(scores, labels, args->p_target, args->c_miss, args->c_fa),
                  Cllr(scores, labels), MinCllr(scores, labels));
    }
    std::fflush(stdout);
  });
}

SPEAKERNET_REGISTER_COMMAND(60, AddEvalCommand);

}  // namespace speakernet
