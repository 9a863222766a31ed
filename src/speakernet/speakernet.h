// speakernet's public C++ API: speaker embeddings from a trained model, cosine scores and a
// registry of enrolled speakers. This header includes only the C++ standard library (no LibTorch,
// no internal header); link the `speakernet::speakernet` CMake target or `pkg-config speakernet`.
//
//   #include <speakernet/speakernet.h>
//
//   speakernet::Embedder e = speakernet::Embedder::Load("model.snm");  // or an experiment dir
//   std::vector<float> a = e.EmbedFile("a.wav");        // any format/rate the CLI reads
//   std::vector<float> b = e.Embed(samples, n, 16000);  // float samples in [-1, 1]
//   float s = speakernet::CosineScore(a, b);            // accept when s >= e.Threshold()
//
// The embedding of a file is the one `speakernet extract` writes for it (same front end, same
// splitting of long utterances). Every error is thrown as speakernet::Error, whose message names
// the file, key or argument at fault. See docs/library.md.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace speakernet {

// The one exception type of speakernet. The library's internal common/error.h defines the same
// class, token for token (and the macro SN_CHECK); inside the library that header is included
// first and this definition is skipped.
#ifndef SN_CHECK
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
#endif

struct EmbedderOptions {
  std::string checkpoint;      // experiment dirs: this checkpoint dir instead of the newest
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  // torch intra-op threads, process-wide: 0 = all cores (as the CLI), < 0 = leave as they are.
  int threads = 0;
  // "fp32", or "bf16" (bfloat16 autocast: faster on CPUs with AVX-512 BF16/AMX and on GPUs,
  // embeddings slightly different; see docs/extraction.md).
  std::string precision = "fp32";
};

// A trained speaker-embedding model. Load once, then call Embed/EmbedFile from any number of
// threads at once (they share the model; each call is independent). Movable, not copyable.
class Embedder {
 public:
  // `path`: a single-file model (`speakernet package`, .snm) or an experiment directory
  // (`speakernet train`/`import`; its newest checkpoint unless options.checkpoint is set).
  static Embedder Load(const std::string& path, const EmbedderOptions& options = {});

  Embedder(Embedder&&) noexcept;
  Embedder& operator=(Embedder&&) noexcept;
  ~Embedder();

  // The embedding of an audio file (wav/flac/ogg, any sample rate: resampled to the model's;
  // channel 0 of multi-channel files).
  std::vector<float> EmbedFile(const std::string& path) const;
  // The embedding of mono float samples in [-1, 1] at `sample_rate` (resampled when it differs
  // from SampleRate()).
  std::vector<float> Embed(const float* samples, int64_t num_samples, int sample_rate) const;
  std::vector<float> Embed(const std::vector<float>& samples, int sample_rate) const {
    return Embed(samples.data(), static_cast<int64_t>(samples.size()), sample_rate);
  }

  int Dim() const;         // embedding dimension
  int SampleRate() const;  // the model's sample rate (Embed resamples other rates to it)
  // The accept threshold on cosine scores stored in a model file (`speakernet package
  // --calib-trials`); HasThreshold() is false when the model has none.
  bool HasThreshold() const;
  float Threshold() const;  // Error when !HasThreshold()

 private:
  struct Impl;
  explicit Embedder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Cosine similarity of two embeddings of the same size (Error on a size mismatch, empty or
// all-zero vectors).
float CosineScore(const std::vector<float>& a, const std::vector<float>& b);

// Enrolled speakers: name -> the mean of the embeddings enrolled under it. Scores are cosine
// scores against that mean. Thread-safe (reads run concurrently, writes exclusively).
class SpeakerRegistry {
 public:
  explicit SpeakerRegistry(int dim);
  SpeakerRegistry(SpeakerRegistry&&) noexcept;
  SpeakerRegistry& operator=(SpeakerRegistry&&) noexcept;
  ~SpeakerRegistry();

  // Adds one or more embeddings (e.g. of several utterances) to `name`, creating it if new;
  // enrolling again adds to the same speaker (the mean over every embedding so far).
  void Enroll(const std::string& name, const std::vector<float>& embedding);
  void Enroll(const std::string& name, const std::vector<std::vector<float>>& embeddings);
  bool Remove(const std::string& name);  // false when `name` is not enrolled
  bool Contains(const std::string& name) const;
  std::vector<std::string> Names() const;  // sorted
  int Size() const;
  int Dim() const;
  int NumEmbeddings(const std::string& name) const;  // enrolled under `name` (Error if unknown)

  // Cosine score of `embedding` against `name`'s enrolled mean (Error if `name` is unknown).
  float Score(const std::string& name, const std::vector<float>& embedding) const;
  // Score(name, embedding) >= threshold.
  bool Verify(const std::string& name, const std::vector<float>& embedding, float threshold) const;

  struct Match {
    std::string name;  // empty when no speaker scored >= the threshold
    float score = 0;   // the best score (also when it is below the threshold)
  };
  // The best-scoring speaker if its score is >= threshold.
  Match Identify(const std::vector<float>& embedding, float threshold) const;
  // Every speaker, best first (at most `max_results`; <= 0 = all).
  std::vector<Match> Rank(const std::vector<float>& embedding, int max_results = 0) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace speakernet
