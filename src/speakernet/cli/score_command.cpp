// `speakernet score`: cosine scoring of a trial list, optionally AS-norm / S-norm normalised
// against a cohort (spec §7.2 items 1-3).
#include <chrono>
#include <memory>

#include "speakernet/backend/cosine_scoring.h"
#include "speakernet/backend/embedding_table.h"
#include "speakernet/backend/metrics.h"
#include "speakernet/backend/score_norm.h"
#include "speakernet/backend/trials.h"
#include "speakernet/cli/commands.h"
#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/logging.h"
#include "speakernet/common/runtime.h"

namespace speakernet {

void AddScoreCommand(CLI::App& app) {
  struct Args {
    std::string trials, emb, out, submean_emb, mean, save_mean;
    std::string score_norm, cohort_emb, cohort_data;
    int64_t top_n = 300;
    int threads = 0;
    int precision = 5;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("score", "cosine-score a trial list: 'enroll test score' lines");
  cmd->add_option("--trials", args->trials,
                  "trial list: '1|0 enroll test', 'enroll test target|nontarget' or 'enroll test'")
      ->required();
  cmd->add_option("--emb", args->emb,
                  "embeddings: a dir with embeddings.scp/xvector.scp/embeddings.npy, or an "
                  ".scp, .ark or .npy file")
      ->required();
  cmd->add_option("--out", args->out, "score file to write (atomically)")->required();
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
  cmd->add_option("--threads", args->threads, "threads for score normalisation, 0 = all cores")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", args->precision, "decimals of the written scores")
      ->capture_default_str()
      ->check(CLI::Range(0, 17));
  cmd->callback([args] {
    const auto start = std::chrono::steady_clock::now();
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
    std::vector<double> scores;
    if (args->score_norm.empty()) {
      scores = CosineScores(table, trials, mean_ptr);
    } else {
      RuntimeConfig runtime;
      runtime.threads = args->threads;
      ConfigureRuntime(runtime);
      const EmbeddingTable cohort_table = EmbeddingTable::Load(args->cohort_emb);
      const Cohort cohort = BuildCohortFromDataDir(cohort_table, args->cohort_data);
      ScoreNormOptions options;
      options.method = ParseScoreNormMethod(args->score_norm);
      options.top_n = args->top_n;
      options.imposter = false;  // not written yet (QMF)
      spdlog::info("{}: cohort of {} speakers from {} ({} embeddings){}", args->score_norm,
                   cohort.size(), args->cohort_data, cohort_table.size(),
                   options.method == ScoreNormMethod::kASNorm
                       ? fmt::format(", top-{}", options.top_n)
                       : std::string());
      scores = ScoreNorm(table, trials, cohort, options, mean_ptr).scores;
    }
    WriteScores(args->out, trials, scores, args->precision);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("wrote {} scores to {} ({:.2f} s)", scores.size(), args->out, secs);
    const TrialCounts counts = CountTrials(trials);
    if (counts.unknown == 0 && counts.target > 0 && counts.nontarget > 0) {
      std::vector<int> labels(trials.size());
      for (size_t i = 0; i < trials.size(); ++i) labels[i] = trials[i].target;
      const DetMetrics m = ComputeMetrics(scores, labels);
      spdlog::info(
          "EER {:.3f}% minDCF(p=0.01) {:.4f} (unrounded scores; `speakernet eval` reads "
          "the written file)",
          m.eer_percent, m.min_dcf);
    }
  });
}

SPEAKERNET_REGISTER_COMMAND(50, AddScoreCommand);

}  // namespace speakernet
