// `speakernet score`: the scoring back end of one trial list (spec §7.2 items 1-4): cosine
// scoring, optional mean subtraction, optional multi-utterance enrolment, optional AS-norm /
// S-norm against a cohort, optional QMF calibration fitted on labelled calibration trials scored
// with the same chain. This file only parses options; the pipeline is
// scoring/score_pipeline.{h,cpp}.
#include <memory>
#include <string>
#include <utility>

#include "speakernet/cli/commands.h"
#include "speakernet/common/runtime.h"
#include "speakernet/scoring/score_pipeline.h"

namespace speakernet {

namespace {

struct ScoreArgs {
  ScorePipelineOptions pipeline;
  std::string quality_measures, cohort_mean = "per-utterance";
  int threads = 0;
};

void AddInputOptions(CLI::App* cmd, ScorePipelineOptions& p) {
  cmd->add_option("--trials", p.trials,
                  "trial list: '1|0 enroll test', 'enroll test target|nontarget' or 'enroll test'")
      ->required();
  cmd->add_option("--emb", p.emb,
                  "embeddings: a dir with embeddings.scp/xvector.scp/embeddings.npy, or an "
                  ".scp, .ark or .npy file")
      ->required();
  cmd->add_option("--out", p.out, "score file to write (atomically): the last stage")->required();
  auto* submean = cmd->add_option("--submean-emb", p.submean_emb,
                                  "subtract the mean of these embeddings (e.g. the training set) "
                                  "before scoring");
  cmd->add_option("--mean", p.mean, "subtract this mean embedding (.npy) before scoring")
      ->excludes(submean);
  cmd->add_option("--save-mean", p.save_mean, "write the --submean-emb mean to this .npy")
      ->needs(submean);
  cmd->add_option("--enroll-spk2utt", p.enroll_spk2utt,
                  "multi-utterance enrolment: 'model utt1 utt2 ...' lines; a trial's enroll id "
                  "may be a model, scored as the average of its utterances' embeddings, each "
                  "mean-subtracted and L2-normalised first");
}

void AddNormOptions(CLI::App* cmd, ScoreArgs& a) {
  ScorePipelineOptions& p = a.pipeline;
  auto* norm = cmd->add_option("--score-norm", p.score_norm,
                               "normalise the cosine scores against a cohort: asnorm (adaptive, "
                               "top-N) or snorm (whole cohort)")
                   ->check(CLI::IsMember({"asnorm", "snorm"}));
  auto* cohort_emb =
      cmd->add_option("--cohort-emb", p.cohort_emb,
                      "embeddings of the cohort set (e.g. voxceleb2_dev), same forms as --emb")
          ->needs(norm);
  auto* cohort_data = cmd->add_option("--cohort-data", p.cohort_data,
                                      "the cohort set's data dir (utt2spk or spk2utt): one cohort "
                                      "vector per speaker, the mean of its L2-normalised "
                                      "embeddings")
                          ->needs(norm);
  norm->needs(cohort_emb)->needs(cohort_data);
  cmd->add_option("--cohort-mean", a.cohort_mean,
                  "how the submean vector m enters the cohort: per-utterance (m subtracted from "
                  "every cohort utterance before it is normalised and averaged, as from enroll "
                  "and test) or speaker-net (m subtracted from the averages of unit vectors, "
                  "speaker-net's form, for reproducing its scores; degrades AS-norm when |m| is "
                  "not small)")
      ->capture_default_str()
      ->check(CLI::IsMember({"per-utterance", "speaker-net"}))
      ->needs(norm);
  cmd->add_option("--top-n", p.top_n,
                  "AS-norm: cohort scores averaged per utterance; must not exceed the number of "
                  "cohort speakers")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

void AddCalibrationOptions(CLI::App* cmd, ScoreArgs& a) {
  ScorePipelineOptions& p = a.pipeline;
  auto* calib = cmd->add_option(
      "--calib-trials", p.calib_trials,
      "labelled calibration trials (e.g. from make-calib-trials): score them with the same "
      "chain, fit llr = w*score + b + sum v_j q_j (LBFGS, Cllr) on them and apply it");
  cmd->add_option("--calib-emb", p.calib_emb,
                  "embeddings of the calibration utterances (default: --emb)")
      ->needs(calib);
  cmd->add_option("--quality-measures", a.quality_measures,
                  "QMF quality measures, in order: any of 'duration embedding imposter' "
                  "(imposter needs --score-norm); empty = plain linear calibration")
      ->needs(calib);
  cmd->add_option("--utt2dur", p.utt2dur,
                  "durations of the evaluation utterances ('utt seconds'), for 'duration' (an "
                  "enrolment model's is the total of its utterances')");
  cmd->add_option("--calib-utt2dur", p.calib_utt2dur,
                  "durations of the calibration utterances (default: --utt2dur)")
      ->needs(calib);
  cmd->add_flag("--calib-line-search", p.calib_line_search,
                "LBFGS with strong-Wolfe line search and lr 1 (tighter than speaker-net's "
                "lr 0.01 without line search)")
      ->needs(calib);
}

void AddOutputOptions(CLI::App* cmd, ScoreArgs& a) {
  ScorePipelineOptions& p = a.pipeline;
  cmd->add_option("--stage-dir", p.stage_dir,
                  "also write every stage's scores here, named as speaker-net does "
                  "(cosine_<trials>[_submean][_asnorm_top<N>][_qmf].score), and the quality "
                  "features of the trials (<trials>.qual)");
  cmd->add_option("--results", p.results,
                  "write a table of EER │ minDCF(0.01) per stage here (labelled trials); it is "
                  "printed too");
  cmd->add_option("--threads", a.threads,
                  "threads for score normalisation and calibration, 0 = all cores")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", p.precision, "decimals of the written scores")
      ->capture_default_str()
      ->check(CLI::Range(0, 17));
}

}  // namespace

void AddScoreCommand(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();
  auto* cmd = app.add_subcommand(
      "score",
      "score a trial list: cosine, optional submean, multi-utterance enrolment, AS-norm/S-norm "
      "and QMF calibration; 'enroll test score' lines");
  AddInputOptions(cmd, args->pipeline);
  AddNormOptions(cmd, *args);
  AddCalibrationOptions(cmd, *args);
  AddOutputOptions(cmd, *args);
  cmd->callback([args] {
    RuntimeConfig runtime;
    runtime.threads = args->threads;
    ConfigureRuntime(runtime);
    ScorePipelineOptions p = args->pipeline;
    p.quality_measures = ParseQualityMeasures(args->quality_measures);
    p.cohort_mean = ParseCohortMean(args->cohort_mean);
    ScorePipeline(std::move(p)).Run();
  });
}

SPEAKERNET_REGISTER_COMMAND(50, AddScoreCommand);

}  // namespace speakernet
