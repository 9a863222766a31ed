// memory_soak_bench: resident memory (VmRSS) of long runs stays flat after warm-up (issue 14).
//
//   loader:   ChunkLoader with the full augmentation chain (speed 0.9/1.0/1.1, then clean / noise /
//             babble / reverb / reverb + point noise, every set present, files decoded on demand)
//             and Fbank + SpecAugment on every batch, epoch after epoch.
//   embedder: the public Embedder (speakernet.h) on a tiny trained model (.snm): Embed on samples
//             of varying length and sample rate (16 and 8 kHz, resampled) and EmbedFile.
// RSS is sampled every --every iterations; the growth from the end of warm-up (the first
// --warmup fraction of the run) to the end must stay below --bound-mb, else the program exits 1.
// The figures of a run are in docs/robustness.md.
//
//   build/bench/memory_soak_bench [--batches 1000] [--calls 5000] [--bound-mb 32] [--warmup 0.2]
#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "speakernet/common/error.h"
// The public API after common/error.h (docs/CONTRIBUTING.md).
#include "speakernet/augmentation/spec_augment.h"
#include "speakernet/data/chunk_loader.h"
#include "speakernet/features/fbank.h"
#include "speakernet/speakernet.h"
#include "speakernet/training/model_package.h"
#include "speakernet/training/toy_experiment_test_util.h"
#include "speakernet/training/trainer.h"

using namespace speakernet;

namespace {

double RssMiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// Runs step(i) for i < n, prints RSS every `every` steps; returns the growth after warm-up.
double Soak(const char* name, int64_t n, int64_t every, double warmup,
            const std::function<void(int64_t)>& step) {
  const int64_t warm = std::max<int64_t>(1, static_cast<int64_t>(warmup * n));
  double at_warm = 0, peak_after = 0;
  std::printf("%s: %lld iterations, RSS before %.1f MiB\n", name, static_cast<long long>(n),
              RssMiB());
  for (int64_t i = 0; i < n; ++i) {
    step(i);
    const int64_t done = i + 1;
    if (done == warm) at_warm = RssMiB();
    if (done >= warm) peak_after = std::max(peak_after, RssMiB());
    if (done % every == 0 || done == n || done == warm) {
      std::printf("  %-9s %7lld  RSS %8.1f MiB%s\n", name, static_cast<long long>(done), RssMiB(),
                  done == warm ? "  (end of warm-up)" : "");
      std::fflush(stdout);
    }
  }
  const double growth = RssMiB() - at_warm;
  std::printf("%s: RSS after warm-up %.1f MiB, at the end %.1f MiB (growth %+.1f MiB, peak %.1f)\n",
              name, at_warm, RssMiB(), growth, peak_after);
  return std::max(growth, peak_after - at_warm);
}

std::string WriteSet(const std::string& dir, int files, int64_t samples, uint32_t seed, bool rir) {
  std::filesystem::create_directories(dir);
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  for (int i = 0; i < files; ++i) {
    std::vector<float> x(static_cast<size_t>(samples));
    for (size_t t = 0; t < x.size(); ++t) {
      x[t] = rir ? 0.3f * g(rng) * std::exp(-static_cast<float>(t) / 800.f) : 0.1f * g(rng);
    }
    if (rir) x[0] = 0.9f;
    WriteWav(dir + "/f" + std::to_string(i) + ".wav", x, 16000);
  }
  return dir;
}

double LoaderSoak(const test::ScratchDir& dir, const std::string& data_dir, int64_t batches,
                  int64_t every, double warmup) {
  DataDir data = DataDir::Load(data_dir);
  data.EnsureDurations();
  LoaderConfig c;
  c.batch_size = 8;
  c.chunk_seconds = 1.0;
  c.num_workers = 2;
  c.augment.mode = "chain";
  c.augment.noise_sets = {WriteSet(dir / "noise", 4, 48000, 1, false)};
  c.augment.babble_sets = {WriteSet(dir / "babble", 6, 32000, 2, false)};
  c.augment.reverb_sets = {WriteSet(dir / "rir", 4, 4000, 3, true)};
  c.augment.real_reverb_sets = {WriteSet(dir / "real_rir", 4, 6000, 4, true)};
  c.augment.point_noise_sets = {WriteSet(dir / "point", 4, 24000, 5, false)};
  c.augment.spec_augment = true;
  ChunkLoader loader(data, c);
  Fbank fbank(FbankOptions{});
  torch::Generator gen = at::detail::createCPUGenerator(7);
  int64_t epoch = 0;
  loader.StartEpoch(epoch);
  return Soak("loader", batches, every, warmup, [&](int64_t) {
    std::optional<Batch> batch;
    while (!(batch = loader.Next())) loader.StartEpoch(++epoch);
    torch::NoGradGuard no_grad;
    torch::Tensor feats = fbank(batch->waves, /*training=*/true);
    SpecAugment(feats, c.augment.spec, gen);
    SN_CHECK(feats.size(0) == 8, "unexpected batch");
  });
}

double EmbedderSoak(const test::ScratchDir& dir, const std::string& data_dir, int64_t calls,
                    int64_t every, double warmup) {
  TrainConfig c = test::TinyTrainConfig();
  c.trainer.epochs = 1;
  const std::string exp = dir / "exp", package = dir / "model.snm";
  Trainer(c, data_dir, exp).Run();
  WriteModelPackage(package, LoadTrainedModel(exp, "", /*deploy=*/true));
  const Embedder embedder = Embedder::Load(package, EmbedderOptions{"", "cpu", 1});
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> length(4000, 40000);  // 0.25 s to 2.5 s at 16 kHz
  const std::string file = dir / "spk1-u2.wav";
  return Soak("embedder", calls, every, warmup, [&](int64_t i) {
    std::vector<float> e;
    if (i % 10 == 9) {
      e = embedder.EmbedFile(file);
    } else {
      const int rate = i % 3 == 0 ? 8000 : 16000;
      const int64_t n = length(rng) * rate / 16000;
      e = embedder.Embed(test::ToyWave(static_cast<int>(i % 3), static_cast<int>(i % 7), n,
                                       static_cast<uint32_t>(i)),
                         rate);
    }
    SN_CHECK(static_cast<int>(e.size()) == embedder.Dim(), "unexpected embedding size");
  });
}

}  // namespace

int main(int argc, char** argv) {
  int64_t batches = 1000, calls = 5000;
  double bound = 32, warmup = 0.2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--batches")
      batches = std::atoll(argv[i + 1]);
    else if (a == "--calls")
      calls = std::atoll(argv[i + 1]);
    else if (a == "--bound-mb")
      bound = std::atof(argv[i + 1]);
    else if (a == "--warmup")
      warmup = std::atof(argv[i + 1]);
  }
  spdlog::set_level(spdlog::level::warn);
  at::set_num_threads(1);
  const test::ScratchDir dir("sn_memory_soak");
  const std::string data = test::MakeToyData(dir);
  const double loader = batches > 0 ? LoaderSoak(dir, data, batches, batches / 10 + 1, warmup) : 0;
  const double embed = calls > 0 ? EmbedderSoak(dir, data, calls, calls / 10 + 1, warmup) : 0;
  const bool ok = loader < bound && embed < bound;
  std::printf(
      "memory_soak: loader growth %+.1f MiB, embedder growth %+.1f MiB (bound %.0f MiB): %s\n",
      loader, embed, bound, ok ? "flat" : "GROWING");
  return ok ? 0 : 1;
}
