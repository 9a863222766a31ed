#include "speakernet/data/chunk_loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace speakernet {

namespace {

// Stream tags keep the plan RNG and the per-batch RNGs independent even for equal numbers.
constexpr int64_t kPlanStream = 1, kBatchStream = 2;

// Seeds from 64-bit values split into the 32-bit words std::seed_seq consumes (seed_seq and
// mt19937_64 are fully specified by the standard, so plans are the same everywhere).
std::mt19937_64 MakeRng(std::initializer_list<int64_t> values) {
  std::vector<uint32_t> words;
  for (const int64_t v : values) {
    words.push_back(static_cast<uint32_t>(static_cast<uint64_t>(v)));
    words.push_back(static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32));
  }
  std::seed_seq seq(words.begin(), words.end());
  return std::mt19937_64(seq);
}

// Uniform integer in [0, n) by rejection. std::uniform_int_distribution is avoided on purpose:
// its algorithm differs between standard libraries, which would make plans unportable.
int64_t UniformBelow(std::mt19937_64& rng, int64_t n) {
  const uint64_t un = static_cast<uint64_t>(n);
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t rem = (max % un + 1) % un;  // 2^64 mod n: the biased tail to reject
  for (;;) {
    const uint64_t x = rng();
    if (x <= max - rem) return static_cast<int64_t>(x % un);
  }
}

}  // namespace

struct ChunkLoader::Epoch {
  int64_t epoch = 0;
  std::vector<int64_t> order;  // utterance index per slot, shuffled
};

void LoaderConfig::Validate() const {
  SN_CHECK(batch_size > 0, "loader.batch_size must be > 0, got {}", batch_size);
  SN_CHECK(chunk_seconds > 0, "loader.chunk_seconds must be > 0, got {}", chunk_seconds);
  SN_CHECK(num_workers > 0, "loader.num_workers must be > 0, got {}", num_workers);
  SN_CHECK(prefetch_batches > 0, "loader.prefetch_batches must be > 0, got {}", prefetch_batches);
  SN_CHECK(sample_rate > 0, "loader.sample_rate must be > 0, got {}", sample_rate);
}

ChunkLoader::ChunkLoader(const DataDir& data, const LoaderConfig& config)
    : config_(config), utts_(data.utterances()) {
  config_.Validate();
  chunk_samples_ = static_cast<int64_t>((config_.chunk_seconds + 0.015) * config_.sample_rate);
  num_speakers_ = static_cast<int>(data.speakers().size());
  for (size_t i = 0; i < utts_.size(); ++i) {
    const Utterance& u = utts_[i];
    labels_.push_back(data.SpeakerIndex(u.speaker));
    samples_.push_back(UtteranceSamples(u, config_.sample_rate));
    SN_CHECK(samples_.back() > 0, "utterance {} is empty ({})", u.id, u.wav);
    const auto n = std::max<int64_t>(1, static_cast<int64_t>(u.duration / config_.chunk_seconds));
    slots_.insert(slots_.end(), n, static_cast<int64_t>(i));
  }
  SN_CHECK(BatchesPerEpoch() > 0, "{}: {} chunk slots of {} s do not fill one batch of {}",
           data.dir(), slots_.size(), config_.chunk_seconds, config_.batch_size);
  for (int w = 0; w < config_.num_workers; ++w) workers_.emplace_back([this] { WorkerLoop(); });
}

ChunkLoader::~ChunkLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

int64_t ChunkLoader::BatchesPerEpoch() const {
  return static_cast<int64_t>(slots_.size()) / config_.batch_size;  // drop_last
}

std::vector<int64_t> ChunkLoader::ShuffledSlots(int64_t epoch) const {
  std::vector<int64_t> order = slots_;
  auto rng = MakeRng({config_.seed, epoch, kPlanStream});
  for (size_t i = order.size(); i > 1; --i) {  // Fisher-Yates
    std::swap(order[i - 1], order[UniformBelow(rng, static_cast<int64_t>(i))]);
  }
  return order;
}

std::vector<ChunkPlan> ChunkLoader::PlanFor(const Epoch& epoch, int64_t index) const {
  auto rng = MakeRng({config_.seed, epoch.epoch, index, kBatchStream});
  const int64_t chunk = chunk_samples_;
  std::vector<ChunkPlan> plans(config_.batch_size);
  for (int i = 0; i < config_.batch_size; ++i) {
    ChunkPlan& p = plans[i];
    p.utterance = epoch.order[index * config_.batch_size + i];
    const int64_t len = samples_[p.utterance];
    if (len >= chunk) {
      p.offset = UniformBelow(rng, len - chunk + 1);
      p.length = chunk;
    } else {
      const int64_t r = chunk % len;
      p.length = len;
      p.wrap_offset = r == 0 ? 0 : UniformBelow(rng, len - r + 1);
    }
  }
  return plans;
}

std::vector<ChunkPlan> ChunkLoader::PlanBatch(int64_t epoch, int64_t index) const {
  SN_CHECK(index >= 0 && index < BatchesPerEpoch(), "batch index {} outside [0, {})", index,
           BatchesPerEpoch());
  return PlanFor(Epoch{epoch, ShuffledSlots(epoch)}, index);
}

// Reads one chunk into `row` (chunk_samples_ floats), wrap-padding short utterances.
void ChunkLoader::FillRow(const ChunkPlan& p, float* row) const {
  const auto audio =
      LoadUtteranceAudio(utts_[p.utterance], config_.sample_rate, p.offset, p.length);
  const int64_t len = p.length;
  SN_CHECK(static_cast<int64_t>(audio.size()) == len, "utterance {}: read {} of {} samples",
           utts_[p.utterance].id, audio.size(), len);
  int64_t pos = 0;
  for (; pos + len <= chunk_samples_; pos += len) std::memcpy(row + pos, audio.data(), len * 4);
  std::memcpy(row + pos, audio.data() + p.wrap_offset, (chunk_samples_ - pos) * 4);
}

ChunkLoader::Result ChunkLoader::Produce(const Epoch& epoch, int64_t index) const {
  Result result;
  try {
    const auto plans = PlanFor(epoch, index);
    const int64_t b = config_.batch_size;
    auto waves = torch::empty({b, chunk_samples_}, torch::kFloat32);
    auto labels = torch::empty({b}, torch::kInt64);
    float* data = waves.data_ptr<float>();
    int64_t* label = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < b; ++i) {
      FillRow(plans[i], data + i * chunk_samples_);
      label[i] = labels_[plans[i].utterance];
    }
    result.batch = Batch{waves, labels, index, 0.0};
  } catch (const std::exception& e) {
    result.error = fmt::format("loading batch {} of epoch {}: {}", index, epoch.epoch, e.what());
  } catch (...) {
    result.error =
        fmt::format("loading batch {} of epoch {}: unknown exception", index, epoch.epoch);
  }
  return result;
}

void ChunkLoader::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_cv_.wait(lock, [this] {
      return stop_ ||
             (epoch_ && next_claim_ < end_ && next_claim_ < next_out_ + config_.prefetch_batches);
    });
    if (stop_) return;
    const int64_t index = next_claim_++;
    const auto epoch = epoch_;  // keeps the plan alive if StartEpoch replaces it meanwhile
    const uint64_t generation = generation_;
    lock.unlock();
    Result result = Produce(*epoch, index);
    lock.lock();
    if (generation == generation_) {
      ready_.emplace(index, std::move(result));
      ready_cv_.notify_all();
    }
  }
}

void ChunkLoader::StartEpoch(int64_t epoch, int64_t start_batch) {
  SN_CHECK(epoch >= 0, "epoch must be >= 0, got {}", epoch);
  SN_CHECK(start_batch >= 0 && start_batch <= BatchesPerEpoch(),
           "start batch {} outside [0, {}] for epoch {}", start_batch, BatchesPerEpoch(), epoch);
  auto state = std::make_shared<const Epoch>(Epoch{epoch, ShuffledSlots(epoch)});
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    ready_.clear();
    epoch_ = std::move(state);
    next_claim_ = next_out_ = start_batch;
    end_ = BatchesPerEpoch();
  }
  work_cv_.notify_all();
}

std::optional<Batch> ChunkLoader::Next() {
  std::unique_lock<std::mutex> lock(mutex_);
  SN_CHECK(epoch_ != nullptr, "ChunkLoader::Next() called before StartEpoch()");
  if (next_out_ >= end_) return std::nullopt;
  const auto start = std::chrono::steady_clock::now();
  ready_cv_.wait(lock, [this] { return ready_.count(next_out_) > 0; });
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Result result = std::move(ready_.extract(next_out_).mapped());
  ++next_out_;
  if (!result.error.empty()) {
    // End the epoch: nothing after a failed batch would be the batch the caller expects.
    ++generation_;
    ready_.clear();
    next_claim_ = next_out_ = end_;
  }
  lock.unlock();
  work_cv_.notify_all();
  if (!result.error.empty()) throw Error(result.error);
  result.batch.wait_seconds = waited;
  return std::move(result.batch);
}

}  // namespace speakernet
