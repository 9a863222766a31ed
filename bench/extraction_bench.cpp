// extraction_bench: ExtractDataDir batched with feature worker threads against one utterance per
// forward pass with no workers (the reference, measured in the same run), on a trained
// experiment and a data dir, e.g. the demo's:
//   build/bench/extraction_bench recipes/demo/work/exp recipes/demo/work/corpus/test
//       [threads=1] [reps=3] [device=cpu] [batch_size=32] [workers=2]
// Measured on the 2-core build box (demo corpus, 144 test utterances, torch threads 1, load
// about 2.5): one by one 70 utts/s; batch 32 + 2 workers 0.89-0.91x (105 passes, largest batch
// 4), batch 32 alone 0.91x, 2 workers alone 0.98x wall / 1.00x CPU. Hence batch_size 0 (the
// default) means 1 on the CPU; batching is for GPUs.
// Prints, for each setup, the best wall time of `reps` runs (model loading excluded), utterances
// per second and process CPU seconds, then the speed-up over the reference and the largest
// relative difference between the two setups' embeddings (float rounding only). On a shared,
// loaded machine compare the CPU seconds too: wall time then mostly measures the other jobs.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "speakernet/inference/embedding_extractor.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/logging.h"
#include "speakernet/common/runtime.h"
#include "bench_util.h"

using namespace speakernet;
namespace fs = std::filesystem;

namespace {

using speakernet::bench::CpuSeconds;

struct Result {
  double wall = 1e30, cpu = 0;
  ExtractStats stats;
};

Result Run(const std::string& exp, const DataDir& data, const ExtractConfig& cfg,
           const RuntimeConfig& runtime, const std::string& out, int reps) {
  const EmbeddingExtractor extractor(exp, cfg, runtime);
  Result best;
  for (int r = 0; r < reps; ++r) {
    fs::remove_all(out);  // otherwise the second run finds the output up to date
    const double c0 = CpuSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    const ExtractStats stats = ExtractDataDir(extractor, data, out);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (wall < best.wall) {
      best.wall = wall;
      best.cpu = CpuSeconds() - c0;
      best.stats = stats;
    }
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s EXP_DIR DATA_DIR [threads=1] [reps=3] [device=cpu] [batch_size=32] "
                 "[workers=2]\n",
                 argv[0]);
    return 2;
  }
  const std::string exp = argv[1], data_dir = argv[2];
  RuntimeConfig runtime;
  runtime.threads = argc > 3 ? std::atoi(argv[3]) : 1;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 3;
  runtime.device = argc > 5 ? argv[5] : "cpu";
  ExtractConfig batched;
  batched.batch_size = argc > 6 ? std::atoi(argv[6]) : 32;
  batched.num_workers = argc > 7 ? std::atoi(argv[7]) : 2;
  ExtractConfig single = batched;
  single.batch_size = 1;
  single.num_workers = 0;
  try {
    ConfigureRuntime(runtime);
    spdlog::set_level(spdlog::level::warn);
    const DataDir data = DataDir::Load(data_dir);
    const std::string tmp =
        (fs::temp_directory_path() / ("sn_extraction_bench_" + std::to_string(::getpid())))
            .string();
    const Result ref = Run(exp, data, single, runtime, tmp + "/single", reps);
    const Result opt = Run(exp, data, batched, runtime, tmp + "/batched", reps);
    const double n = static_cast<double>(data.NumUtterances());
    std::printf("%zu utterances, %s, torch threads %d, best of %d\n", data.utterances().size(),
                runtime.device.c_str(), runtime.threads, reps);
    std::printf(
        "one by one (batch 1, no workers): %7.2f s  %7.1f utts/s  cpu %7.2f s  %lld passes\n",
        ref.wall, n / ref.wall, ref.cpu, static_cast<long long>(ref.stats.forward_passes));
    std::printf(
        "batched (batch %d, %d workers):    %7.2f s  %7.1f utts/s  cpu %7.2f s  %lld passes, "
        "largest batch %lld\n",
        batched.batch_size, batched.num_workers, opt.wall, n / opt.wall, opt.cpu,
        static_cast<long long>(opt.stats.forward_passes),
        static_cast<long long>(opt.stats.largest_batch));
    std::printf("speed-up: wall %.2fx, cpu %.2fx\n", ref.wall / opt.wall, ref.cpu / opt.cpu);
    // The two setups' embeddings agree within float rounding.
    const auto a = kaldi::ReadScp(tmp + "/single/embeddings.scp");
    const auto b = kaldi::ReadScp(tmp + "/batched/embeddings.scp");
    double worst = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      const std::vector<float> x = kaldi::ReadVector(a[i].second),
                               y = kaldi::ReadVector(b[i].second);
      double diff = 0, scale = 1;
      for (size_t j = 0; j < x.size(); ++j) {
        diff = std::max(diff, static_cast<double>(std::abs(x[j] - y[j])));
        scale = std::max(scale, static_cast<double>(std::abs(x[j])));
      }
      worst = std::max(worst, diff / scale);
    }
    std::printf("max |batched - one by one| / max |emb| = %.3g\n", worst);
    fs::remove_all(tmp);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
