// Whole-utterance embedding extraction from a trained experiment directory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "speakernet/common/runtime.h"
#include "speakernet/data/data_dir.h"

namespace speakernet {

struct ExtractConfig {
  std::string checkpoint;     // "" = the newest checkpoint of the experiment
  int64_t max_frames = 10000;  // longer utterances are split and averaged, weighted by frames
  bool write_npy = false;      // also write embeddings.npy + utts.txt

  template <class V>
  void Fields(V& v) {
    v("checkpoint", checkpoint, "checkpoint directory; empty = newest in <exp>/checkpoints");
    v("max_frames", max_frames, "split utterances longer than this many frames");
    v("write_npy", write_npy, "also write embeddings.npy and utts.txt");
  }
  void Validate() const;
};

class EmbeddingExtractor {
 public:
  EmbeddingExtractor(const std::string& exp_dir, const ExtractConfig& config,
                     const RuntimeConfig& runtime);
  ~EmbeddingExtractor();

  // One utterance's waveform (float in [-1, 1], the model's sample rate) → embedding.
  std::vector<float> Extract(const std::vector<float>& wave) const;
  int64_t dim() const;
  int sample_rate() const;
  const std::string& checkpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Extracts every utterance of `data` into out_dir/embeddings.{ark,scp} (Kaldi float vectors,
// readable by kaldiio), written atomically, with progress lines.
void ExtractDataDir(const EmbeddingExtractor& extractor, const DataDir& data,
                    const std::string& out_dir, bool write_npy);

}  // namespace speakernet
