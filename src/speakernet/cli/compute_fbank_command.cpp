// speakernet compute-fbank --data DIR --out DIR [--type fbank|kaldi_fbank] [--threads N]
//                          [--config FILE]
//
// Computes speaker-net's "fbank" (features/fbank.h) or "kaldi_fbank" (features/kaldi_fbank.h,
// log energy + mel bins) features of every utterance of a data dir and writes them as Kaldi
// float matrices, one [frames, dims] row-major matrix per utterance (Kaldi's convention, the
// transpose of the extractors' [dims, frames]), to OUT/feats.ark and OUT/feats.scp in utterance
// order; OUT/fbank.yaml records the options used (written last; usable as --config with the
// same --type). --config is a YAML file of FbankOptions or KaldiFbankOptions fields, depending
// on --type.
// Utterances are processed in parallel, one torch thread per worker.
#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "speakernet/cli/commands.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/config.h"
#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/progress.h"
#include "speakernet/data/data_dir.h"
#include "speakernet/features/fbank.h"
#include "speakernet/features/kaldi_fbank.h"

namespace speakernet {
namespace {

struct FeatureMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;  // row-major [frames, bins]
};

// One feature type: its sample rate, output dim and [T] -> [dims, frames] function.
struct Extractor {
  int sample_rate = 16000;
  int dim = 0;
  std::function<torch::Tensor(const torch::Tensor&)> compute;
};

FeatureMatrix ComputeUtterance(const Extractor& extractor, const Utterance& utt) {
  try {
    std::vector<float> audio = LoadUtteranceAudio(utt, extractor.sample_rate);
    const torch::Tensor wave =
        torch::from_blob(audio.data(), {static_cast<int64_t>(audio.size())}, torch::kFloat);
    const torch::Tensor feats = extractor.compute(wave).t().contiguous();  // [frames, dims]
    FeatureMatrix m;
    m.rows = feats.size(0);
    m.cols = feats.size(1);
    m.data.assign(feats.data_ptr<float>(), feats.data_ptr<float>() + feats.numel());
    return m;
  } catch (const std::exception& e) {
    Fail(fmt::format("compute-fbank: utterance '{}' ({}): {}", utt.id, utt.wav, e.what()));
  }
}

// Workers compute utterances in parallel (at most `lookahead` ahead of the writer); the calling
// thread writes them in utterance order. The first error stops everything and is rethrown.
void ComputeFbankDataDir(const DataDir& data, const Extractor& extractor,
                         const std::string& out_dir, int num_threads) {
  MakeDirs(out_dir);
  const std::string ark = std::filesystem::absolute(out_dir + "/feats.ark").string();
  kaldi::ArkWriter writer(ark, out_dir + "/feats.scp");
  const auto& utts = data.utterances();
  const int64_t total = data.NumUtterances();
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(num_threads, total)));
  const int64_t lookahead = 4 * static_cast<int64_t>(workers);

  std::mutex mutex;
  std::condition_variable cv;
  std::map<int64_t, FeatureMatrix> ready;
  int64_t next = 0, written = 0;
  std::exception_ptr error;

  auto work = [&] {
    at::init_num_threads();  // pick up the process-wide torch thread count (1)
    while (true) {
      int64_t i;
      {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return error || next >= total || next < written + lookahead; });
        if (error || next >= total) return;
        i = next++;
      }
      try {
        FeatureMatrix m = ComputeUtterance(extractor, utts[i]);
        std::lock_guard<std::mutex> lock(mutex);
        ready.emplace(i, std::move(m));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
      }
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < workers; ++t) threads.emplace_back(work);

  ProgressMeter progress("compute-fbank", total, "utts");
  int64_t frames = 0;
  try {
    for (int64_t i = 0; i < total; ++i) {
      FeatureMatrix m;
      {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return error || ready.count(i) > 0; });
        if (error) break;
        auto it = ready.find(i);
        m = std::move(it->second);
        ready.erase(it);
        ++written;
      }
      cv.notify_all();
      writer.WriteMatrix(utts[i].id, m.data.data(), m.rows, m.cols);
      frames += m.rows;
      progress.Advance();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!error) error = std::current_exception();
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);  // the writer's destructor drops its temporaries
  writer.Close();
  progress.Finish();
  spdlog::info("compute-fbank: wrote {} matrices ({} frames x {} bins) to {} and {}/feats.scp",
               writer.num_written(), frames, extractor.dim, ark, out_dir);
}

}  // namespace

void AddComputeFbankCommand(CLI::App& app) {
  struct Args {
    std::string data, out, type = "fbank", config;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "compute-fbank", "features of a data dir to OUT/feats.ark/.scp ([frames, bins] per utt)");
  cmd->add_option("--data", args->data, "data dir whose wav.scp lists the utterances")->required();
  cmd->add_option("--out", args->out, "output dir: feats.ark, feats.scp, fbank.yaml")->required();
  cmd->add_option("--type", args->type,
                  "fbank (speaker-net's torchaudio-MelSpectrogram front end) or kaldi_fbank")
      ->check(CLI::IsMember({"fbank", "kaldi_fbank"}))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "parallel utterances (0 = all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--config", args->config,
                  "YAML file of options for --type: fbank (sample_rate, num_bins, preemph, cmvn, "
                  "...) or kaldi_fbank (samp_freq, num_bins, window_type, use_energy, cmvn, ...)");
  cmd->callback([args] {
    Extractor extractor;
    std::string options_text;
    YAML::Node options_yaml;
    const YAML::Node config = LoadYamlFile(args->config);
    if (args->type == "kaldi_fbank") {
      KaldiFbankOptions options;
      ReadConfig(config, options);
      const KaldiFbank fbank(options);
      extractor = {options.samp_freq, fbank.Dim(),
                   [fbank](const torch::Tensor& wave) { return fbank(wave); }};
      options_text = ConfigToString(options);
      options_yaml = ConfigToYaml(options);
    } else {
      FbankOptions options;
      ReadConfig(config, options);
      const Fbank fbank(options);
      extractor = {options.sample_rate, fbank.Dim(),
                   [fbank](const torch::Tensor& wave) { return fbank(wave); }};
      options_text = ConfigToString(options);
      options_yaml = ConfigToYaml(options);
    }
    const int threads = args->threads > 0
                            ? args->threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(1);  // parallel over utterances instead
    const DataDir data = DataDir::Load(args->data);
    spdlog::info("compute-fbank: {} utterances from {}, type {} ({}), {} threads",
                 data.NumUtterances(), args->data, args->type, options_text, threads);
    ComputeFbankDataDir(data, extractor, args->out, threads);
    WriteTextAtomically(args->out + "/fbank.yaml", YamlToString(options_yaml));
  });
}

SPEAKERNET_REGISTER_COMMAND(10, AddComputeFbankCommand);

}  // namespace speakernet
