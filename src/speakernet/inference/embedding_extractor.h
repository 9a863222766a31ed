// Whole-utterance embedding extraction from a trained experiment directory (spec §7.1).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "speakernet/augmentation/augment_config.h"
#include "speakernet/common/runtime.h"
#include "speakernet/data/data_dir.h"
#include "speakernet/training/experiment.h"

namespace speakernet {

struct ExtractConfig {
  std::string checkpoint;      // "" = the newest checkpoint of the experiment (not for a package)
  int64_t max_frames = 10000;  // longer utterances are split and averaged, weighted by frames
  bool write_npy = false;      // also write embeddings.npy + utts.txt
  // Utterances whose features have the same number of frames go through the model together,
  // up to this many. Only identical lengths are batched: zero-padding (or cropping) would change
  // the statistics pooling, so a batched embedding equals the one-by-one one within float
  // rounding. 1 = one utterance per forward pass; 0 = by device: 32 on CUDA, 1 on the CPU
  // (where batching measured slower: 0.91x on the demo corpus, bench/extraction_bench.cpp).
  int batch_size = 0;
  // Threads that read and decode audio and compute features while the model runs; 0 = do it in
  // the calling thread.
  int num_workers = 2;
  // Output is produced in shards of this many utterances (in data-dir order), each written
  // atomically to <out>/shards/; an interrupted run resumes at the first unfinished shard.
  int64_t shard_size = 512;
  // Stop (unfinished) after writing this many shards in this run; 0 = no limit. For testing
  // resumption and for spreading a long extraction over several sessions.
  int64_t stop_after_shards = 0;
  // Energy VAD (Kaldi compute-vad on raw frame energies): frames judged non-speech are dropped
  // from the features before the model. Off by default, as in speaker-net, which always uses
  // the whole utterance.
  bool vad = false;
  VadConfig vad_options;
  // "fp32", or "bf16": the model runs under bfloat16 autocast (convolutions and matmuls in bf16,
  // norms, pooling statistics and softmax in fp32; common/torch_compat.h ScopedAutocast). Fast
  // where the CPU has AVX-512 BF16 or AMX (or on a CUDA GPU); embeddings agree with fp32's to a
  // cosine of about 0.999 (figures: docs/extraction.md, bench/inference_threads_bench.cpp).
  std::string precision = "fp32";

  template <class V>
  void Fields(V& v) {
    v("checkpoint", checkpoint, "checkpoint directory; empty = newest in <exp>/checkpoints");
    v("max_frames", max_frames, "split utterances longer than this many frames");
    v("write_npy", write_npy, "also write embeddings.npy and utts.txt");
    v("batch_size", batch_size,
      "max utterances of identical length per forward pass; 0 = 32 on CUDA, 1 on CPU");
    v("num_workers", num_workers, "audio decoding + feature threads (0 = inline)");
    v("shard_size", shard_size, "utterances per resumable output shard");
    v("stop_after_shards", stop_after_shards, "stop after this many shards (0 = run to the end)");
    v("vad", vad, "drop non-speech frames (energy VAD) before the model");
    v("vad_options", vad_options);
    v("precision", precision, "fp32 | bf16 (bfloat16 autocast for the model)");
  }
  void Validate() const;
};

class EmbeddingExtractor {
 public:
  // model_path: an experiment directory (config.checkpoint chooses the checkpoint, default the
  // newest) or a model package file (training/model_package.h).
  EmbeddingExtractor(const std::string& model_path, const ExtractConfig& config,
                     const RuntimeConfig& runtime);
  // A model loaded already (training/experiment.h); config.checkpoint is not used.
  EmbeddingExtractor(TrainedModel model, const ExtractConfig& config, const RuntimeConfig& runtime);
  ~EmbeddingExtractor();

  // One utterance's waveform (float in [-1, 1], the model's sample rate) → embedding, one
  // utterance per forward pass (the reference for the batched ExtractDataDir).
  std::vector<float> Extract(const std::vector<float>& wave) const;
  int64_t dim() const;
  int sample_rate() const;
  const std::string& checkpoint() const;
  const ExtractConfig& config() const;
  std::optional<double> threshold() const;  // a model package's calibrated threshold, if any

  struct Impl;  // defined in the .cpp; ExtractDataDir drives it
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct ExtractStats {
  int64_t utterances = 0;      // extracted in this run (skipped shards not counted)
  int64_t forward_passes = 0;  // model calls (a split utterance counts once per piece)
  int64_t largest_batch = 0;   // most utterances in one forward pass
  int64_t shards_done = 0;     // shards written in this run
  int64_t shards_skipped = 0;  // shards found finished from an earlier run
  bool complete = false;       // the final embeddings were written (or were up to date)
  bool up_to_date = false;     // nothing to do: an earlier run finished with the same setup
};

// Extracts every utterance of `data` into out_dir/embeddings.{ark,scp} (Kaldi float vectors in
// data-dir order, readable by kaldiio; the scp names the ark by absolute path), plus
// embeddings.npy and utts.txt when config().write_npy. Batched by identical frame counts,
// features computed by config().num_workers threads overlapping the forward passes, progress
// logged with rate and ETA.
//
// Resumable and idempotent: work goes to out_dir/shards/shard-NNNNN.ark (atomically, one per
// shard_size utterances) under a fingerprint of the setup (checkpoint, options, utterance
// list). A re-run skips the shards that are complete and belong to the same setup, and merges
// them into the final files, which are therefore byte-identical to those of an uninterrupted
// run; the shards are then removed and out_dir/extract.done records the fingerprint, so a
// further re-run with the same setup does nothing.
ExtractStats ExtractDataDir(const EmbeddingExtractor& extractor, const DataDir& data,
                            const std::string& out_dir);

}  // namespace speakernet
