// Fbank speed against torchaudio, both on 1 thread and measured in the same run:
//   utt_10s:      one 10 s utterance             [1, 160000]
//   batch_32x2s:  32 training chunks of 2.015 s  [32, 32240]
// The torchaudio side runs first, in a /usr/bin/python3 subprocess
// (bench/fbank_bench_torchaudio.py). Both sides report the median per call of the thread CPU
// time (robust on a shared box where other jobs steal the cores) and of the wall time.
// Counters per case (CPU-time medians): ours_ms, ta_melspec_ms (torchaudio MelSpectrogram
// alone), ta_pipeline_ms (speaker-net's whole Python front end: pre-emphasis, MelSpectrogram,
// log, CMN), and the ratios torchaudio / speakernet x_vs_melspec and x_vs_pipeline (> 1 means
// speakernet is faster). A summary with CPU and wall ratios follows the table.
// kaldi_fbank/<case> does the same for KaldiFbank (speaker-net's "kaldi_fbank" options, 81 dims,
// no CMN) against torchaudio.compliance.kaldi.fbank of each utterance (x 32768, same options):
// counters ours_ms, ta_kaldi_ms and x_vs_kaldi; ours_cmn_ms is KaldiFbank with CMN.
#include <benchmark/benchmark.h>
#include <time.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "speakernet/features/fbank.h"
#include "speakernet/features/kaldi_fbank.h"

namespace {

struct Case {
  std::string name;
  int64_t batch, length;
};
const std::vector<Case> kCases = {{"utt_10s", 1, 160000}, {"batch_32x2s", 32, 32240}};
constexpr double kMinSeconds = 2.0;  // per case and side

struct Times {
  double cpu_ms = NAN, wall_ms = NAN;
};
struct Timing {
  Times ours, melspec, pipeline;
  Times kaldi_ours, kaldi_ours_cmn, kaldi_ta;
};
std::map<std::string, Timing> g_timings;

double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

double WallMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs the torchaudio side; on failure the ratios are left out and the reason is printed.
void MeasureTorchaudio() {
  std::string cmd = std::string(SPEAKERNET_PYTHON) + " '" + SPEAKERNET_SOURCE_DIR +
                    "/bench/fbank_bench_torchaudio.py' " + std::to_string(kMinSeconds);
  for (const Case& c : kCases) {
    cmd += " " + c.name + ":" + std::to_string(c.batch) + ":" + std::to_string(c.length);
  }
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    std::fprintf(stderr, "fbank_bench: cannot run %s\n", cmd.c_str());
    return;
  }
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != 0) {
    std::fprintf(stderr, "fbank_bench: '%s' failed (status %d), no torchaudio reference:\n%s\n",
                 cmd.c_str(), status, out.c_str());
    return;
  }
  std::istringstream lines(out);
  std::string name;
  Times melspec, pipeline, kaldi;
  while (lines >> name >> melspec.cpu_ms >> melspec.wall_ms >> pipeline.cpu_ms >>
         pipeline.wall_ms >> kaldi.cpu_ms >> kaldi.wall_ms) {
    g_timings[name].melspec = melspec;
    g_timings[name].pipeline = pipeline;
    g_timings[name].kaldi_ta = kaldi;
  }
}

void BM_Fbank(benchmark::State& state, const Case& c) {
  torch::manual_seed(0);
  const speakernet::Fbank fbank{speakernet::FbankOptions{}};
  const torch::Tensor waves = 0.1 * torch::randn({c.batch, c.length});
  benchmark::DoNotOptimize(fbank(waves).data_ptr());  // warm-up: allocator, FFT plans
  std::vector<double> cpu, wall;
  for (auto _ : state) {
    const double cpu0 = ThreadCpuMs(), wall0 = WallMs();
    torch::Tensor out = fbank(waves);
    benchmark::DoNotOptimize(out.data_ptr());
    cpu.push_back(ThreadCpuMs() - cpu0);
    wall.push_back(WallMs() - wall0);
  }
  Timing& t = g_timings[c.name];
  t.ours = {Median(cpu), Median(wall)};
  state.counters["ours_ms"] = t.ours.cpu_ms;
  if (!std::isnan(t.melspec.cpu_ms)) {
    state.counters["ta_melspec_ms"] = t.melspec.cpu_ms;
    state.counters["ta_pipeline_ms"] = t.pipeline.cpu_ms;
    state.counters["x_vs_melspec"] = t.melspec.cpu_ms / t.ours.cpu_ms;
    state.counters["x_vs_pipeline"] = t.pipeline.cpu_ms / t.ours.cpu_ms;
  }
  state.SetItemsProcessed(state.iterations() * c.batch * c.length);  // audio samples
}

// Median (thread CPU, wall) ms per call of fn(waves) over the benchmark's iterations.
template <class F>
Times MeasureCalls(benchmark::State& state, const F& fn, const torch::Tensor& waves) {
  benchmark::DoNotOptimize(fn(waves).data_ptr());  // warm-up: allocator, FFT plans
  std::vector<double> cpu, wall;
  for (auto _ : state) {
    const double cpu0 = ThreadCpuMs(), wall0 = WallMs();
    torch::Tensor out = fn(waves);
    benchmark::DoNotOptimize(out.data_ptr());
    cpu.push_back(ThreadCpuMs() - cpu0);
    wall.push_back(WallMs() - wall0);
  }
  return {Median(cpu), Median(wall)};
}

void BM_KaldiFbank(benchmark::State& state, const Case& c) {
  torch::manual_seed(0);
  speakernet::KaldiFbankOptions options;  // speaker-net's kaldi_fbank options
  options.cmvn = false;                   // torchaudio's fbank has no CMN
  const speakernet::KaldiFbank fbank(options);
  options.cmvn = true;
  const speakernet::KaldiFbank fbank_cmn(options);
  const torch::Tensor waves = 0.1 * torch::randn({c.batch, c.length});
  Timing& t = g_timings[c.name];
  t.kaldi_ours = MeasureCalls(state, fbank, waves);
  // CMN variant: a fixed number of calls outside the timed loop.
  std::vector<double> cpu, wall;
  for (int i = 0; i < 21; ++i) {
    const double cpu0 = ThreadCpuMs(), wall0 = WallMs();
    benchmark::DoNotOptimize(fbank_cmn(waves).data_ptr());
    cpu.push_back(ThreadCpuMs() - cpu0);
    wall.push_back(WallMs() - wall0);
  }
  t.kaldi_ours_cmn = {Median(cpu), Median(wall)};
  state.counters["ours_ms"] = t.kaldi_ours.cpu_ms;
  state.counters["ours_cmn_ms"] = t.kaldi_ours_cmn.cpu_ms;
  if (!std::isnan(t.kaldi_ta.cpu_ms)) {
    state.counters["ta_kaldi_ms"] = t.kaldi_ta.cpu_ms;
    state.counters["x_vs_kaldi"] = t.kaldi_ta.cpu_ms / t.kaldi_ours.cpu_ms;
  }
  state.SetItemsProcessed(state.iterations() * c.batch * c.length);  // audio samples
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  torch::set_num_threads(1);
  torch::NoGradGuard no_grad;
  MeasureTorchaudio();
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark(("fbank/" + c.name).c_str(), BM_Fbank, c)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(kMinSeconds);
  }
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark(("kaldi_fbank/" + c.name).c_str(), BM_KaldiFbank, c)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(kMinSeconds);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  std::printf(
      "\nfbank, 1 thread, median per call; ratio = torchaudio / speakernet (> 1: faster)\n"
      "%-12s %-12s %22s %30s %30s\n",
      "case", "time", "speakernet", "torchaudio MelSpectrogram", "speaker-net py pipeline");
  for (const Case& c : kCases) {
    const Timing& t = g_timings[c.name];
    if (std::isnan(t.ours.cpu_ms)) continue;
    for (const bool cpu : {true, false}) {
      const double ours = cpu ? t.ours.cpu_ms : t.ours.wall_ms;
      const double mel = cpu ? t.melspec.cpu_ms : t.melspec.wall_ms;
      const double pipe = cpu ? t.pipeline.cpu_ms : t.pipeline.wall_ms;
      std::printf("%-12s %-12s %19.3f ms %18.3f ms (%5.2fx) %18.3f ms (%5.2fx)\n", c.name.c_str(),
                  cpu ? "thread CPU" : "wall", ours, mel, mel / ours, pipe, pipe / ours);
    }
  }
  std::printf(
      "\nkaldi_fbank, 1 thread, median per call; ratio = torchaudio / speakernet (> 1: faster)\n"
      "%-12s %-12s %22s %30s %22s\n",
      "case", "time", "speakernet (no CMN)", "torchaudio kaldi.fbank", "speakernet + CMN");
  for (const Case& c : kCases) {
    const Timing& t = g_timings[c.name];
    if (std::isnan(t.kaldi_ours.cpu_ms)) continue;
    for (const bool cpu : {true, false}) {
      const double ours = cpu ? t.kaldi_ours.cpu_ms : t.kaldi_ours.wall_ms;
      const double ta = cpu ? t.kaldi_ta.cpu_ms : t.kaldi_ta.wall_ms;
      const double cmn = cpu ? t.kaldi_ours_cmn.cpu_ms : t.kaldi_ours_cmn.wall_ms;
      std::printf("%-12s %-12s %19.3f ms %18.3f ms (%5.2fx) %19.3f ms\n", c.name.c_str(),
                  cpu ? "thread CPU" : "wall", ours, ta, ta / ours, cmn);
    }
  }
  return 0;
}
