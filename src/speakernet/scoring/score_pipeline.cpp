#include "speakernet/scoring/score_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <utility>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/logging.h"
#include "speakernet/scoring/cosine_scoring.h"
#include "speakernet/scoring/metrics.h"
#include "speakernet/scoring/results_table.h"

namespace speakernet {

namespace {

using UttSpk = std::vector<std::pair<std::string, std::string>>;

}  // namespace

// What Run loads once: the trials, the evaluation table as read and as scored (mean subtracted,
// enrolment models added), the mean, the enrolment list, the cohort.
struct ScorePipeline::Loaded {
  std::vector<Trial> trials;
  EmbeddingTable raw;
  std::unique_ptr<EmbeddingTable> scored;  // null: `raw` is scored as it is
  std::vector<float> mean;
  UttSpk enroll;  // (utterance, model) pairs of enroll_spk2utt
  std::unique_ptr<Cohort> cohort;
  ScoreNormOptions norm;
  CohortStatsCache stats_cache;

  const std::vector<float>* mean_ptr() const { return mean.empty() ? nullptr : &mean; }
  const UttSpk* enroll_ptr() const { return enroll.empty() ? nullptr : &enroll; }
};

ScorePipeline::ScorePipeline(ScorePipelineOptions options) : o_(std::move(options)) {
  SN_CHECK(!Wants("imposter") || !o_.score_norm.empty(),
           "the 'imposter' quality measure needs a cohort: add --score-norm with "
           "--cohort-emb and --cohort-data");
  SN_CHECK(!Wants("duration") || !o_.utt2dur.empty(),
           "the 'duration' quality measure needs --utt2dur (and --calib-utt2dur when the "
           "calibration utterances have their own)");
  SN_CHECK(o_.submean_emb.empty() || o_.mean.empty(), "give either a submean set or a mean");
}

ScorePipeline::~ScorePipeline() = default;

bool ScorePipeline::Wants(const char* measure) const {
  return std::find(o_.quality_measures.begin(), o_.quality_measures.end(), measure) !=
         o_.quality_measures.end();
}

EmbeddingTable ScorePipeline::ScoringTable(const EmbeddingTable& raw,
                                           const std::vector<float>* mean, const UttSpk* enroll,
                                           const std::string& enroll_source) {
  EmbeddingTable t;
  t.set_source(raw.source());
  const size_t dim = static_cast<size_t>(raw.dim());
  SN_CHECK(mean == nullptr || mean->size() == dim,
           "mean embedding has dimension {}, but the embeddings in {} have dimension {}",
           mean ? mean->size() : 0, raw.source(), dim);
  for (size_t i = 0; i < raw.size(); ++i) {
    std::vector<float> row = raw.Row(i);
    if (mean != nullptr) {
      for (size_t j = 0; j < dim; ++j) row[j] -= (*mean)[j];
    }
    t.Add(raw.key(i), std::move(row));
  }
  if (enroll == nullptr) return t;
  const Cohort models = BuildCohort(raw, *enroll, enroll_source, mean, CohortMean::kPerUtterance);
  for (size_t s = 0; s < models.size(); ++s) {
    SN_CHECK(!t.Has(models.speakers[s]),
             "{}: model '{}' is also an utterance id in {}; trials could not tell them apart",
             enroll_source, models.speakers[s], raw.source());
    t.Add(models.speakers[s], std::vector<float>(models.Row(s), models.Row(s) + dim));
  }
  t.set_source(fmt::format("{} (+ {} models of {})", raw.source(), models.size(), enroll_source));
  return t;
}

void ScorePipeline::LoadMean() {
  if (!o_.submean_emb.empty()) {
    const EmbeddingTable mean_set = EmbeddingTable::Load(o_.submean_emb);
    in_->mean = MeanEmbedding(mean_set);
    spdlog::info("subtracting the mean of {} embeddings from {}", mean_set.size(),
                 mean_set.source());
    if (!o_.save_mean.empty()) {
      kaldi::WriteNpy(o_.save_mean, in_->mean.data(), {static_cast<int64_t>(in_->mean.size())});
      spdlog::info("wrote the mean embedding to {}", o_.save_mean);
    }
  } else if (!o_.mean.empty()) {
    const kaldi::FloatMatrix m = kaldi::ReadNpy(o_.mean);
    SN_CHECK(m.rows == 1, "'{}': expected a 1-D mean embedding, got shape {}x{}", o_.mean, m.rows,
             m.cols);
    in_->mean = m.data;
    spdlog::info("subtracting the mean embedding from {}", o_.mean);
  }
}

void ScorePipeline::LoadCohort() {
  if (o_.score_norm.empty()) return;
  const EmbeddingTable cohort_table = EmbeddingTable::Load(o_.cohort_emb);
  in_->cohort = std::make_unique<Cohort>(
      BuildCohortFromDataDir(cohort_table, o_.cohort_data, in_->mean_ptr(), o_.cohort_mean));
  ScoreNormOptions& n = in_->norm;
  n.method = ParseScoreNormMethod(o_.score_norm);
  n.top_n = o_.top_n;
  n.imposter = Wants("imposter");
  spdlog::info(
      "{}: cohort of {} speakers from {} ({} embeddings){}{}", o_.score_norm, in_->cohort->size(),
      o_.cohort_data, cohort_table.size(),
      n.method == ScoreNormMethod::kASNorm ? fmt::format(", top-{}", n.top_n) : std::string(),
      in_->mean.empty() ? ""
      : o_.cohort_mean == CohortMean::kSpeakerNet
          ? ", speaker-net's cohort mean (m subtracted from the speaker averages)"
          : ", m subtracted from every cohort utterance");
}

void ScorePipeline::LoadInputs() {
  in_ = std::make_unique<Loaded>();
  in_->trials = ReadTrials(o_.trials);
  SN_CHECK(!in_->trials.empty(), "trial list '{}' is empty", o_.trials);
  in_->raw = EmbeddingTable::Load(o_.emb);
  spdlog::info("{} trials from {}; {} embeddings of dimension {} from {}", in_->trials.size(),
               o_.trials, in_->raw.size(), in_->raw.dim(), in_->raw.source());
  LoadMean();
  if (!o_.enroll_spk2utt.empty()) in_->enroll = ReadSpk2Utt(o_.enroll_spk2utt);
  if (in_->mean_ptr() != nullptr || in_->enroll_ptr() != nullptr) {
    in_->scored = std::make_unique<EmbeddingTable>(
        ScoringTable(in_->raw, in_->mean_ptr(), in_->enroll_ptr(), o_.enroll_spk2utt));
  }
  if (!in_->enroll.empty()) {
    spdlog::info(
        "enrolment models from {}: each the average of its utterances' embeddings "
        "(mean-subtracted, L2-normalised)",
        o_.enroll_spk2utt);
  }
  LoadCohort();
}

QualityFeatures ScorePipeline::Quality(const EmbeddingTable& scored,
                                       const std::vector<Trial>& trials, const std::string& utt2dur,
                                       const NormalizedScores& normalized) const {
  QualityFeatures quality;
  for (const std::string& m : o_.quality_measures) {
    if (m == "duration") {
      Durations d = ReadUtt2Dur(utt2dur);
      // A model's duration: the total of its utterances' (those without one are left out, so
      // a trial using the model fails with the usual message).
      Durations models;
      for (const auto& [utt, model] : in_->enroll) {
        const auto it = d.find(utt);
        if (it != d.end()) models[model] += it->second;
      }
      for (const auto& [model, seconds] : models) d.emplace(model, seconds);
      quality.Append(DurationQuality(trials, d, utt2dur));
    } else if (m == "embedding") {
      quality.Append(EmbeddingQuality(scored, trials));
    } else {
      quality.Append(ImposterQuality(normalized));
    }
  }
  return quality;
}

// The chain up to (not including) calibration; every stage when `all`, else only the last.
// `raw` is the table as read (for the cosine stage before mean subtraction), `scored` the one
// every other stage scores. Utterances of the calibration trials that are also in the
// evaluation trials (same table) reuse their cohort statistics.
std::vector<ScoreStage> ScorePipeline::Chain(const EmbeddingTable& raw,
                                             const EmbeddingTable& scored,
                                             const std::vector<Trial>& trials, bool all,
                                             const std::string& utt2dur, QualityFeatures* quality) {
  std::vector<ScoreStage> stages;
  const bool has_mean = !in_->mean.empty();
  if (all && has_mean) {
    stages.push_back(
        {"cosine", "",
         in_->enroll.empty()
             ? CosineScores(raw, trials)
             : CosineScores(ScoringTable(raw, nullptr, &in_->enroll, o_.enroll_spk2utt), trials)});
  }
  if (in_->cohort == nullptr || all) {
    stages.push_back({has_mean ? "submean" : "cosine", has_mean ? "_submean" : "",
                      CosineScores(scored, trials)});
  }
  NormalizedScores normalized;
  if (in_->cohort != nullptr) {
    // `scored` is already mean-subtracted: no mean here (the cohort was built with it).
    normalized = ScoreNorm(scored, trials, *in_->cohort, in_->norm, nullptr, &in_->stats_cache);
    const bool as = in_->norm.method == ScoreNormMethod::kASNorm;
    stages.push_back(
        {as ? "asnorm" : "snorm",
         std::string(has_mean ? "_submean" : "") +
             (as ? fmt::format("_asnorm_top{}", in_->norm.top_n) : std::string("_snorm")),
         std::move(normalized.scores)});
  }
  if (quality != nullptr) *quality = Quality(scored, trials, utt2dur, normalized);
  return stages;
}

ScoreStage ScorePipeline::Calibrate(const ScoreStage& last, const QualityFeatures& quality) {
  const std::vector<Trial> calib_trials = ReadTrials(o_.calib_trials);
  SN_CHECK(!calib_trials.empty(), "calibration trial list '{}' is empty", o_.calib_trials);
  const std::vector<int> calib_labels = TrialLabels(calib_trials, o_.calib_trials);
  std::unique_ptr<EmbeddingTable> own_raw, own_scored;
  if (!o_.calib_emb.empty()) {
    own_raw = std::make_unique<EmbeddingTable>(EmbeddingTable::Load(o_.calib_emb));
    if (in_->mean_ptr() != nullptr) {
      own_scored =
          std::make_unique<EmbeddingTable>(ScoringTable(*own_raw, in_->mean_ptr(), nullptr, ""));
    }
  }
  const EmbeddingTable& raw = own_raw ? *own_raw : in_->raw;
  const EmbeddingTable& scored = own_scored    ? *own_scored
                                 : own_raw     ? *own_raw
                                 : in_->scored ? *in_->scored
                                               : in_->raw;
  QualityFeatures calib_quality;
  const std::vector<ScoreStage> calib_stages =
      Chain(raw, scored, calib_trials, false,
            o_.calib_utt2dur.empty() ? o_.utt2dur : o_.calib_utt2dur, &calib_quality);
  CalibrationOptions copt;
  if (o_.calib_line_search) {
    copt.lr = 1;
    copt.line_search = true;
  }
  const Calibrator cal =
      TrainCalibrator({calib_stages.back().scores}, calib_quality, calib_labels, copt);
  spdlog::info("calibration on {} trials from {}: {}", calib_trials.size(), o_.calib_trials,
               cal.Describe());
  return {"qmf", last.suffix + "_qmf", cal.Apply({last.scores}, quality)};
}

void ScorePipeline::Write(const std::vector<ScoreStage>& stages,
                          const QualityFeatures& quality) const {
  WriteScores(o_.out, in_->trials, stages.back().scores, o_.precision);
  if (o_.stage_dir.empty()) return;
  const std::string trials_name = std::filesystem::path(o_.trials).filename().string();
  MakeDirs(o_.stage_dir);
  for (const ScoreStage& s : stages) {
    WriteScores(o_.stage_dir + "/cosine_" + trials_name + s.suffix + ".score", in_->trials,
                s.scores, o_.precision);
  }
  if (!quality.columns.empty()) {
    WriteQuality(o_.stage_dir + "/" + trials_name + ".qual", in_->trials, quality);
  }
  spdlog::info("wrote {} stage score files to {}", stages.size(), o_.stage_dir);
}

void ScorePipeline::Report(const std::vector<ScoreStage>& stages) const {
  if (!CountTrials(in_->trials).FullyLabelled()) {
    if (!o_.results.empty()) {
      spdlog::warn("{} is not fully labelled: no results table written", o_.trials);
    }
    return;
  }
  const std::string trials_name = std::filesystem::path(o_.trials).filename().string();
  const std::vector<int> labels = TrialLabels(in_->trials, o_.trials);
  ResultsTable table({0.01});
  for (const ScoreStage& s : stages) {
    const ResultCell cell = MakeResultCell(s.scores, labels, {0.01});
    table.Set(s.name, trials_name, cell);
    spdlog::info("{}: EER {:.3f}% minDCF(p=0.01) {:.4f} (unrounded scores)", s.name,
                 cell.eer_percent, cell.min_dcf[0]);
  }
  if (!o_.calib_trials.empty()) {
    const std::vector<double>& llr = stages.back().scores;
    spdlog::info("qmf: actDCF(p=0.01) {:.4f} Cllr {:.4f} minCllr {:.4f}", ActualDcf(llr, labels),
                 Cllr(llr, labels), MinCllr(llr, labels));
  }
  if (!o_.results.empty()) {
    const std::string text = table.Format();
    WriteTextAtomically(o_.results, text);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
  }
}

std::vector<ScoreStage> ScorePipeline::Run() {
  const auto start = std::chrono::steady_clock::now();
  LoadInputs();
  const bool all_stages = !o_.stage_dir.empty() || !o_.results.empty();
  const bool calibrate = !o_.calib_trials.empty();
  const EmbeddingTable& scored = in_->scored ? *in_->scored : in_->raw;
  QualityFeatures quality;
  std::vector<ScoreStage> stages =
      Chain(in_->raw, scored, in_->trials, all_stages, o_.utt2dur, calibrate ? &quality : nullptr);
  if (calibrate) stages.push_back(Calibrate(stages.back(), quality));
  Write(stages, quality);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("wrote {} scores to {} ({:.2f} s)", stages.back().scores.size(), o_.out, secs);
  Report(stages);
  return stages;
}

}  // namespace speakernet
