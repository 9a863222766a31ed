// `speakernet score`: the scoring back end of one trial list (spec §7.2 items 1-4): cosine
// scoring, optional mean subtraction, optional AS-norm / S-norm against a cohort, optional QMF
// calibration fitted on labelled calibration trials scored with the same chain. Writes the last
// stage's scores to --out; --stage-dir keeps every stage's score file, --results a table of
// EER │ minDCF per stage (labelled trials).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "speakernet/scoring/cosine_scoring.h"
#include "speakernet/scoring/embedding_table.h"
#include "speakernet/scoring/metrics.h"
#include "speakernet/scoring/qmf_calibration.h"
#include "speakernet/scoring/results_table.h"
#include "speakernet/scoring/score_norm.h"
#include "speakernet/scoring/trials.h"
#include "speakernet/cli/commands.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/logging.h"
#include "speakernet/common/runtime.h"

namespace speakernet {

namespace {

struct Stage {
  std::string name;    // row of the results table: cosine, submean, asnorm, snorm, qmf
  std::string suffix;  // speaker-net file name part: "", "_submean", "_asnorm_top300", "_qmf"
  std::vector<double> scores;
};

std::vector<int> LabelsOf(const std::vector<Trial>& trials, const std::string& source) {
  std::vector<int> labels(trials.size());
  for (size_t i = 0; i < trials.size(); ++i) {
    SN_CHECK(trials[i].target >= 0, "{}: trial #{} ('{}' '{}') has no target/nontarget label",
             source, i + 1, trials[i].enroll, trials[i].test);
    labels[i] = trials[i].target;
  }
  return labels;
}

bool Labelled(const std::vector<Trial>& trials) {
  const TrialCounts c = CountTrials(trials);
  return c.unknown == 0 && c.target > 0 && c.nontarget > 0;
}

}  // namespace

void AddScoreCommand(CLI::App& app) {
  struct Args {
    std::string trials, emb, out, submean_emb, mean, save_mean;
    std::string score_norm, cohort_emb, cohort_data;
    std::string calib_trials, calib_emb, quality_measures, utt2dur, calib_utt2dur;
    std::string stage_dir, results;
    bool calib_line_search = false;
    int64_t top_n = 300;
    int threads = 0;
    int precision = 5;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "score",
      "score a trial list: cosine, optional submean, AS-norm/S-norm and QMF calibration; "
      "'enroll test score' lines");
  cmd->add_option("--trials", args->trials,
                  "trial list: '1|0 enroll test', 'enroll test target|nontarget' or 'enroll test'")
      ->required();
  cmd->add_option("--emb", args->emb,
                  "embeddings: a dir with embeddings.scp/xvector.scp/embeddings.npy, or an "
                  ".scp, .ark or .npy file")
      ->required();
  cmd->add_option("--out", args->out, "score file to write (atomically): the last stage")
      ->required();
  auto* submean = cmd->add_option("--submean-emb", args->submean_emb,
                                  "subtract the mean of these embeddings (e.g. the training set) "
                                  "before scoring");
  cmd->add_option("--mean", args->mean, "subtract this mean embedding (.npy) before scoring")
      ->excludes(submean);
  cmd->add_option("--save-mean", args->save_mean, "write the --submean-emb mean to this .npy")
      ->needs(submean);
  auto* norm = cmd->add_option("--score-norm", args->score_norm,
                               "normalise the cosine scores against a cohort: asnorm (adaptive, "
                               "top-N) or snorm (whole cohort)")
                   ->check(CLI::IsMember({"asnorm", "snorm"}));
  auto* cohort_emb =
      cmd->add_option("--cohort-emb", args->cohort_emb,
                      "embeddings of the cohort set (e.g. voxceleb2_dev), same forms as --emb")
          ->needs(norm);
  auto* cohort_data = cmd->add_option("--cohort-data", args->cohort_data,
                                      "the cohort set's data dir (utt2spk or spk2utt): one cohort "
                                      "vector per speaker, the mean of its L2-normalised "
                                      "embeddings; the submean vector is subtracted from it too")
                          ->needs(norm);
  norm->needs(cohort_emb)->needs(cohort_data);
  cmd->add_option("--top-n", args->top_n,
                  "AS-norm: cohort scores averaged per utterance; must not exceed the number of "
                  "cohort speakers")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  auto* calib = cmd->add_option(
      "--calib-trials", args->calib_trials,
      "labelled calibration trials (e.g. from make-calib-trials): score them with the same "
      "chain, fit llr = w*score + b + sum v_j q_j (LBFGS, Cllr) on them and apply it");
  cmd->add_option("--calib-emb", args->calib_emb,
                  "embeddings of the calibration utterances (default: --emb)")
      ->needs(calib);
  cmd->add_option("--quality-measures", args->quality_measures,
                  "QMF quality measures, in order: any of 'duration embedding imposter' "
                  "(imposter needs --score-norm); empty = plain linear calibration")
      ->needs(calib);
  cmd->add_option("--utt2dur", args->utt2dur,
                  "durations of the evaluation utterances ('utt seconds'), for 'duration'");
  cmd->add_option("--calib-utt2dur", args->calib_utt2dur,
                  "durations of the calibration utterances (default: --utt2dur)")
      ->needs(calib);
  cmd->add_flag("--calib-line-search", args->calib_line_search,
                "LBFGS with strong-Wolfe line search and lr 1 (tighter than speaker-net's "
                "lr 0.01 without line search)")
      ->needs(calib);
  cmd->add_option("--stage-dir", args->stage_dir,
                  "also write every stage's scores here, named as speaker-net does "
                  "(cosine_<trials>[_submean][_asnorm_top<N>][_qmf].score), and the quality "
                  "features of the trials (<trials>.qual)");
  cmd->add_option("--results", args->results,
                  "write a table of EER │ minDCF(0.01) per stage here (labelled trials); it is "
                  "printed too");
  cmd->add_option("--threads", args->threads,
                  "threads for score normalisation and calibration, 0 = all cores")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", args->precision, "decimals of the written scores")
      ->capture_default_str()
      ->check(CLI::Range(0, 17));
  cmd->callback([args] {
    const auto start = std::chrono::steady_clock::now();
    RuntimeConfig runtime;
    runtime.threads = args->threads;
    ConfigureRuntime(runtime);
    const std::vector<std::string> measures = ParseQualityMeasures(args->quality_measures);
    auto wants = [&](const char* m) {
      return std::find(measures.begin(), measures.end(), m) != measures.end();
    };
    SN_CHECK(!wants("imposter") || !args->score_norm.empty(),
             "the 'imposter' quality measure needs a cohort: add --score-norm with "
             "--cohort-emb and --cohort-data");
    SN_CHECK(!wants("duration") || !args->utt2dur.empty(),
             "the 'duration' quality measure needs --utt2dur (and --calib-utt2dur when the "
             "calibration utterances have their own)");
    const bool all_stages = !args->stage_dir.empty() || !args->results.empty();

    const std::vector<Trial> trials = ReadTrials(args->trials);
    SN_CHECK(!trials.empty(), "trial list '{}' is empty", args->trials);
    const EmbeddingTable table = EmbeddingTable::Load(args->emb);
    spdlog::info("{} trials from {}; {} embeddings of dimension {} from {}", trials.size(),
                 args->trials, table.size(), table.dim(), table.source());
    std::vector<float> mean;
    if (!args->submean_emb.empty()) {
      const EmbeddingTable mean_set = EmbeddingTable::Load(args->submean_emb);
      mean = MeanEmbedding(mean_set);
      spdlog::info("subtracting the mean of {} embeddings from {}", mean_set.size(),
                   mean_set.source());
      if (!args->save_mean.empty()) {
        kaldi::WriteNpy(args->save_mean, mean.data(), {static_cast<int64_t>(mean.size())});
        spdlog::info("wrote the mean embedding to {}", args->save_mean);
      }
    } else if (!args->mean.empty()) {
      const kaldi::FloatMatrix m = kaldi::ReadNpy(args->mean);
      SN_CHECK(m.rows == 1, "'{}': expected a 1-D mean embedding, got shape {}x{}", args->mean,
               m.rows, m.cols);
      mean = m.data;
      spdlog::info("subtracting the mean embedding from {}", args->mean);
    }
    const std::vector<float>* mean_ptr = mean.empty() ? nullptr : &mean;

    std::unique_ptr<Cohort> cohort;
    ScoreNormOptions norm_options;
    if (!args->score_norm.empty()) {
      const EmbeddingTable cohort_table = EmbeddingTable::Load(args->cohort_emb);
      cohort = std::make_unique<Cohort>(BuildCohortFromDataDir(cohort_table, args->cohort_data));
      norm_options.method = ParseScoreNormMethod(args->score_norm);
      norm_options.top_n = args->top_n;
      norm_options.imposter = wants("imposter");
      spdlog::info("{}: cohort of {} speakers from {} ({} embeddings){}", args->score_norm,
                   cohort->size(), args->cohort_data, cohort_table.size(),
                   norm_options.method == ScoreNormMethod::kASNorm
                       ? fmt::format(", top-{}", norm_options.top_n)
                       : std::string());
    }

    // The chain up to (not including) calibration; every stage when `all`, else only the last.
    // The quality features of the trials come along (the imposter one from the cohort pass).
    // Utterances of the calibration trials that are also in the evaluation trials (same table)
    // reuse their cohort statistics.
    CohortStatsCache stats_cache;
    auto run_chain = [&](const EmbeddingTable& t, const std::vector<Trial>& tr, bool all,
                         const std::string& utt2dur, QualityFeatures* quality) {
      std::vector<Stage> stages;
      const bool last_is_cosine = cohort == nullptr;
      if (all && mean_ptr != nullptr) stages.push_back({"cosine", "", CosineScores(t, tr)});
      if (last_is_cosine || all) {
        stages.push_back({mean_ptr ? "submean" : "cosine", mean_ptr ? "_submean" : "",
                          CosineScores(t, tr, mean_ptr)});
      }
      NormalizedScores normalized;
      if (cohort) {
        normalized = ScoreNorm(t, tr, *cohort, norm_options, mean_ptr, &stats_cache);
        const bool as = norm_options.method == ScoreNormMethod::kASNorm;
        stages.push_back({as ? "asnorm" : "snorm",
                          std::string(mean_ptr ? "_submean" : "") +
                              (as ? fmt::format("_asnorm_top{}", norm_options.top_n)
                                  : std::string("_snorm")),
                          std::move(normalized.scores)});
      }
      if (quality) {
        for (const std::string& m : measures) {
          if (m == "duration") {
            quality->Append(DurationQuality(tr, ReadUtt2Dur(utt2dur), utt2dur));
          } else if (m == "embedding") {
            quality->Append(EmbeddingQuality(t, tr, mean_ptr));
          } else {
            quality->Append(ImposterQuality(normalized));
          }
        }
      }
      return stages;
    };

    const bool calibrate = !args->calib_trials.empty();
    QualityFeatures quality;
    std::vector<Stage> stages = run_chain(table, trials, all_stages, args->utt2dur,
                                          calibrate ? &quality : nullptr);
    if (calibrate) {
      const std::vector<Trial> calib_trials = ReadTrials(args->calib_trials);
      SN_CHECK(!calib_trials.empty(), "calibration trial list '{}' is empty", args->calib_trials);
      const std::vector<int> calib_labels = LabelsOf(calib_trials, args->calib_trials);
      std::unique_ptr<EmbeddingTable> calib_table;
      if (!args->calib_emb.empty()) {
        calib_table = std::make_unique<EmbeddingTable>(EmbeddingTable::Load(args->calib_emb));
      }
      const EmbeddingTable& ct = calib_table ? *calib_table : table;
      QualityFeatures calib_quality;
      const std::vector<Stage> calib_stages =
          run_chain(ct, calib_trials, false,
                    args->calib_utt2dur.empty() ? args->utt2dur : args->calib_utt2dur,
                    &calib_quality);
      CalibrationOptions copt;
      if (args->calib_line_search) {
        copt.lr = 1;
        copt.line_search = true;
      }
      const Calibrator cal =
          TrainCalibrator({calib_stages.back().scores}, calib_quality, calib_labels, copt);
      spdlog::info("calibration on {} trials from {}: {}", calib_trials.size(),
                   args->calib_trials, cal.Describe());
      stages.push_back({"qmf", stages.back().suffix + "_qmf",
                        cal.Apply({stages.back().scores}, quality)});
    }

    WriteScores(args->out, trials, stages.back().scores, args->precision);
    const std::string trials_name = std::filesystem::path(args->trials).filename().string();
    if (!args->stage_dir.empty()) {
      MakeDirs(args->stage_dir);
      for (const Stage& s : stages) {
        WriteScores(args->stage_dir + "/cosine_" + trials_name + s.suffix + ".score", trials,
                    s.scores, args->precision);
      }
      if (!quality.columns.empty()) {
        WriteQuality(args->stage_dir + "/" + trials_name + ".qual", trials, quality);
      }
      spdlog::info("wrote {} stage score files to {}", stages.size(), args->stage_dir);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("wrote {} scores to {} ({:.2f} s)", stages.back().scores.size(), args->out,
                 secs);
    if (Labelled(trials)) {
      const std::vector<int> labels = LabelsOf(trials, args->trials);
      ResultsTable table_out({0.01});
      for (const Stage& s : stages) {
        const ResultCell cell = MakeResultCell(s.scores, labels, {0.01});
        table_out.Set(s.name, trials_name, cell);
        spdlog::info("{}: EER {:.3f}% minDCF(p=0.01) {:.4f} (unrounded scores)", s.name,
                     cell.eer_percent, cell.min_dcf[0]);
      }
      if (calibrate) {
        const std::vector<double>& llr = stages.back().scores;
        spdlog::info("qmf: actDCF(p=0.01) {:.4f} Cllr {:.4f} minCllr {:.4f}",
                     ActualDcf(llr, labels), Cllr(llr, labels), MinCllr(llr, labels));
      }
      if (!args->results.empty()) {
        const std::string text = table_out.Format();
        WriteTextAtomically(args->results, text);
        std::fputs(text.c_str(), stdout);
        std::fflush(stdout);
      }
    } else if (!args->results.empty()) {
      spdlog::warn("{} is not fully labelled: no results table written", args->trials);
    }
  });
}

SPEAKERNET_REGISTER_COMMAND(50, AddScoreCommand);

}  // namespace speakernet
