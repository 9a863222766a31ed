#include "speakernet/data/chunk_loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <spdlog/spdlog.h>

#include "speakernet/augmentation/vad.h"
#include "speakernet/common/progress.h"
#include "speakernet/data/seeded_rng.h"

namespace speakernet {

namespace {

// Stream tags keep the plan RNG and the per-batch RNGs independent even for equal numbers.
constexpr int64_t kPlanStream = 1, kBatchStream = 2, kItemStream = 3, kBalancedStream = 4,
                  kValidationStream = 5, kPairedStream = 6;

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

// Partial Fisher-Yates: the first k of a random permutation of 0..n-1.
std::vector<int64_t> SampleWithoutReplacement(std::mt19937_64& rng, int64_t n, int64_t k) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  for (int64_t i = 0; i < k; ++i) std::swap(v[i], v[i + UniformBelow(rng, n - i)]);
  v.resize(k);
  return v;
}

}  // namespace

uint64_t MixSeed(std::initializer_list<int64_t> values) { return MakeRng(values)(); }

std::vector<std::pair<int64_t, int64_t>> FixedChunkPositions(int64_t samples, double chunk_seconds,
                                                             double min_chunk_seconds,
                                                             double overlap,
                                                             double drop_last_seconds,
                                                             int sample_rate) {
  // The expressions of speaker-net's WaveformSamples, in the same floating-point order.
  constexpr double kFrameOverlap = 0.015;
  const double sr = sample_rate;
  const auto chunk = static_cast<int64_t>((chunk_seconds + kFrameOverlap) * sr);
  const auto min_chunk = static_cast<int64_t>((min_chunk_seconds + kFrameOverlap) * sr);
  const int64_t overlap_size =
      overlap == 0 ? 0 : static_cast<int64_t>(overlap * chunk_seconds * sr + kFrameOverlap * sr);
  const auto drop_last = static_cast<int64_t>((drop_last_seconds + kFrameOverlap) * sr);
  const int64_t hop = chunk - overlap_size;
  std::vector<std::pair<int64_t, int64_t>> out;
  if (samples < chunk) {
    if (samples >= min_chunk) out.emplace_back(0, samples);
    return out;
  }
  int64_t offset = 0;
  for (; offset + chunk <= samples; offset += hop) out.emplace_back(offset, chunk);
  if (offset + drop_last < samples) out.emplace_back(samples - chunk, chunk);
  return out;
}

struct ChunkLoader::Epoch {
  int64_t epoch = 0;
  std::vector<int64_t> order;  // chunk index per slot, shuffled (sampler "shuffle")
  WaveAugmenter::EpochPools pools;
};

void LoaderConfig::Validate() const {
  SN_CHECK(batch_size > 0, "loader.batch_size must be > 0, got {}", batch_size);
  SN_CHECK(chunk_seconds > 0, "loader.chunk_seconds must be > 0, got {}", chunk_seconds);
  SN_CHECK(num_workers > 0, "loader.num_workers must be > 0, got {}", num_workers);
  SN_CHECK(prefetch_batches > 0, "loader.prefetch_batches must be > 0, got {}", prefetch_batches);
  SN_CHECK(sample_rate > 0, "loader.sample_rate must be > 0, got {}", sample_rate);
  SN_CHECK(chunking == "random" || chunking == "fixed",
           "loader.chunking must be random or fixed, got '{}'", chunking);
  SN_CHECK(overlap >= 0 && overlap < 1, "loader.overlap must be in [0, 1), got {}", overlap);
  SN_CHECK(min_chunk_seconds > 0, "loader.min_chunk_seconds must be > 0, got {}",
           min_chunk_seconds);
  SN_CHECK(drop_last_seconds >= 0, "loader.drop_last_seconds must be >= 0, got {}",
           drop_last_seconds);
  SN_CHECK(amp_th >= 0, "loader.amp_th must be >= 0, got {}", amp_th);
  SN_CHECK(amp_th == 0 || chunking == "fixed",
           "loader.amp_th filters fixed chunks: set loader.chunking=fixed (or amp_th=0)");
  SN_CHECK(sampler == "shuffle" || sampler == "balanced" || sampler == "paired",
           "loader.sampler must be shuffle, balanced or paired, got '{}'", sampler);
  if (sampler == "paired") {
    SN_CHECK(batch_size % 2 == 0,
             "loader.sampler=paired: batch_size counts waveforms (2 per pair) and must be even, "
             "got {}",
             batch_size);
    SN_CHECK(paired_other_lang_prob >= 0 && paired_other_lang_prob <= 1,
             "loader.paired_other_lang_prob must be in [0, 1], got {}", paired_other_lang_prob);
  }
  if (sampler == "balanced") {
    SN_CHECK(speakers_per_batch > 0 && chunks_per_speaker > 0 &&
                 speakers_per_batch * chunks_per_speaker == batch_size,
             "loader.sampler=balanced needs speakers_per_batch ({}) x chunks_per_speaker ({}) "
             "== batch_size ({})",
             speakers_per_batch, chunks_per_speaker, batch_size);
    SN_CHECK(balanced_batches_per_epoch >= -1,
             "loader.balanced_batches_per_epoch must be >= -1, got {}", balanced_batches_per_epoch);
  }
  SN_CHECK(validation_speakers >= 0, "loader.validation_speakers must be >= 0, got {}",
           validation_speakers);
  SN_CHECK(validation_chunks_per_speaker > 0,
           "loader.validation_chunks_per_speaker must be > 0, got {}",
           validation_chunks_per_speaker);
  SN_CHECK(validation_batch_size > 0, "loader.validation_batch_size must be > 0, got {}",
           validation_batch_size);
  augment.Validate();
}

ChunkLoader::ChunkLoader(const DataDir& data, const LoaderConfig& config)
    : config_(config), utts_(data.utterances()) {
  Init(data);
  BuildChunks(data);
  SplitValidation();
  if (config_.sampler == "balanced") {
    speaker_chunks_.assign(num_speakers_, {});
    for (size_t c = 0; c < chunks_.size(); ++c) {
      speaker_chunks_[labels_[chunks_[c].utterance]].push_back(static_cast<int64_t>(c));
    }
    int with_chunks = 0;
    for (const auto& v : speaker_chunks_) with_chunks += !v.empty();
    SN_CHECK(with_chunks >= config_.speakers_per_batch,
             "{}: loader.speakers_per_batch is {} but only {} speakers have chunks", data.dir(),
             config_.speakers_per_batch, with_chunks);
  }
  if (config_.sampler == "paired") BuildPairedSampler(data);
  if (config_.augment.Enabled()) {
    augmenter_ = std::make_unique<WaveAugmenter>(config_.augment, config_.sample_rate);
  }
  SN_CHECK(BatchesPerEpoch() > 0, "{}: {} chunk slots of {} s do not fill one batch of {}",
           data.dir(), chunks_.size(), config_.chunk_seconds, config_.batch_size);
  for (int w = 0; w < config_.num_workers; ++w) workers_.emplace_back([this] { WorkerLoop(); });
}

ChunkLoader::ChunkLoader(const DataDir& data, const LoaderConfig& config, std::vector<Chunk> chunks)
    : config_(config), utts_(data.utterances()) {
  Init(data);
  validation_loader_ = true;
  chunks_ = std::move(chunks);
  for (const Chunk& c : chunks_) {
    SN_CHECK(c.utterance >= 0 && c.utterance < static_cast<int64_t>(utts_.size()) &&
                 c.offset >= 0 && c.length > 0 && c.length <= chunk_samples_,
             "{}: validation chunk of utterance #{} is not a fixed chunk of this data dir",
             data.dir(), c.utterance);
  }
  SN_CHECK(!chunks_.empty(), "{}: empty validation chunk list", data.dir());
  for (int w = 0; w < config_.num_workers; ++w) workers_.emplace_back([this] { WorkerLoop(); });
}

void ChunkLoader::Init(const DataDir& data) {
  config_.Validate();
  chunk_samples_ = static_cast<int64_t>((config_.chunk_seconds + 0.015) * config_.sample_rate);
  num_speakers_ = static_cast<int>(data.speakers().size());
  for (const Utterance& u : utts_) {
    labels_.push_back(data.SpeakerIndex(u.speaker));
    samples_.push_back(UtteranceSamples(u, config_.sample_rate));
    SN_CHECK(samples_.back() > 0, "utterance {} is empty ({})", u.id, u.wav);
  }
}

void ChunkLoader::BuildChunks(const DataDir& data) {
  if (config_.chunking == "random") {
    for (size_t i = 0; i < utts_.size(); ++i) {
      const auto n =
          std::max<int64_t>(1, static_cast<int64_t>(utts_[i].duration / config_.chunk_seconds));
      for (int64_t c = 0; c < n; ++c) chunks_.push_back(Chunk{static_cast<int64_t>(i), -1, 0, c});
    }
    return;
  }
  int64_t silent = 0, skipped = 0;
  ProgressMeter progress("egs", static_cast<int64_t>(utts_.size()), "utterances");
  for (size_t i = 0; i < utts_.size(); ++i) {
    const auto positions =
        FixedChunkPositions(samples_[i], config_.chunk_seconds, config_.min_chunk_seconds,
                            config_.overlap, config_.drop_last_seconds, config_.sample_rate);
    skipped += positions.empty();
    std::vector<float> audio;
    if (config_.amp_th > 0 && !positions.empty()) {
      audio = LoadUtteranceAudio(utts_[i], config_.sample_rate);
      SN_CHECK(static_cast<int64_t>(audio.size()) >= positions.back().first + positions.back().second,
               "utterance {}: audio has {} samples, utt2dur says {}", utts_[i].id, audio.size(),
               samples_[i]);
    }
    int64_t counter = 0;
    for (const auto& [offset, length] : positions) {
      const int64_t c = counter++;
      if (!audio.empty() && IsSilentChunk(audio.data() + offset, length, config_.amp_th)) {
        ++silent;
        continue;
      }
      chunks_.push_back(Chunk{static_cast<int64_t>(i), offset, length, c});
    }
    progress.Advance();
  }
  spdlog::info("{}: {} fixed chunks of {} samples; {} utterances too short, {} silent chunks "
               "dropped (amp_th {})",
               data.dir(), chunks_.size(), chunk_samples_, skipped, silent, config_.amp_th);
}

void ChunkLoader::SplitValidation() {
  if (config_.validation_speakers == 0) return;
  std::vector<std::vector<int64_t>> by_speaker(num_speakers_);
  for (size_t c = 0; c < chunks_.size(); ++c) {
    by_speaker[labels_[chunks_[c].utterance]].push_back(static_cast<int64_t>(c));
  }
  std::vector<int64_t> candidates;
  for (int s = 0; s < num_speakers_; ++s) {
    if (!by_speaker[s].empty()) candidates.push_back(s);
  }
  SN_CHECK(config_.validation_speakers <= static_cast<int64_t>(candidates.size()),
           "loader.validation_speakers is {} but only {} speakers have chunks",
           config_.validation_speakers, candidates.size());
  auto rng = MakeRng({config_.seed, kValidationStream});
  auto picked = SampleWithoutReplacement(rng, static_cast<int64_t>(candidates.size()),
                                         config_.validation_speakers);
  for (auto& p : picked) p = candidates[p];
  std::sort(picked.begin(), picked.end());  // validation list sorted by speaker label
  std::vector<char> drop(chunks_.size(), 0);
  for (const int64_t s : picked) {
    const auto& mine = by_speaker[s];
    const int64_t k =
        std::min<int64_t>(config_.validation_chunks_per_speaker, static_cast<int64_t>(mine.size()));
    for (const int64_t j : SampleWithoutReplacement(rng, static_cast<int64_t>(mine.size()), k)) {
      Chunk v = chunks_[mine[j]];
      if (v.offset < 0) {  // random chunking: a fixed centre crop for validation
        const int64_t len = samples_[v.utterance];
        v.length = std::min(len, chunk_samples_);
        v.offset = (len - v.length) / 2;
      }
      validation_.push_back(v);
    }
  }
  // Remove the validation chunks and what overlaps them from training.
  for (size_t c = 0; c < chunks_.size(); ++c) {
    for (const Chunk& v : validation_) {
      if (chunks_[c].utterance != v.utterance) continue;
      // speaker-net drops counter +-1; overlapping ranges are dropped too, because a tail chunk
      // can also overlap counter - 2 and the split must be disjoint.
      const Chunk& t = chunks_[c];
      const bool overlaps = t.offset < v.offset + v.length && v.offset < t.offset + t.length;
      if (config_.chunking == "random" || std::llabs(t.counter - v.counter) <= 1 || overlaps) {
        drop[c] = 1;
      }
    }
  }
  std::vector<Chunk> kept;
  for (size_t c = 0; c < chunks_.size(); ++c) {
    if (!drop[c]) kept.push_back(chunks_[c]);
  }
  spdlog::info("validation split: {} speakers, {} chunks held out, {} training chunks removed",
               picked.size(), validation_.size(), chunks_.size() - kept.size());
  chunks_ = std::move(kept);
}

void ChunkLoader::BuildPairedSampler(const DataDir& data) {
  SN_CHECK(data.HasLanguages(),
           "{}: loader.sampler=paired needs an utt2lang file (`utt language` per line) in the data "
           "dir",
           data.dir());
  std::map<std::string, int> language_index;
  for (const Utterance& u : utts_) language_index.emplace(u.language, 0);
  int next = 0;
  for (auto& [language, index] : language_index) index = next++;
  std::vector<int> speaker, language;
  for (const Chunk& c : chunks_) {
    speaker.push_back(static_cast<int>(labels_[c.utterance]));
    language.push_back(language_index.at(utts_[c.utterance].language));
  }
  paired_ = std::make_unique<PairedSampler>(speaker, language, data.speakers(),
                                            config_.paired_other_lang_prob);
  spdlog::info("paired sampler: {} languages, {} of {} speakers with chunks in several; p = {}",
               language_index.size(), paired_->MultilingualSpeakers(), num_speakers_,
               config_.paired_other_lang_prob);
}

int64_t ChunkLoader::NumClasses() const {
  return static_cast<int64_t>(num_speakers_) * config_.augment.LabelMultiplier();
}

int64_t ChunkLoader::BatchSize() const {
  if (!validation_loader_) return config_.batch_size;
  return std::min<int64_t>(config_.validation_batch_size, static_cast<int64_t>(chunks_.size()));
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
  const auto n = static_cast<int64_t>(chunks_.size());
  if (validation_loader_) return (n + BatchSize() - 1) / BatchSize();  // keeps the last one
  if (config_.sampler == "balanced" && config_.balanced_batches_per_epoch > 0) {
    return config_.balanced_batches_per_epoch;
  }
  if (config_.sampler == "balanced" && config_.balanced_batches_per_epoch == -1) {
    // speaker-net's SpeakerAwareSampler: max chunks of one class x classes items, drop_last.
    size_t most = 0;
    for (const auto& v : speaker_chunks_) most = std::max(most, v.size());
    return static_cast<int64_t>(most) * NumClasses() / config_.batch_size;
  }
  if (Paired()) return n / (config_.batch_size / 2);  // every chunk leads one pair; drop_last
  return n / config_.batch_size;  // drop_last
}

std::vector<int64_t> ChunkLoader::ShuffledSlots(int64_t epoch) const {
  std::vector<int64_t> order(chunks_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  if (validation_loader_ || config_.sampler == "balanced") return order;
  auto rng = MakeRng({config_.seed, epoch, kPlanStream});
  for (size_t i = order.size(); i > 1; --i) {  // Fisher-Yates
    std::swap(order[i - 1], order[UniformBelow(rng, static_cast<int64_t>(i))]);
  }
  return order;
}

// N distinct speakers, M chunks each: without replacement within a speaker while it has enough,
// else its chunks cycled in a random order.
std::vector<int64_t> ChunkLoader::BalancedBatch(int64_t epoch, int64_t index) const {
  auto rng = MakeRng({config_.seed, epoch, index, kBalancedStream});
  std::vector<int64_t> speakers;
  for (size_t s = 0; s < speaker_chunks_.size(); ++s) {
    if (!speaker_chunks_[s].empty()) speakers.push_back(static_cast<int64_t>(s));
  }
  std::vector<int64_t> out;
  for (const int64_t j : SampleWithoutReplacement(rng, static_cast<int64_t>(speakers.size()),
                                                  config_.speakers_per_batch)) {
    const auto& mine = speaker_chunks_[speakers[j]];
    const auto n = static_cast<int64_t>(mine.size());
    const auto perm = SampleWithoutReplacement(rng, n, n);
    for (int m = 0; m < config_.chunks_per_speaker; ++m) out.push_back(mine[perm[m % n]]);
  }
  return out;
}

// Pairs j = 0 .. B/2 - 1 in rows 2j, 2j + 1: the epoch's next first member and its partner.
std::vector<int64_t> ChunkLoader::PairedBatch(const Epoch& epoch, int64_t index) const {
  auto rng = MakeRng({config_.seed, epoch.epoch, index, kPairedStream});
  const int64_t pairs = config_.batch_size / 2;
  std::vector<int64_t> out;
  for (int64_t j = 0; j < pairs; ++j) {
    const int64_t first = epoch.order[index * pairs + j];
    out.push_back(first);
    out.push_back(paired_->Partner(first, rng));
  }
  return out;
}

// The chunk indices of batch `index`, one per row.
std::vector<int64_t> ChunkLoader::PickChunks(const Epoch& epoch, int64_t index) const {
  if (validation_loader_ || config_.sampler == "shuffle") {
    const int64_t first = index * BatchSize();
    const int64_t b = std::min<int64_t>(BatchSize(), static_cast<int64_t>(chunks_.size()) - first);
    return std::vector<int64_t>(epoch.order.begin() + first, epoch.order.begin() + first + b);
  }
  if (Paired()) return PairedBatch(epoch, index);
  return BalancedBatch(epoch.epoch, index);
}

std::vector<ChunkPlan> ChunkLoader::PlanFor(const Epoch& epoch, int64_t index) const {
  auto rng = MakeRng({config_.seed, epoch.epoch, index, kBatchStream});
  const int64_t chunk = chunk_samples_;
  const std::vector<int64_t> picked = PickChunks(epoch, index);
  std::vector<ChunkPlan> plans(picked.size());
  for (size_t i = 0; i < picked.size(); ++i) {
    ChunkPlan& p = plans[i];
    const Chunk& c = chunks_[picked[i]];
    p.utterance = c.utterance;
    const int64_t len = c.offset >= 0 ? c.length : samples_[p.utterance];
    if (c.offset >= 0) {  // fixed position; only a short chunk needs a (wrap) draw
      p.offset = c.offset;
      p.length = c.length;
      const int64_t r = chunk % len;
      if (len < chunk && r != 0) p.wrap_offset = UniformBelow(rng, len - r + 1);
    } else if (len >= chunk) {
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
  return PlanFor(*MakeEpoch(epoch), index);
}

std::shared_ptr<const ChunkLoader::Epoch> ChunkLoader::MakeEpoch(int64_t epoch) const {
  auto e = std::make_shared<Epoch>();
  e->epoch = epoch;
  e->order = ShuffledSlots(epoch);
  if (augmenter_) e->pools = augmenter_->ForEpoch(config_.seed, epoch);
  return e;
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
    const auto global_b = static_cast<int64_t>(plans.size());
    // This rank's rows of the global batch (all of them without sharding).
    const int64_t lo = global_b * shard_rank_ / shard_world_;
    const int64_t hi = global_b * (shard_rank_ + 1) / shard_world_;
    auto waves = torch::empty({hi - lo, chunk_samples_}, torch::kFloat32);
    auto labels = torch::empty({hi - lo}, torch::kInt64);
    float* data = waves.data_ptr<float>();
    int64_t* label = labels.data_ptr<int64_t>();
    double first_speed = 1.0;  // paired: the speed of the pair's first chunk (row i - 1)
    for (int64_t i = lo; i < hi; ++i) {
      label[i - lo] = labels_[plans[i].utterance];
      if (!augmenter_) {
        FillRow(plans[i], data + (i - lo) * chunk_samples_);
        continue;
      }
      // Augmented: read -> speed -> corruption -> crop/pad, all draws from the item's own RNG.
      const ChunkPlan& p = plans[i];
      std::vector<float> x =
          LoadUtteranceAudio(utts_[p.utterance], config_.sample_rate, p.offset, p.length);
      SN_CHECK(static_cast<int64_t>(x.size()) == p.length, "utterance {}: read {} of {} samples",
               utts_[p.utterance].id, x.size(), p.length);
      auto rng = MakeRng({config_.seed, epoch.epoch, index, i, kItemStream});
      try {
        const bool second = Paired() && i % 2 == 1;
        const AugmentDraw draw =
            augmenter_->Apply(x, epoch.pools, index * BatchSize() + i, rng,
                              second ? std::optional<double>(first_speed) : std::nullopt);
        first_speed = draw.speed;
        label[i - lo] += static_cast<int64_t>(draw.label_offset) * num_speakers_;
      } catch (const std::exception& e) {
        throw Error(fmt::format("utterance {}: augmentation: {}", utts_[p.utterance].id, e.what()));
      }
      const std::vector<float> row = PadOrTruncate(x, chunk_samples_, rng);
      std::memcpy(data + (i - lo) * chunk_samples_, row.data(), chunk_samples_ * sizeof(float));
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

void ChunkLoader::SetShard(int rank, int world) {
  SN_CHECK(!validation_loader_, "SetShard: validation loaders are not sharded");
  SN_CHECK(world >= 1 && rank >= 0 && rank < world, "SetShard: rank {} of world size {}", rank,
           world);
  SN_CHECK(config_.batch_size % world == 0,
           "loader.batch_size ({}) is the global batch and must be divisible by the world size {}",
           config_.batch_size, world);
  SN_CHECK(
      !Paired() || (config_.batch_size / 2) % world == 0,
      "loader.sampler=paired: the {} pairs of a batch (batch_size {}) must be divisible by the "
      "world size {}, so that no pair is split over ranks",
      config_.batch_size / 2, config_.batch_size, world);
  std::lock_guard<std::mutex> lock(mutex_);
  SN_CHECK(epoch_ == nullptr, "SetShard must be called before StartEpoch");
  shard_rank_ = rank;
  shard_world_ = world;
}

void ChunkLoader::StartEpoch(int64_t epoch, int64_t start_batch) {
  SN_CHECK(epoch >= 0, "epoch must be >= 0, got {}", epoch);
  SN_CHECK(start_batch >= 0 && start_batch <= BatchesPerEpoch(),
           "start batch {} outside [0, {}] for epoch {}", start_batch, BatchesPerEpoch(), epoch);
  auto state = MakeEpoch(epoch);
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
