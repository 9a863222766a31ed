// Fixed-length training chunks, batched, produced by a pool of worker threads.
//
// Chunk list ("egs"), chosen by `chunking`:
//   random  every utterance owns max(1, floor(duration / chunk_seconds)) slots, each a uniformly
//           random crop drawn anew every epoch (the default);
//   fixed   speaker-net's sequential egs (spec §1.2): positions fixed once, chunk_size samples
//           every chunk_size - overlap_size, plus a tail chunk, short utterances kept whole
//           when >= min_chunk_seconds. With amp_th > 0 chunks with mean |x| < amp_th are
//           dropped at construction (speaker-net's egs-time energy gate, spec §1.3).
// Optionally validation_speakers speakers give validation_chunks_per_speaker chunks each to a
// held-out validation list (ValidationChunks()); they and their neighbours (fixed chunking:
// chunk counter +-1 of the same utterance, since chunks overlap; random chunking: the whole
// utterance) leave the training list. Labels keep DataDir::SpeakerIndex in both lists.
//
// Epoch plan (sampler "shuffle"): the chunk list is shuffled with an RNG seeded from
// (seed, epoch) and cut into consecutive batches, dropping the incomplete last one. Sampler
// "balanced": batch k holds speakers_per_batch distinct speakers x chunks_per_speaker chunks,
// drawn from an RNG seeded from (seed, epoch, k). Sampler "paired" (speaker-net's
// PairedWaveDataset, data/paired_sampler.h; needs utt2lang): the shuffled list is cut into
// groups of batch_size / 2 first members, and each gets a partner chunk of the same speaker
// drawn from an RNG seeded from (seed, epoch, k); rows 2j and 2j + 1 of the batch are pair j
// (speaker-net's [B, 2, T] reshaped to [2B, T]), with the same label, and with augmentation the
// second chunk gets the first one's speed factor. batch_size counts waveforms (2 per pair), so
// an epoch has floor(chunks / (batch_size / 2)) batches and every chunk is a first member once.
// The random content of batch k (chunk offsets,
// wrap-padding offsets) comes from an RNG seeded from (seed, epoch, k), and with augmentation
// every item has its own RNG seeded from (seed, epoch, k, item) while noise pools are ordered by
// a permutation seeded from (seed, epoch) (see data/wave_augmenter.h). Hence batches do not
// depend on the number of workers or on timing, and StartEpoch(e, k) reproduces bit for bit the
// batches k, k+1, ... of an uninterrupted epoch e, which is what exact resume after a checkpoint
// needs.
//
// With augmentation (loader.augment, off by default) an item is: read the chunk -> speed
// perturbation -> environment corruption -> random crop / wrap pad to chunk length (speaker-net
// WaveDataset order); its label is speaker + SpeedLabelOffset(speed) * num_speakers.
//
// Chunk length is int((chunk_seconds + 0.015) * sample_rate): the extra 15 ms (window - hop)
// yields exactly chunk_seconds / 10 ms fbank frames. An utterance at least that long gives a
// uniformly random crop; a shorter one is read whole and wrap-padded: repeated k times, then a
// random contiguous piece of length r (reference `_pad_or_truncate`, see the spec §1.2).
//
// Cost note: a chunk of a plain file at the target rate decodes only the chunk; a pipe runs its
// command and a file at another rate is resampled whole for every chunk taken from it. The same
// holds for noise/RIR files unless loader.augment.preload is set.
// Next() and StartEpoch() are meant for one consumer thread.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "speakernet/common/error.h"
#include "speakernet/data/data_dir.h"
#include "speakernet/data/paired_sampler.h"
#include "speakernet/data/wave_augmenter.h"

namespace speakernet {

struct LoaderConfig {
  int batch_size = 32;
  double chunk_seconds = 2.0;
  int num_workers = 2;
  int prefetch_batches = 4;  // batches decoded ahead of the consumer (bounds memory)
  int64_t seed = 1024;
  int sample_rate = 16000;
  std::string chunking = "random";  // random | fixed
  double overlap = 0.1;             // fixed: overlap fraction of chunk_seconds
  double min_chunk_seconds = 2.0;   // fixed: shorter utterances are skipped
  double drop_last_seconds = 0.2;   // fixed: a tail chunk only when more than this remains
  double amp_th = 0.0;              // fixed: drop chunks with mean |x| below this (0 = off)
  std::string sampler = "shuffle";  // shuffle | balanced | paired
  double paired_other_lang_prob = 0.5;  // paired: speaker-net's p
  int speakers_per_batch = 0;       // balanced: N
  int chunks_per_speaker = 0;       // balanced: M (batch_size must be N * M)
  int64_t balanced_batches_per_epoch = 0;  // balanced: 0 = chunks / batch_size
  int validation_speakers = 0;             // 0 = no validation split
  int validation_chunks_per_speaker = 2;
  int validation_batch_size = 512;
  AugmentConfig augment;

  template <class V>
  void Fields(V& v) {
    v("batch_size", batch_size, "chunks per batch");
    v("chunk_seconds", chunk_seconds, "chunk length in seconds (plus 15 ms for framing)");
    v("num_workers", num_workers, "decoding threads");
    v("prefetch_batches", prefetch_batches, "batches prepared ahead of the trainer");
    v("seed", seed, "base seed of the epoch plans and chunk offsets");
    v("sample_rate", sample_rate, "audio is resampled to this rate");
    v("chunking", chunking, "random (new crop every epoch) | fixed (speaker-net sequential egs)");
    v("overlap", overlap, "fixed chunking: overlap as a fraction of chunk_seconds");
    v("min_chunk_seconds", min_chunk_seconds, "fixed chunking: shortest utterance kept");
    v("drop_last_seconds", drop_last_seconds,
      "fixed chunking: add a tail chunk when more than this is left");
    v("amp_th", amp_th, "fixed chunking: drop chunks with mean |x| below this (0 = off)");
    v("sampler", sampler,
      "shuffle | balanced (speakers_per_batch x chunks_per_speaker) | paired (utt2lang)");
    v("paired_other_lang_prob", paired_other_lang_prob,
      "paired sampler: probability that a pair's second chunk has another language");
    v("speakers_per_batch", speakers_per_batch, "balanced sampler: speakers per batch");
    v("chunks_per_speaker", chunks_per_speaker, "balanced sampler: chunks per speaker");
    v("balanced_batches_per_epoch", balanced_batches_per_epoch,
      "balanced sampler: batches per epoch (0 = chunks / batch_size, -1 = speaker-net's "
      "SpeakerAwareSampler: max chunks of a speaker x classes / batch_size)");
    v("validation_speakers", validation_speakers, "speakers giving validation chunks (0 = none)");
    v("validation_chunks_per_speaker", validation_chunks_per_speaker,
      "validation chunks per validation speaker");
    v("validation_batch_size", validation_batch_size, "validation batch size");
    v("augment", augment);
  }
  void Validate() const;
};

struct Batch {
  torch::Tensor waves;      // [B, chunk_samples] float32, CPU
  torch::Tensor labels;     // [B] int64, DataDir::SpeakerIndex
  int64_t index = 0;        // batch index within the epoch
  double wait_seconds = 0;  // how long Next() blocked for it (data-loading stall)
};

// One entry of the chunk list.
struct Chunk {
  int64_t utterance = 0;  // index into DataDir::utterances()
  int64_t offset = -1;    // first sample; -1 = a random crop every epoch
  int64_t length = 0;     // samples (<= chunk samples); unused when offset == -1
  int64_t counter = 0;    // index of the chunk within its utterance
};

// speaker-net's sequential egs positions for an utterance of `samples` samples (spec §1.2):
// [offset, length] pairs. Empty when the utterance is shorter than min_chunk_seconds.
std::vector<std::pair<int64_t, int64_t>> FixedChunkPositions(int64_t samples, double chunk_seconds,
                                                             double min_chunk_seconds,
                                                             double overlap,
                                                             double drop_last_seconds,
                                                             int sample_rate);

// A portable 64-bit seed mixed from several values (std::seed_seq + mt19937_64), e.g. for the
// trainer's per-batch SpecAugment generator.
uint64_t MixSeed(std::initializer_list<int64_t> values);

// The sample positions one batch item reads and how it is completed to chunk length.
struct ChunkPlan {
  int64_t utterance = 0;    // index into DataDir::utterances()
  int64_t offset = 0;       // first sample read
  int64_t length = 0;       // samples read (== chunk_samples unless wrap-padded)
  int64_t wrap_offset = 0;  // start of the partial repetition when wrap-padded
};

class ChunkLoader {
 public:
  // `data` must have durations (DataDir::EnsureDurations or utt2dur); it is copied.
  ChunkLoader(const DataDir& data, const LoaderConfig& config);
  // A validation loader over `chunks` (normally another loader's ValidationChunks()): fixed
  // order, no augmentation, batches of validation_batch_size, the last one possibly smaller.
  ChunkLoader(const DataDir& data, const LoaderConfig& config, std::vector<Chunk> chunks);
  ~ChunkLoader();  // stops and joins the workers
  ChunkLoader(const ChunkLoader&) = delete;
  ChunkLoader& operator=(const ChunkLoader&) = delete;

  int64_t BatchesPerEpoch() const;
  int64_t ChunkSamples() const { return chunk_samples_; }
  int NumSpeakers() const { return num_speakers_; }
  // Classifier outputs: NumSpeakers() times the speed-label multiplier (3 with speeds
  // {0.9, 1.0, 1.1}, else 1).
  int64_t NumClasses() const;
  int64_t NumSlots() const { return static_cast<int64_t>(chunks_.size()); }
  const std::vector<Chunk>& Chunks() const { return chunks_; }
  const std::vector<Chunk>& ValidationChunks() const { return validation_; }
  bool IsValidation() const { return validation_loader_; }

  // Starts (or restarts) epoch `epoch` at batch `start_batch`, abandoning any epoch in flight.
  void StartEpoch(int64_t epoch, int64_t start_batch = 0);
  // The next batch in order; blocks until it is ready; nullopt at the end of the epoch. A
  // decoding failure is thrown here as Error naming the utterance, and ends the epoch.
  std::optional<Batch> Next();

  // Data-parallel sharding: rank `rank` of `world` gets rows [rank*B/world, (rank+1)*B/world) of
  // every global batch (B = batch_size, which world must divide; with the paired sampler
  // 2 * world must divide it, so that no pair is split). Every random draw keeps its
  // global item index, so the concatenation of the shards over ranks is bit-identical to the
  // unsharded batch. Call before StartEpoch; training loaders only.
  void SetShard(int rank, int world);

  // What batch `index` of `epoch` reads (deterministic; for tests and debugging).
  std::vector<ChunkPlan> PlanBatch(int64_t epoch, int64_t index) const;

 private:
  struct Epoch;  // an epoch number and its shuffled slots
  struct Result {
    Batch batch;
    std::string error;  // non-empty when producing the batch failed
  };

  void Init(const DataDir& data);
  void BuildChunks(const DataDir& data);
  void SplitValidation();
  std::shared_ptr<const Epoch> MakeEpoch(int64_t epoch) const;
  std::vector<int64_t> ShuffledSlots(int64_t epoch) const;
  std::vector<int64_t> BalancedBatch(int64_t epoch, int64_t index) const;
  std::vector<int64_t> PairedBatch(const Epoch& epoch, int64_t index) const;
  std::vector<int64_t> PickChunks(const Epoch& epoch, int64_t index) const;
  void BuildPairedSampler(const DataDir& data);
  std::vector<ChunkPlan> PlanFor(const Epoch& epoch, int64_t index) const;
  Result Produce(const Epoch& epoch, int64_t index) const;
  void FillRow(const ChunkPlan& plan, float* row) const;
  bool Paired() const { return paired_ != nullptr; }
  void WorkerLoop();
  int64_t BatchSize() const;

  LoaderConfig config_;
  std::vector<Utterance> utts_;
  std::vector<int64_t> labels_;   // per utterance
  std::vector<int64_t> samples_;  // per utterance, at config_.sample_rate
  std::vector<Chunk> chunks_;      // training (or validation) chunks, unshuffled
  std::vector<Chunk> validation_;  // held out from chunks_ (training loader only)
  std::vector<std::vector<int64_t>> speaker_chunks_;  // balanced: chunk indices per speaker
  std::unique_ptr<PairedSampler> paired_;             // paired: partner draws
  bool validation_loader_ = false;
  std::unique_ptr<WaveAugmenter> augmenter_;  // null when augmentation is off
  int64_t chunk_samples_ = 0;
  int num_speakers_ = 0;
  int shard_rank_ = 0, shard_world_ = 1;

  std::mutex mutex_;
  std::condition_variable work_cv_, ready_cv_;
  std::shared_ptr<const Epoch> epoch_;  // null before the first StartEpoch
  uint64_t generation_ = 0;             // bumped by StartEpoch; stale results are dropped
  int64_t next_claim_ = 0, next_out_ = 0, end_ = 0;
  std::map<int64_t, Result> ready_;  // reorder buffer
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace speakernet
