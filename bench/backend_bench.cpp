// backend_bench: scoring back end at VoxCeleb1-E scale on synthetic embeddings.
//   153,516 utterances (1,251 speakers), 256-d; 579,818 random trials (about half target);
//   a 5,994-speaker cohort; AS-norm top-300.
// Times cosine scoring, AS-norm end to end (cohort statistics + normalisation; without and
// with the imposter measure; int8 preselection (default) and the plain fp32 path), a reference
// AS-norm measured in the same run (the plain vectorised way: fp32 GEMM per 4096-row block +
// torch::topk + mean/std),
// S-norm, QMF calibration (30,000 calibration trials over 60,000 other utterances, scored with
// the same chain, quality duration + imposter, LBFGS fit, applied to the 579,818 trials) and
// ComputeMetrics (EER +
// minDCF), each the best of --reps runs, and prints the ratios to the targets:
//   cosine + AS-norm <= 1 s, with QMF <= 2 s, on 2 cores; EER/minDCF <= 0.1 s.
// Run: build/bench/backend_bench [threads=2] [reps=2] [block_rows=ScoreNormOptions default]
//      [asnorm | asnorm-imposter: time only that step, e.g. under perf]
// "cpu s" is the process CPU time of all threads (libgomp spin-waiting included). Do not set
// OMP_WAIT_POLICY=PASSIVE: with Debian's LibTorch + OpenMP OpenBLAS it left one thread working.
#include <ATen/Parallel.h>

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "speakernet/scoring/cosine_scoring.h"
#include "speakernet/scoring/embedding_table.h"
#include "speakernet/scoring/int8_gemm.h"
#include "speakernet/scoring/metrics.h"
#include "speakernet/scoring/qmf_calibration.h"
#include "speakernet/scoring/score_norm.h"
#include "bench_util.h"

using namespace speakernet;

namespace {

using speakernet::bench::CpuSeconds;

// Best wall time of `reps` runs; *cpu gets the process CPU time of that run (all threads): on a
// shared, loaded machine cpu / threads is the better guess of the unloaded wall time.
double BestSeconds(int reps, const std::function<void()>& f, double* cpu = nullptr) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double c0 = CpuSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (wall < best) {
      best = wall;
      if (cpu) *cpu = CpuSeconds() - c0;
    }
  }
  return best;
}

// Reference AS-norm, the plain vectorised way (as a Python/numpy or WeSpeaker-style implementation
// would do it): normalise, fp32 GEMM per 4096-row block (multi-threaded BLAS), torch::topk,
// mean/std per row, then s' per trial. Used for the speed ratio and as an exactness check.
std::vector<double> NaiveTopkASNorm(const EmbeddingTable& table, const std::vector<Trial>& trials,
                                    const Cohort& cohort, int64_t top_n,
                                    const std::vector<float>& mean) {
  const int64_t u = static_cast<int64_t>(table.size()), d = table.dim();
  const int64_t c = static_cast<int64_t>(cohort.size());
  torch::Tensor x = torch::empty({u, d});
  for (int64_t i = 0; i < u; ++i) {
    std::memcpy(x[i].data_ptr<float>(), table.Row(static_cast<size_t>(i)).data(), d * 4);
  }
  const torch::Tensor m = torch::from_blob(const_cast<float*>(mean.data()), {1, d});
  x = x - m;
  x = x / x.norm(2, 1, true).clamp_min(1e-8);
  torch::Tensor ch =
      torch::from_blob(const_cast<float*>(cohort.vectors.data()), {c, d}) - m;
  ch = ch / ch.norm(2, 1, true).clamp_min(1e-8);
  const torch::Tensor cht = ch.t().contiguous();
  torch::Tensor mu = torch::empty({u}), sd = torch::empty({u});
  for (int64_t b = 0; b < u; b += 4096) {
    const int64_t rows = std::min<int64_t>(4096, u - b);
    const torch::Tensor top = std::get<0>(torch::mm(x.narrow(0, b, rows), cht).topk(top_n, 1));
    mu.narrow(0, b, rows).copy_(top.mean(1));
    sd.narrow(0, b, rows).copy_(top.std(1, /*unbiased=*/false));
  }
  std::vector<double> out(trials.size());
  const float* px = x.data_ptr<float>();
  const float* pm = mu.data_ptr<float>();
  const float* ps = sd.data_ptr<float>();
  for (size_t t = 0; t < trials.size(); ++t) {
    const int64_t e = table.IndexOf(trials[t].enroll), s = table.IndexOf(trials[t].test);
    double raw = 0;
    for (int64_t j = 0; j < d; ++j) raw += px[e * d + j] * px[s * d + j];
    out[t] = 0.5 * ((raw - pm[e]) / ps[e] + (raw - pm[s]) / ps[s]);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 2;
  const int64_t block_rows = argc > 3 ? std::atoll(argv[3]) : ScoreNormOptions().block_rows;
  at::set_num_threads(threads);
  constexpr int64_t kUtts = 153516, kDim = 256, kTrials = 579818, kCohort = 5994,
                    kSpeakers = 1251, kTopN = 300;

  std::mt19937 rng(1234);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<std::vector<float>> centroids(kSpeakers, std::vector<float>(kDim));
  for (auto& c : centroids) {
    for (float& x : c) x = gauss(rng);
  }
  EmbeddingTable table;
  std::vector<int> spk_of(kUtts);
  std::vector<std::vector<int64_t>> utts_of(kSpeakers);
  for (int64_t i = 0; i < kUtts; ++i) {
    const int s = static_cast<int>(i % kSpeakers);
    spk_of[i] = s;
    utts_of[s].push_back(i);
    std::vector<float> e(kDim);
    for (int64_t j = 0; j < kDim; ++j) e[j] = 0.5f + centroids[s][j] + 1.2f * gauss(rng);
    table.Add("id" + std::to_string(i), std::move(e));
  }
  std::uniform_int_distribution<int64_t> pick(0, kUtts - 1);
  std::vector<Trial> trials(kTrials);
  std::vector<int> labels(kTrials);
  for (int64_t t = 0; t < kTrials; ++t) {
    const int64_t e = pick(rng);
    int64_t s = pick(rng);
    if (t % 2 == 0) {  // target trial: another utterance of the same speaker
      const auto& same = utts_of[spk_of[e]];
      s = same[std::uniform_int_distribution<size_t>(0, same.size() - 1)(rng)];
    }
    trials[t] = {"id" + std::to_string(e), "id" + std::to_string(s), spk_of[e] == spk_of[s]};
    labels[t] = trials[t].target;
  }
  Cohort cohort;
  cohort.dim = kDim;
  cohort.source = "<synthetic>";
  for (int64_t c = 0; c < kCohort; ++c) {
    cohort.speakers.push_back("c" + std::to_string(c));
    for (int64_t j = 0; j < kDim; ++j) cohort.vectors.push_back(0.5f + gauss(rng));
  }
  const std::vector<float> mean = MeanEmbedding(table);

  std::printf("backend_bench: %lld utts x %lld-d, %lld trials, cohort %lld, top-%lld, "
              "%d threads, blocks of %lld rows, best of %d\n",
              static_cast<long long>(kUtts), static_cast<long long>(kDim),
              static_cast<long long>(kTrials), static_cast<long long>(kCohort),
              static_cast<long long>(kTopN), threads, static_cast<long long>(block_rows), reps);
  std::printf("int8 preselection: %s (%s)\n", Int8GemmAvailable() ? "on" : "off",
              Int8GemmDescription().c_str());

  // Profiling: `backend_bench T R B asnorm` (or asnorm-imposter) times only that AS-norm step,
  // e.g. under perf.
  if (argc > 4 && std::strncmp(argv[4], "asnorm", 6) == 0) {
    ScoreNormOptions only;
    only.top_n = kTopN;
    only.block_rows = block_rows;
    only.imposter = std::strcmp(argv[4], "asnorm-imposter") == 0;
    double cpu = 0;
    const double wall =
        BestSeconds(reps, [&] { ScoreNorm(table, trials, cohort, only, &mean); }, &cpu);
    std::printf("AS-norm top-300 (%s): %.3f s wall, %.3f s cpu\n", argv[4], wall, cpu);
    return 0;
  }
  double c_cos = 0, c_as = 0, c_as_imp = 0, c_as32 = 0, c_ref = 0, c_sn = 0, c_met = 0,
         c_gemm = 0, c_qmf = 0;
  std::vector<double> cosine;
  const double t_cos =
      BestSeconds(reps, [&] { cosine = CosineScores(table, trials, &mean); }, &c_cos);
  // The fp32 floor of the plain way: the [U, D] x [D, C] float product alone (4096-row blocks).
  const torch::Tensor x = torch::randn({kUtts, kDim}), ct = torch::randn({kDim, kCohort});
  const double t_gemm = BestSeconds(
      reps,
      [&] {
        for (int64_t b = 0; b < kUtts; b += 4096) {
          torch::mm(x.narrow(0, b, std::min<int64_t>(4096, kUtts - b)), ct);
        }
      },
      &c_gemm);
  ScoreNormOptions as;
  as.top_n = kTopN;
  as.block_rows = block_rows;
  as.imposter = false;
  NormalizedScores asn;
  const double t_as =
      BestSeconds(reps, [&] { asn = ScoreNorm(table, trials, cohort, as, &mean); }, &c_as);
  ScoreNormOptions as32 = as;  // the plain fp32 path (default where oneDNN lacks VNNI)
  as32.int8_preselect = false;
  NormalizedScores asn32;
  const double t_as32 =
      BestSeconds(reps, [&] { asn32 = ScoreNorm(table, trials, cohort, as32, &mean); }, &c_as32);
  std::vector<double> ref;
  const double t_ref = BestSeconds(
      reps, [&] { ref = NaiveTopkASNorm(table, trials, cohort, kTopN, mean); }, &c_ref);
  double worst = 0, worst32 = 0;
  for (size_t t = 0; t < ref.size(); ++t) {
    worst = std::max(worst, std::abs(asn.scores[t] - ref[t]) / std::max(1.0, std::abs(ref[t])));
    worst32 =
        std::max(worst32, std::abs(asn32.scores[t] - ref[t]) / std::max(1.0, std::abs(ref[t])));
  }
  as.imposter = true;
  NormalizedScores asn_imp;
  const double t_as_imp = BestSeconds(
      reps, [&] { asn_imp = ScoreNorm(table, trials, cohort, as, &mean); }, &c_as_imp);

  // QMF: 30,000 labelled calibration trials (half target) drawn, as speaker-net draws them from
  // the training set, from 60,000 other utterances of the same speakers (their own table);
  // synthetic durations; the chain cosine -> AS-norm (+ imposter) on them, fit, apply to the
  // eval trials.
  constexpr int64_t kCalibUtts = 60000;
  EmbeddingTable calib_table;
  std::vector<std::vector<int64_t>> calib_utts_of(kSpeakers);
  for (int64_t i = 0; i < kCalibUtts; ++i) {
    const int s = static_cast<int>(i % kSpeakers);
    calib_utts_of[s].push_back(i);
    std::vector<float> e(kDim);
    for (int64_t j = 0; j < kDim; ++j) e[j] = 0.5f + centroids[s][j] + 1.2f * gauss(rng);
    calib_table.Add("cal" + std::to_string(i), std::move(e));
  }
  std::uniform_real_distribution<double> dur(2.0, 20.0);
  Durations durations;
  for (int64_t i = 0; i < kUtts; ++i) durations["id" + std::to_string(i)] = dur(rng);
  for (int64_t i = 0; i < kCalibUtts; ++i) durations["cal" + std::to_string(i)] = dur(rng);
  std::uniform_int_distribution<int64_t> pick_calib(0, kCalibUtts - 1);
  std::vector<Trial> calib(30000);
  std::vector<int> calib_labels(calib.size());
  for (size_t t = 0; t < calib.size(); ++t) {
    const int64_t e = pick_calib(rng);
    int64_t s = pick_calib(rng);
    if (t % 2 == 0) {
      const auto& same = calib_utts_of[e % kSpeakers];
      s = same[std::uniform_int_distribution<size_t>(0, same.size() - 1)(rng)];
    }
    calib[t] = {"cal" + std::to_string(e), "cal" + std::to_string(s), e % kSpeakers == s % kSpeakers};
    calib_labels[t] = calib[t].target;
  }
  std::vector<double> llr;
  Calibrator cal;
  const double t_qmf = BestSeconds(
      reps,
      [&] {
        const NormalizedScores ev = ScoreNorm(table, trials, cohort, as, &mean);
        const NormalizedScores cv = ScoreNorm(calib_table, calib, cohort, as, &mean);
        QualityFeatures qe = DurationQuality(trials, durations, "<synthetic>");
        qe.Append(ImposterQuality(ev));
        QualityFeatures qc = DurationQuality(calib, durations, "<synthetic>");
        qc.Append(ImposterQuality(cv));
        cal = TrainCalibrator({cv.scores}, qc, calib_labels);
        llr = cal.Apply({ev.scores}, qe);
      },
      &c_qmf);

  // The fit alone (LBFGS, speaker-net's settings) on the 30k calibration trials.
  double c_fit = 0;
  const NormalizedScores cv_once = ScoreNorm(calib_table, calib, cohort, as, &mean);
  QualityFeatures qc_once = DurationQuality(calib, durations, "<synthetic>");
  qc_once.Append(ImposterQuality(cv_once));
  const double t_fit = BestSeconds(
      reps, [&] { cal = TrainCalibrator({cv_once.scores}, qc_once, calib_labels); }, &c_fit);

  ScoreNormOptions sn;
  sn.method = ScoreNormMethod::kSNorm;
  NormalizedScores snn;
  const double t_sn =
      BestSeconds(reps, [&] { snn = ScoreNorm(table, trials, cohort, sn, &mean); }, &c_sn);
  DetMetrics m_cos, m_as;
  const double t_met =
      BestSeconds(reps, [&] { m_cos = ComputeMetrics(cosine, labels); }, &c_met);
  m_as = ComputeMetrics(asn.scores, labels);
  const DetMetrics m_sn = ComputeMetrics(snn.scores, labels);
  const DetMetrics m_qmf = ComputeMetrics(llr, labels);

  std::printf("%-34s %8s %10s\n", "", "wall s", "cpu s");
  std::printf("%-34s %8.3f %10.3f\n", "cosine scoring", t_cos, c_cos);
  std::printf("%-34s %8.3f %10.3f  (cohort stats + normalisation, incl. cosine)\n",
              "AS-norm top-300 (default)", t_as, c_as);
  std::printf("%-34s %8.3f %10.3f\n", "AS-norm top-300 (fp32 path)", t_as32, c_as32);
  std::printf("%-34s %8.3f %10.3f  (reference: fp32 GEMM + torch::topk, same run)\n",
              "AS-norm top-300, naive topk", t_ref, c_ref);
  std::printf("%-34s %8.3f %10.3f\n", "AS-norm top-300 + imposter", t_as_imp, c_as_imp);
  std::printf("%-34s %8.3f %10.3f  ([U,D]x[D,C] fp32 GEMM alone)\n", "  fp32 GEMM alone",
              t_gemm, c_gemm);
  std::printf("%-34s %8.3f %10.3f  (eval + 30k calib AS-norm w/ imposter, fit, apply)\n",
              "AS-norm + QMF end to end", t_qmf, c_qmf);
  std::printf("%-34s %8.3f %10.3f\n", "  of which the QMF fit (30k trials)", t_fit, c_fit);
  std::printf("%-34s %8.3f %10.3f\n", "S-norm", t_sn, c_sn);
  std::printf("%-34s %8.3f %10.3f\n", "ComputeMetrics", t_met, c_met);
  std::printf("max |s' - reference| / max(1, |reference|): default %.2e, fp32 path %.2e\n",
              worst, worst32);
  std::printf("QMF model: %s\n", cal.Describe().c_str());
  std::printf("EER %% / minDCF: cosine %.3f / %.4f, AS-norm %.3f / %.4f, S-norm %.3f / %.4f, "
              "QMF %.3f / %.4f\n",
              m_cos.eer_percent, m_cos.min_dcf, m_as.eer_percent, m_as.min_dcf,
              m_sn.eer_percent, m_sn.min_dcf, m_qmf.eer_percent, m_qmf.min_dcf);
  std::printf("speed-up over the naive topk reference: %.2fx (fp32 path %.2fx)\n",
              t_ref / t_as, t_ref / t_as32);
  std::printf("target cosine + AS-norm <= 1 s:  %.3f s, ratio %.2fx the target "
              "(cpu/threads %.3f s)\n",
              t_as, t_as / 1.0, c_as / threads);
  std::printf("target with QMF <= 2 s:          %.3f s, ratio %.2fx the target "
              "(cpu/threads %.3f s)\n",
              t_qmf, t_qmf / 2.0, c_qmf / threads);
  std::printf("target EER/minDCF <= 0.1 s:      %.3f s, ratio %.2fx the target\n", t_met,
              t_met / 0.1);
  return 0;
}
