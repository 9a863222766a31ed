// `speakernet score`: cosine scoring of a trial list (spec §7.2 items 1-2).
#include <chrono>
#include <memory>

#include "speakernet/backend/cosine_scoring.h"
#include "speakernet/backend/embedding_table.h"
#include "speakernet/backend/metrics.h"
#include "speakernet/backend/trials.h"
#include "speakernet/cli/commands.h"
#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/logging.h"

namespace speakernet {

void AddScoreCommand(CLI::App& app) {
  struct Args {
    std::string trials, emb, out, submean_emb, mean, save_mean;
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
    const std::vector<double> scores = CosineScores(table, trials, mean.empty() ? nullptr : &mean);
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

}  // namespace speakernet
