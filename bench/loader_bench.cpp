// loader_bench: the training data pipeline with the full augmentation chain, against a Python
// reference measured in the same run.
//
// Work per 2-second chunk (both pipelines): read a random 2.015 s crop of a demo-corpus
// utterance -> speed perturbation (0.9/1.0/1.1, resampling) -> reverberation by FFT convolution
// with a random RIR -> additive noise at SNR U[0, 15] dB -> crop/wrap back to 32240 samples ->
// speaker-net fbank (pre-emphasis, 80-bin log mel, CMN).
//   speakernet: ChunkLoader (loader.augment.mode=chain with only the reverb_noise entry, so that
//     every chunk gets reverb + noise; point_noise.prob=1) in its worker threads, Fbank on each
//     batch in the consumer thread, torch intra-op threads = 1.
//   reference:  bench/loader_bench_reference.py: torchaudio load + sox speed + FFT reverb + noise
//     + MelSpectrogram in a torch DataLoader with the same number of workers (1 torch thread
//     each). Also run without the speed step, to show its share.
// "Per core" = chunks per CPU second of the whole process (all threads; for Python the main
// process plus its joined workers, via getrusage), which does not depend on how busy the shared
// machine is. Wall-clock rates are printed too.
//
// The noise and RIR sets are synthetic (coloured noise; exponentially decaying noise with a
// direct-path peak), written to a temporary directory. The demo corpus is
// $SPEAKERNET_DEMO_CORPUS or SOURCE_DIR/recipes/demo/data, built with
// recipes/demo/make_corpus.sh when missing.
//
//   build-*/bench/loader_bench [--chunks N] [--workers W] [--reps R] [--breakdown 1]
#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/augmentation/waveform_augment.h"
#include "speakernet/data/chunk_loader.h"
#include "speakernet/data/data_dir.h"
#include "speakernet/features/fbank.h"
#include "bench_util.h"

namespace fs = std::filesystem;
using namespace speakernet;

namespace {

using speakernet::bench::CpuSeconds;

struct Result {
  int64_t chunks = 0;
  double wall = 0, cpu = 0;
  double PerCpu() const { return chunks / cpu; }
};

void WriteSets(const fs::path& dir) {
  std::mt19937 rng(17);
  std::normal_distribution<float> g(0.f, 1.f);
  fs::create_directories(dir / "noise");
  fs::create_directories(dir / "rir");
  for (int i = 0; i < 8; ++i) {
    // Coloured noise (one-pole low-pass of white noise), 5 s.
    std::vector<float> x(5 * 16000);
    float y = 0;
    const float a = 0.5f + 0.05f * i;
    for (auto& v : x) {
      y = a * y + (1 - a) * g(rng);
      v = 0.2f * y;
    }
    WriteWav((dir / "noise" / ("n" + std::to_string(i) + ".wav")).string(), x, 16000);
    // RIR: 0.5 s of decaying noise after a direct-path peak at 10 ms.
    std::vector<float> h(8000, 0.f);
    for (size_t t = 160; t < h.size(); ++t) {
      h[t] = 0.3f * g(rng) * std::exp(-(float(t) - 160.f) / (800.f + 200.f * i));
    }
    h[160] = 0.9f;
    WriteWav((dir / "rir" / ("r" + std::to_string(i) + ".wav")).string(), h, 16000);
  }
}

Result RunSpeakernet(const std::string& data_dir, const fs::path& sets, int64_t chunks,
                     int workers) {
  DataDir data = DataDir::Load(data_dir);
  data.EnsureDurations();
  LoaderConfig c;
  c.batch_size = 32;
  c.chunk_seconds = 2.0;
  c.num_workers = workers;
  c.prefetch_batches = 4;
  c.seed = 1024;
  c.augment.mode = "chain";
  c.augment.clean_weight = c.augment.noise_weight = c.augment.babble_weight = 0;
  c.augment.reverb_weight = 0;
  c.augment.reverb_noise_weight = 1;
  c.augment.real_reverb_sets = {(sets / "rir").string()};
  c.augment.point_noise_sets = {(sets / "noise").string()};
  c.augment.point_noise.prob = 1.0;
  ChunkLoader loader(data, c);
  Fbank fbank(FbankOptions{});
  Result r;
  const double cpu0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  int64_t epoch = 0;
  loader.StartEpoch(epoch);
  while (r.chunks < chunks) {
    auto batch = loader.Next();
    if (!batch) {
      loader.StartEpoch(++epoch);
      continue;
    }
    torch::NoGradGuard no_grad;
    const torch::Tensor feats = fbank(batch->waves, /*training=*/true);
    SN_CHECK(feats.size(1) == 80 && feats.size(2) == 202, "unexpected feature shape");
    r.chunks += batch->waves.size(0);
  }
  r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu = CpuSeconds() - cpu0;
  return r;
}

Result RunPython(const std::string& data_dir, const fs::path& sets, int64_t chunks, int workers,
                 bool speed) {
  const std::string cmd = std::string(SPEAKERNET_PYTHON) + " '" + SPEAKERNET_SOURCE_DIR +
                          "/bench/loader_bench_reference.py' --wav-scp '" + data_dir +
                          "/wav.scp' --noise-dir '" + (sets / "noise").string() +
                          "' --rir-dir '" + (sets / "rir").string() + "' --chunks " +
                          std::to_string(chunks) + " --workers " + std::to_string(workers) +
                          (speed ? "" : " --no-speed");
  FILE* pipe = ::popen(cmd.c_str(), "r");
  SN_CHECK(pipe != nullptr, "cannot run {}", cmd);
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int rc = ::pclose(pipe);
  SN_CHECK(rc == 0, "reference pipeline failed (status {}): {}\n{}", rc, cmd, out);
  auto number = [&](const std::string& key) {
    const auto pos = out.find("\"" + key + "\": ");
    SN_CHECK(pos != std::string::npos, "no {} in the reference output: {}", key, out);
    return std::stod(out.substr(pos + key.size() + 4));
  };
  Result r;
  r.chunks = static_cast<int64_t>(number("chunks"));
  r.wall = number("wall_s");
  r.cpu = number("cpu_s");
  return r;
}

// CPU milliseconds per call of each step on one thread, to show where a chunk's time goes.
void Breakdown(const std::string& data_dir, const fs::path& sets) {
  DataDir data = DataDir::Load(data_dir);
  data.EnsureDurations();
  const Utterance& u = data.utterances()[0];
  const std::vector<float> rir = ReadAudio((sets / "rir" / "r0.wav").string());
  const std::vector<float> noise = ReadAudio((sets / "noise" / "n0.wav").string());
  std::mt19937_64 rng(1);
  auto time = [](const char* name, int n, const auto& fn) {
    const double c0 = CpuSeconds();
    for (int i = 0; i < n; ++i) fn();
    std::printf("  %-40s %8.3f ms\n", name, 1e3 * (CpuSeconds() - c0) / n);
  };
  std::vector<float> x = LoadUtteranceAudio(u, 16000, 0, 32240);
  const std::vector<float> slow = SpeedPerturb(x, 0.9), fast = SpeedPerturb(x, 1.1);
  std::printf("per-step CPU time, one thread:\n");
  time("read 2.015 s crop (wav)", 50, [&] { LoadUtteranceAudio(u, 16000, 100, 32240); });
  time("read RIR file (0.5 s)", 50, [&] { ReadAudio((sets / "rir" / "r1.wav").string()); });
  time("speed 0.9 (soxr)", 20, [&] { SpeedPerturb(x, 0.9); });
  time("speed 1.1 (soxr)", 20, [&] { SpeedPerturb(x, 1.1); });
  time("reverb T=32240", 20, [&] { Reverberate(x, rir); });
  time("reverb T=35822 (after speed 0.9)", 20, [&] { Reverberate(slow, rir); });
  time("reverb T=29309 (after speed 1.1)", 20, [&] { Reverberate(fast, rir); });
  time("add noise (preloaded noise)", 50, [&] { AddNoise(x, noise, 5.0, rng); });
  Fbank fbank(FbankOptions{});
  const torch::Tensor batch = torch::randn({32, 32240}) * 0.1;
  time("fbank, one batch of 32 chunks", 5, [&] {
    torch::NoGradGuard g;
    fbank(batch, true);
  });
}

Result Best(const std::vector<Result>& rs) {
  return *std::max_element(rs.begin(), rs.end(),
                           [](const Result& a, const Result& b) { return a.PerCpu() < b.PerCpu(); });
}

}  // namespace

int main(int argc, char** argv) {
  int64_t chunks = 512;
  int workers = 2, reps = 2;
  bool breakdown = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--chunks") chunks = std::atoll(argv[i + 1]);
    else if (a == "--workers") workers = std::atoi(argv[i + 1]);
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--breakdown") breakdown = std::atoi(argv[i + 1]) != 0;
  }
  spdlog::set_level(spdlog::level::warn);
  at::set_num_threads(1);
  try {
    const char* env = std::getenv("SPEAKERNET_DEMO_CORPUS");
    const std::string corpus =
        env ? env : std::string(SPEAKERNET_SOURCE_DIR) + "/recipes/demo/data";
    if (!fs::exists(corpus + "/train/wav.scp")) {
      std::printf("building the demo corpus in %s ...\n", corpus.c_str());
      const std::string cmd = "bash '" + std::string(SPEAKERNET_SOURCE_DIR) +
                              "/recipes/demo/make_corpus.sh' '" + corpus + "' >&2";
      SN_CHECK(std::system(cmd.c_str()) == 0, "make_corpus.sh failed: {}", cmd);
    }
    const std::string train = corpus + "/train";
    const fs::path sets = fs::temp_directory_path() /
                          ("sn_loader_bench_" + std::to_string(::getpid()));
    WriteSets(sets);

    std::vector<Result> ours, ref, ref_nospeed;
    for (int r = 0; r < reps; ++r) {
      ours.push_back(RunSpeakernet(train, sets, chunks, workers));
      ref.push_back(RunPython(train, sets, chunks, workers, true));
      ref_nospeed.push_back(RunPython(train, sets, chunks, workers, false));
    }
    if (breakdown) Breakdown(train, sets);
    fs::remove_all(sets);
    const Result a = Best(ours), b = Best(ref), c = Best(ref_nospeed);
    std::printf("loader_bench: %s, %d workers, %lld chunks of 2 s, best of %d\n", train.c_str(),
                workers, static_cast<long long>(chunks), reps);
    std::printf("  chain: speed 0.9/1.0/1.1 -> FFT reverb -> noise SNR U[0,15] -> crop -> fbank\n");
    std::printf("%-44s %10s %10s %16s %12s\n", "pipeline", "wall s", "CPU s", "chunks/s/core",
                "chunks/s");
    auto row = [](const char* name, const Result& r) {
      std::printf("%-44s %10.2f %10.2f %16.1f %12.1f\n", name, r.wall, r.cpu, r.PerCpu(),
                  r.chunks / r.wall);
    };
    row("speakernet ChunkLoader + Fbank", a);
    row("python torchaudio DataLoader (same chain)", b);
    row("python torchaudio DataLoader (no speed)", c);
    std::printf("ratio per core: %.2fx the Python pipeline (%.2fx its no-speed variant); "
                "target >= 3x: %s\n",
                a.PerCpu() / b.PerCpu(), a.PerCpu() / c.PerCpu(),
                a.PerCpu() / b.PerCpu() >= 3.0 ? "met" : "NOT met");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loader_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
