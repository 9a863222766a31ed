// Random fixed-length training chunks, batched, produced by a pool of worker threads.
//
// Epoch plan: every utterance owns max(1, floor(duration / chunk_seconds)) slots; the slot list
// is shuffled with an RNG seeded from (seed, epoch) and cut into consecutive batches, dropping
// the incomplete last one. The random content of batch k (chunk offsets, wrap-padding offsets)
// comes from an RNG seeded from (seed, epoch, k) alone. Hence batches do not depend on the
// number of workers or on timing, and StartEpoch(e, k) reproduces bit for bit the batches k, k+1,
// ... of an uninterrupted epoch e, which is what exact resume after a checkpoint needs.
//
// Chunk length is int((chunk_seconds + 0.015) * sample_rate): the extra 15 ms (window - hop)
// yields exactly chunk_seconds / 10 ms fbank frames. An utterance at least that long gives a
// uniformly random crop; a shorter one is read whole and wrap-padded: repeated k times, then a
// random contiguous piece of length r (reference `_pad_or_truncate`, see the spec §1.2).
//
// Cost note: a chunk of a plain file at the target rate decodes only the chunk; a pipe runs its
// command and a file at another rate is resampled whole for every chunk taken from it.
// Next() and StartEpoch() are meant for one consumer thread.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "speakernet/common/error.h"
#include "speakernet/data/data_dir.h"

namespace speakernet {

struct LoaderConfig {
  int batch_size = 32;
  double chunk_seconds = 2.0;
  int num_workers = 2;
  int prefetch_batches = 4;  // batches decoded ahead of the consumer (bounds memory)
  int64_t seed = 1024;
  int sample_rate = 16000;

  template <class V>
  void Fields(V& v) {
    v("batch_size", batch_size, "chunks per batch");
    v("chunk_seconds", chunk_seconds, "chunk length in seconds (plus 15 ms for framing)");
    v("num_workers", num_workers, "decoding threads");
    v("prefetch_batches", prefetch_batches, "batches prepared ahead of the trainer");
    v("seed", seed, "base seed of the epoch plans and chunk offsets");
    v("sample_rate", sample_rate, "audio is resampled to this rate");
  }
  void Validate() const;
};

struct Batch {
  torch::Tensor waves;      // [B, chunk_samples] float32, CPU
  torch::Tensor labels;     // [B] int64, DataDir::SpeakerIndex
  int64_t index = 0;        // batch index within the epoch
  double wait_seconds = 0;  // how long Next() blocked for it (data-loading stall)
};

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
  ~ChunkLoader();  // stops and joins the workers
  ChunkLoader(const ChunkLoader&) = delete;
  ChunkLoader& operator=(const ChunkLoader&) = delete;

  int64_t BatchesPerEpoch() const;
  int64_t ChunkSamples() const { return chunk_samples_; }
  int NumSpeakers() const { return num_speakers_; }
  int64_t NumSlots() const { return static_cast<int64_t>(slots_.size()); }

  // Starts (or restarts) epoch `epoch` at batch `start_batch`, abandoning any epoch in flight.
  void StartEpoch(int64_t epoch, int64_t start_batch = 0);
  // The next batch in order; blocks until it is ready; nullopt at the end of the epoch. A
  // decoding failure is thrown here as Error naming the utterance, and ends the epoch.
  std::optional<Batch> Next();

  // What batch `index` of `epoch` reads (deterministic; for tests and debugging).
  std::vector<ChunkPlan> PlanBatch(int64_t epoch, int64_t index) const;

 private:
  struct Epoch;  // an epoch number and its shuffled slots
  struct Result {
    Batch batch;
    std::string error;  // non-empty when producing the batch failed
  };

  std::vector<int64_t> ShuffledSlots(int64_t epoch) const;
  std::vector<ChunkPlan> PlanFor(const Epoch& epoch, int64_t index) const;
  Result Produce(const Epoch& epoch, int64_t index) const;
  void FillRow(const ChunkPlan& plan, float* row) const;
  void WorkerLoop();

  LoaderConfig config_;
  std::vector<Utterance> utts_;
  std::vector<int64_t> labels_;   // per utterance
  std::vector<int64_t> samples_;  // per utterance, at config_.sample_rate
  std::vector<int64_t> slots_;    // utterance index per slot, unshuffled
  int64_t chunk_samples_ = 0;
  int num_speakers_ = 0;

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
