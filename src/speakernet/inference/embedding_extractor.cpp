#include "speakernet/inference/embedding_extractor.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <thread>

#include "speakernet/augmentation/vad.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/config.h"
#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/progress.h"
#include "speakernet/common/torch_compat.h"
#include "speakernet/features/front_end.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/training/experiment.h"

// OpenMP's per-thread thread count (see SingleThreadedTorch); weak: null without OpenMP.
extern "C" void omp_set_num_threads(int) __attribute__((weak));

namespace speakernet {

namespace fs = std::filesystem;

void ExtractConfig::Validate() const {
  SN_CHECK(max_frames > 0, "max_frames must be > 0, got {}", max_frames);
  SN_CHECK(batch_size >= 0, "batch_size must be >= 0 (0 = by device), got {}", batch_size);
  SN_CHECK(num_workers >= 0 && num_workers <= 256, "num_workers must be in 0..256, got {}",
           num_workers);
  SN_CHECK(shard_size >= 1, "shard_size must be >= 1, got {}", shard_size);
  SN_CHECK(stop_after_shards >= 0, "stop_after_shards must be >= 0, got {}", stop_after_shards);
  if (vad) vad_options.Validate();
  SN_CHECK(precision == "fp32" || precision == "bf16", "precision must be fp32 or bf16, got '{}'",
           precision);
}

struct EmbeddingExtractor::Impl {
  TrainConfig config;
  ExtractConfig extract;
  std::string device_name;
  torch::Device device{torch::kCPU};
  std::unique_ptr<FrontEnd> front_end;  // the experiment's (features.type in its config.yaml)
  std::shared_ptr<SpeakerModel> model;
  std::string checkpoint;
  std::optional<double> threshold;

  // [dim, frames] float32 features of one utterance on the CPU, as the model sees them: the
  // training front end with CMN over the whole utterance, then (with vad) the non-speech frames
  // dropped. Computed on the CPU so that worker threads can do it while the model runs on any
  // device. Thread-safe.
  torch::Tensor Features(const std::vector<float>& wave) const {
    const auto n = static_cast<int64_t>(wave.size());
    SN_CHECK(n > 0, "empty waveform");
    const torch::Tensor x =
        torch::from_blob(const_cast<float*>(wave.data()), {1, n}, torch::kFloat32);
    torch::Tensor feats = (*front_end)(x, /*training=*/false)[0];
    if (!extract.vad) return feats;
    // Kaldi VAD frames are snip-edges frames of 25 ms every 10 ms (frame j starts at j*vhop);
    // each feature frame takes the decision of the VAD frame whose centre (j*vhop + vwin/2) is
    // nearest to its own (front_end->FrameCenter).
    const int sr = front_end->SampleRate();
    const std::vector<float> energy = FrameLogEnergies(wave.data(), n, sr, 25.0, 10.0);
    if (energy.empty()) return feats;  // shorter than one VAD frame: keep everything
    const std::vector<bool> voiced = ComputeVad(energy, extract.vad_options);
    const double vhop = 0.010 * sr, vwin = 0.025 * sr;
    const int64_t frames = feats.size(1), nv = static_cast<int64_t>(voiced.size());
    std::vector<int64_t> keep;
    for (int64_t t = 0; t < frames; ++t) {
      const int64_t j = std::clamp<int64_t>(
          std::llround((front_end->FrameCenter(t) - vwin / 2) / vhop), 0, nv - 1);
      if (voiced[j]) keep.push_back(t);
    }
    // An utterance without any voiced frame is used whole rather than dropped, so that every
    // utterance still gets an embedding.
    if (keep.empty()) {
      spdlog::warn("extract: VAD found no speech in an utterance of {} frames; using all of it",
                   frames);
      return feats;
    }
    if (static_cast<int64_t>(keep.size()) == frames) return feats;
    return feats.index_select(1, torch::tensor(keep, torch::kInt64)).contiguous();
  }

  // One forward pass on B feature matrices of identical length (<= max_frames): [B, dim] CPU.
  torch::Tensor EmbedBatch(const std::vector<torch::Tensor>& feats) const {
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::stack(feats).to(device);
    std::optional<ScopedAutocast> autocast;
    if (extract.precision == "bf16") autocast.emplace(device.type(), torch::kBFloat16);
    return model->forward(x).to(torch::kCPU, torch::kFloat).contiguous();
  }

  // One utterance's features → [dim] CPU embedding. Utterances longer than max_frames are cut
  // into equal pieces whose embeddings are averaged, weighted by their frame counts
  // (speaker-net's extraction rule). Returns the number of forward passes in *passes.
  torch::Tensor EmbedOne(const torch::Tensor& feats, int64_t* passes = nullptr) const {
    torch::NoGradGuard no_grad;
    const int64_t frames = feats.size(1);
    const int64_t pieces = (frames + extract.max_frames - 1) / extract.max_frames;
    if (passes) *passes = pieces;
    if (pieces == 1) return EmbedBatch({feats})[0];
    const int64_t piece_len = (frames + pieces - 1) / pieces;
    torch::Tensor sum;
    for (int64_t start = 0; start < frames; start += piece_len) {
      const int64_t len = std::min(piece_len, frames - start);
      const torch::Tensor emb = EmbedBatch({feats.narrow(1, start, len)})[0] * len;
      sum = sum.defined() ? sum + emb : emb;
    }
    return (sum / static_cast<double>(frames)).contiguous();
  }
};

EmbeddingExtractor::EmbeddingExtractor(const std::string& model_path, const ExtractConfig& config,
                                       const RuntimeConfig& runtime)
    : EmbeddingExtractor((config.Validate(), LoadTrainedModel(model_path, config.checkpoint)),
                         config, runtime) {}

EmbeddingExtractor::EmbeddingExtractor(TrainedModel trained, const ExtractConfig& config,
                                       const RuntimeConfig& runtime)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  config.Validate();
  m.extract = config;
  m.config = std::move(trained.config);
  m.threshold = trained.threshold;
  m.device_name = runtime.device;
  m.device = ParseDevice(runtime.device);
  if (m.extract.batch_size == 0) m.extract.batch_size = m.device.is_cuda() ? 32 : 1;
  m.checkpoint = trained.source;
  m.front_end = std::make_unique<FrontEnd>(m.config.features);
  m.model = std::move(trained.model);
  m.model->to(m.device);
  m.model->eval();
  spdlog::info("extract: {} from {}; features {} ({}-d)", DescribeModel(m.config.model, *m.model),
               m.checkpoint, m.config.features.type, m.front_end->Dim());
}

EmbeddingExtractor::~EmbeddingExtractor() = default;

int64_t EmbeddingExtractor::dim() const { return impl_->model->EmbeddingDim(); }
int EmbeddingExtractor::sample_rate() const { return impl_->front_end->SampleRate(); }
const std::string& EmbeddingExtractor::checkpoint() const { return impl_->checkpoint; }
const ExtractConfig& EmbeddingExtractor::config() const { return impl_->extract; }
std::optional<double> EmbeddingExtractor::threshold() const { return impl_->threshold; }

std::vector<float> EmbeddingExtractor::Extract(const std::vector<float>& wave) const {
  const torch::Tensor emb = impl_->EmbedOne(impl_->Features(wave));
  return std::vector<float>(emb.data_ptr<float>(), emb.data_ptr<float>() + emb.numel());
}

namespace {

// FNV-1a, for the fingerprint of the utterance list.
uint64_t Fnv(uint64_t h, const std::string& s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return (h ^ 0xff) * 1099511628211ULL;
}

// Everything that determines the output bytes: the model weights (checkpoint path, size and
// time of its files), the options that change embeddings (batch_size included: batching
// changes float rounding), the device, and the utterance list with its audio specs.
std::string Fingerprint(const EmbeddingExtractor::Impl& m, const DataDir& data) {
  std::ostringstream o;
  o << "checkpoint " << fs::absolute(m.checkpoint).string() << "\n";
  std::error_code ec;
  if (fs::is_regular_file(m.checkpoint)) {  // a model package
    o << "  " << fs::file_size(m.checkpoint) << " "
      << fs::last_write_time(m.checkpoint).time_since_epoch().count() << "\n";
  }
  for (const auto& e : fs::directory_iterator(m.checkpoint, ec)) {
    if (!e.is_regular_file()) continue;
    o << "  " << e.path().filename().string() << " " << e.file_size() << " "
      << e.last_write_time().time_since_epoch().count() << "\n";
  }
  o << "device " << m.device_name << "\n";
  o << "max_frames " << m.extract.max_frames << "\nbatch_size " << m.extract.batch_size
    << "\nshard_size " << m.extract.shard_size << "\nvad " << m.extract.vad << "\n";
  if (m.extract.precision != "fp32") o << "precision " << m.extract.precision << "\n";
  if (m.extract.vad) {
    const VadConfig& v = m.extract.vad_options;
    o << "vad_options " << v.vad_energy_threshold << " " << v.vad_energy_mean_scale << " "
      << v.vad_frames_context << " " << v.vad_proportion_threshold << "\n";
  }
  uint64_t h = 1469598103934665603ULL;
  for (const Utterance& u : data.utterances()) {
    h = Fnv(h, u.id);
    h = Fnv(h, u.wav);
    h = Fnv(h, fmt::format("{} {}", u.start, u.end));
  }
  o << "utterances " << data.NumUtterances() << " " << std::hex << h << "\n";
  return o.str();
}

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string ShardPath(const std::string& shard_dir, int64_t k) {
  return fmt::format("{}/shard-{:05d}.ark", shard_dir, k);
}

// True when the shard file exists, parses, and holds exactly the expected utterances in order
// with `dim`-dimensional vectors. A damaged shard (e.g. truncated by a crash of the file
// system) is reported and redone.
bool ShardComplete(const std::string& path, const std::vector<Utterance>& utts, int64_t begin,
                   int64_t end, int64_t dim) {
  if (!fs::exists(path)) return false;
  int64_t i = begin;
  try {
    kaldi::ForEachInArk(path, [&](const std::string& key, const kaldi::FloatMatrix& m) {
      SN_CHECK(i < end && key == utts[i].id && static_cast<int64_t>(m.data.size()) == dim,
               "unexpected entry '{}'", key);
      ++i;
    });
  } catch (const std::exception& e) {
    spdlog::warn("extract: shard {} is damaged ({}); extracting it again", path, e.what());
    return false;
  }
  if (i != end) {
    spdlog::warn("extract: shard {} has {} of {} utterances; extracting it again", path, i - begin,
                 end - begin);
    return false;
  }
  return true;
}

// Feature workers parallelise over utterances, so their own torch ops should run on one thread:
// a new thread's first parallel op gives it an OpenMP team of the process-wide thread count
// (ConfigureRuntime's), and two workers with such teams beside the model's would oversubscribe
// the cores. at::set_num_threads cannot be used (it also resizes the process-wide count and
// pools); OpenMP's per-thread setting is, when this torch uses OpenMP (libgomp is loaded with
// libtorch_cpu; the symbol is weak so that a build without OpenMP still links and runs).

void SingleThreadedTorch() {
  at::internal::lazy_init_num_threads();  // first, or torch's lazy init would undo what follows
  if (omp_set_num_threads != nullptr) omp_set_num_threads(1);
  spdlog::debug("extract: feature worker uses {} torch thread(s)", at::get_num_threads());
}

// Work of one shard: utterances [begin, end) of the data dir.
struct Shard {
  int64_t index, begin, end;
};

int64_t Utterances(const std::vector<Shard>& shards) {
  int64_t count = 0;
  for (const Shard& s : shards) count += s.end - s.begin;
  return count;
}

// Features of the utterances of the pending shards, computed in data-dir order by worker
// threads (or inline with no workers), at most one shard ahead of the consumer so that memory
// stays bounded by two shards of features.
class FeaturePipeline {
 public:
  FeaturePipeline(const EmbeddingExtractor::Impl& m, const std::vector<Utterance>& utts,
                  const std::vector<Shard>& shards, int num_workers)
      : m_(m), utts_(utts), shards_(shards) {
    for (const Shard& s : shards_) {
      for (int64_t i = s.begin; i < s.end; ++i) order_.push_back(i);
      shard_end_.push_back(static_cast<int64_t>(order_.size()));
    }
    slots_.resize(order_.size());
    ready_.assign(order_.size(), false);
    for (int w = 0; w < num_workers; ++w) threads_.emplace_back([this] { Work(); });
  }
  ~FeaturePipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // The features of pending shard k's utterances (in data-dir order); throws an Error naming
  // the utterance whose audio or features failed. Releases shard k-1's features.
  std::vector<torch::Tensor> TakeShard(size_t k) {
    const int64_t begin = k == 0 ? 0 : shard_end_[k - 1], end = shard_end_[k];
    std::vector<torch::Tensor> out;
    for (int64_t pos = begin; pos < end; ++pos) {
      if (threads_.empty()) Compute(pos);
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return ready_[pos]; });
      Slot slot = std::move(slots_[pos]);
      lock.unlock();
      if (!slot.error.empty()) {
        const Utterance& u = utts_[order_[pos]];
        Fail(fmt::format("extract: utterance '{}' ({}): {}", u.id, u.wav, slot.error));
      }
      out.push_back(std::move(slot.feats));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      consumed_shards_ = k + 1;
    }
    cv_.notify_all();
    return out;
  }

 private:
  struct Slot {
    torch::Tensor feats;
    std::string error;
  };

  void Compute(int64_t pos) {
    Slot slot;
    try {
      torch::NoGradGuard no_grad;
      slot.feats = m_.Features(LoadUtteranceAudio(utts_[order_[pos]], m_.front_end->SampleRate()));
    } catch (const std::exception& e) {
      slot.error = e.what();
    }
    std::lock_guard<std::mutex> lock(mu_);
    slots_[pos] = std::move(slot);
    ready_[pos] = true;
    cv_.notify_all();
  }

  void Work() {
    SingleThreadedTorch();
    for (;;) {
      const int64_t pos = next_.fetch_add(1);
      if (pos >= static_cast<int64_t>(order_.size())) return;
      {
        // Wait while pos lies more than one shard beyond what the consumer has taken.
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] {
          if (stop_) return true;
          const size_t limit = std::min(consumed_shards_ + 1, shard_end_.size() - 1);
          return pos < shard_end_[limit];
        });
        if (stop_) return;
      }
      Compute(pos);
    }
  }

  const EmbeddingExtractor::Impl& m_;
  const std::vector<Utterance>& utts_;
  const std::vector<Shard>& shards_;
  std::vector<int64_t> order_;      // data-dir indices of the pending utterances
  std::vector<int64_t> shard_end_;  // end position in order_ of each pending shard
  std::vector<Slot> slots_;
  std::vector<bool> ready_;
  std::atomic<int64_t> next_{0};
  size_t consumed_shards_ = 0;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

// The files of an extraction output directory.
struct ExtractPaths {
  explicit ExtractPaths(const std::string& out_dir)
      // The scp names the ark by an absolute path, so that it reads from any working directory.
      : ark(fs::absolute(fs::path(out_dir) / "embeddings.ark").string()),
        scp((fs::path(out_dir) / "embeddings.scp").string()),
        npy((fs::path(out_dir) / "embeddings.npy").string()),
        utts((fs::path(out_dir) / "utts.txt").string()),
        done((fs::path(out_dir) / "extract.done").string()),
        shards((fs::path(out_dir) / "shards").string()) {}
  std::string ark, scp, npy, utts, done, shards;
};

// Keeps the shards of an interrupted run with the same fingerprint; discards any others.
void PrepareShardDir(const std::string& shard_dir, const std::string& fingerprint) {
  if (ReadSmallFile(shard_dir + "/fingerprint") == fingerprint) return;
  if (fs::exists(shard_dir)) {
    spdlog::info("extract: discarding the shards in {} (another checkpoint, options or data)",
                 shard_dir);
  }
  fs::remove_all(shard_dir);
  MakeDirs(shard_dir);
  WriteTextAtomically(shard_dir + "/fingerprint", fingerprint);
}

// The shards still to compute (complete ones are counted in stats.shards_skipped), at most
// cfg.stop_after_shards of them when that is set.
std::vector<Shard> PendingShards(const ExtractConfig& cfg, const std::vector<Utterance>& utts,
                                 int64_t num_shards, int64_t dim, const std::string& shard_dir,
                                 ExtractStats& stats) {
  const int64_t n = static_cast<int64_t>(utts.size());
  std::vector<Shard> pending;
  for (int64_t k = 0; k < num_shards; ++k) {
    const Shard s{k, k * cfg.shard_size, std::min(n, (k + 1) * cfg.shard_size)};
    if (ShardComplete(ShardPath(shard_dir, k), utts, s.begin, s.end, dim)) {
      ++stats.shards_skipped;
    } else {
      pending.push_back(s);
    }
  }
  if (stats.shards_skipped > 0) {
    spdlog::info("extract: resuming: {} of {} shards already done, {} utterances to go",
                 stats.shards_skipped, num_shards, Utterances(pending));
  }
  if (cfg.stop_after_shards > 0 && static_cast<int64_t>(pending.size()) > cfg.stop_after_shards) {
    pending.resize(cfg.stop_after_shards);
  }
  return pending;
}

// The embeddings of one shard's features, in shard order. Utterances of identical frame counts
// are batched (sorted by length, so that they sit side by side); longer than max_frames ones
// are split and averaged, alone. A failure names the utterance(s).
std::vector<torch::Tensor> EmbedShard(const EmbeddingExtractor::Impl& m,
                                      const std::vector<Utterance>& utts, const Shard& shard,
                                      const std::vector<torch::Tensor>& feats, ExtractStats& stats,
                                      ProgressMeter& progress) {
  const ExtractConfig& cfg = m.extract;
  const int64_t count = shard.end - shard.begin;
  std::vector<torch::Tensor> embs(count);
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return feats[a].size(1) < feats[b].size(1); });
  for (int64_t i = 0; i < count;) {
    const int64_t frames = feats[order[i]].size(1);
    int64_t j = i + 1;
    if (frames > cfg.max_frames) {
      int64_t passes = 0;
      try {
        embs[order[i]] = m.EmbedOne(feats[order[i]], &passes);
      } catch (const std::exception& e) {
        const Utterance& u = utts[shard.begin + order[i]];
        Fail(fmt::format("extract: utterance '{}' ({}): {}", u.id, u.wav, e.what()));
      }
      stats.forward_passes += passes;
    } else {
      std::vector<torch::Tensor> batch{feats[order[i]]};
      for (; j < count && j - i < cfg.batch_size && feats[order[j]].size(1) == frames; ++j) {
        batch.push_back(feats[order[j]]);
      }
      torch::Tensor out;
      try {
        out = m.EmbedBatch(batch);
      } catch (const std::exception& e) {
        std::string ids;
        for (int64_t t = i; t < j; ++t) ids += (t > i ? " " : "") + utts[shard.begin + order[t]].id;
        Fail(fmt::format("extract: batch of {} frames ({}): {}", frames, ids, e.what()));
      }
      for (int64_t t = i; t < j; ++t) embs[order[t]] = out[t - i];
      ++stats.forward_passes;
    }
    stats.largest_batch = std::max(stats.largest_batch, j - i);
    progress.Advance(j - i);
    i = j;
  }
  return embs;
}

void WriteShard(const std::string& path, const std::vector<Utterance>& utts, const Shard& shard,
                const std::vector<torch::Tensor>& embs, int64_t dim) {
  kaldi::ArkWriter writer(path, "");
  for (int64_t i = 0; i < shard.end - shard.begin; ++i) {
    const torch::Tensor e = embs[i].contiguous();
    writer.WriteVector(utts[shard.begin + i].id, e.data_ptr<float>(), dim);
  }
  writer.Close();
}

// Merges the shards in data-dir order into the final ark/scp (and npy + utts.txt).
void MergeShards(const ExtractPaths& paths, int64_t num_shards, int64_t n, int64_t dim,
                 bool write_npy) {
  kaldi::ArkWriter writer(paths.ark, paths.scp);
  std::vector<float> all;
  std::string utt_list;
  if (write_npy) all.reserve(static_cast<size_t>(n * dim));
  for (int64_t k = 0; k < num_shards; ++k) {
    kaldi::ForEachInArk(ShardPath(paths.shards, k),
                        [&](const std::string& key, const kaldi::FloatMatrix& e) {
                          writer.WriteVector(key, e.data.data(), dim);
                          if (write_npy) {
                            all.insert(all.end(), e.data.begin(), e.data.end());
                            utt_list += key + "\n";
                          }
                        });
  }
  SN_CHECK(writer.num_written() == n, "extract: the shards in {} hold {} of {} utterances",
           paths.shards, writer.num_written(), n);
  writer.Close();
  if (write_npy) {
    kaldi::WriteNpy(paths.npy, all.data(), {n, dim});
    WriteTextAtomically(paths.utts, utt_list);
  }
}

}  // namespace

ExtractStats ExtractDataDir(const EmbeddingExtractor& extractor, const DataDir& data,
                            const std::string& out_dir) {
  const EmbeddingExtractor::Impl& m = extractor.impl();
  const ExtractConfig& cfg = m.extract;
  const auto& utts = data.utterances();
  const int64_t n = data.NumUtterances();
  const int64_t dim = extractor.dim();
  ExtractStats stats;
  MakeDirs(out_dir);
  const ExtractPaths paths(out_dir);
  const std::string fingerprint = Fingerprint(m, data);

  if (ReadSmallFile(paths.done) == fingerprint && fs::exists(paths.ark) && fs::exists(paths.scp) &&
      (!cfg.write_npy || fs::exists(paths.npy))) {
    spdlog::info("extract: {} is up to date ({} embeddings); nothing to do", paths.scp, n);
    stats.complete = stats.up_to_date = true;
    return stats;
  }
  // From here on the final files may be replaced: they are no longer "done".
  fs::remove(paths.done);
  PrepareShardDir(paths.shards, fingerprint);

  const int64_t num_shards = (n + cfg.shard_size - 1) / cfg.shard_size;
  const std::vector<Shard> pending = PendingShards(cfg, utts, num_shards, dim, paths.shards, stats);
  {
    ProgressMeter progress("extract", Utterances(pending), "utts");
    FeaturePipeline pipeline(m, utts, pending, cfg.num_workers);
    for (size_t k = 0; k < pending.size(); ++k) {
      const std::vector<torch::Tensor> embs =
          EmbedShard(m, utts, pending[k], pipeline.TakeShard(k), stats, progress);
      WriteShard(ShardPath(paths.shards, pending[k].index), utts, pending[k], embs, dim);
      stats.utterances += pending[k].end - pending[k].begin;
      ++stats.shards_done;
    }
    progress.Finish();
  }
  if (stats.shards_done + stats.shards_skipped < num_shards) {
    spdlog::info(
        "extract: stopped after {} shard(s) (stop_after_shards); {} of {} shards done; "
        "run again to continue",
        stats.shards_done, stats.shards_done + stats.shards_skipped, num_shards);
    return stats;
  }
  MergeShards(paths, num_shards, n, dim, cfg.write_npy);
  WriteTextAtomically(paths.done, fingerprint);
  fs::remove_all(paths.shards);
  stats.complete = true;
  spdlog::info("extract: wrote {} embeddings of dim {} to {} ({} forward passes, largest batch {})",
               n, dim, paths.scp, stats.forward_passes, stats.largest_batch);
  return stats;
}

}  // namespace speakernet
