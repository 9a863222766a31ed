// The public Embedder (speakernet/speakernet.h) on top of EmbeddingExtractor: the same
// per-utterance code path as `speakernet extract` (front end, VAD off, long-utterance splitting).
#include <algorithm>
#include <cmath>

#include "speakernet/audio/audio_reader.h"
#include "speakernet/common/error.h"
#include "speakernet/common/logging.h"
#include "speakernet/common/runtime.h"
#include "speakernet/inference/embedding_extractor.h"
#include "speakernet/speakernet.h"

namespace speakernet {

struct Embedder::Impl {
  std::unique_ptr<EmbeddingExtractor> extractor;
};

Embedder::Embedder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Embedder::Embedder(Embedder&&) noexcept = default;
Embedder& Embedder::operator=(Embedder&&) noexcept = default;
Embedder::~Embedder() = default;

Embedder Embedder::Load(const std::string& path, const EmbedderOptions& options) {
  InitLibraryLogging();
  RuntimeConfig runtime;
  runtime.device = options.device;
  runtime.threads = std::max(options.threads, 0);
  runtime.Validate();
  if (options.threads >= 0) ConfigureRuntime(runtime);
  ExtractConfig config;
  config.checkpoint = options.checkpoint;
  config.num_workers = 0;
  config.precision = options.precision;
  auto impl = std::make_unique<Impl>();
  impl->extractor = std::make_unique<EmbeddingExtractor>(path, config, runtime);
  return Embedder(std::move(impl));
}

std::vector<float> Embedder::EmbedFile(const std::string& path) const {
  const std::vector<float> wave = ReadAudio(path, SampleRate());
  try {
    return impl_->extractor->Extract(wave);
  } catch (const Error& e) {
    Fail(fmt::format("'{}': {}", path, e.what()));
  }
}

std::vector<float> Embedder::Embed(const float* samples, int64_t num_samples,
                                   int sample_rate) const {
  SN_CHECK(num_samples > 0, "Embed: no samples (num_samples = {})", num_samples);
  SN_CHECK(samples != nullptr, "Embed: samples is null");
  SN_CHECK(sample_rate > 0, "Embed: sample_rate must be > 0, got {}", sample_rate);
  std::vector<float> wave(samples, samples + num_samples);
  if (sample_rate != SampleRate()) wave = Resample(wave, sample_rate, SampleRate());
  return impl_->extractor->Extract(wave);
}

int Embedder::Dim() const { return static_cast<int>(impl_->extractor->dim()); }
int Embedder::SampleRate() const { return impl_->extractor->sample_rate(); }
bool Embedder::HasThreshold() const { return impl_->extractor->threshold().has_value(); }
float Embedder::Threshold() const {
  SN_CHECK(HasThreshold(), "the model '{}' stores no threshold (package it with --calib-trials)",
           impl_->extractor->checkpoint());
  return static_cast<float>(*impl_->extractor->threshold());
}

float CosineScore(const std::vector<float>& a, const std::vector<float>& b) {
  SN_CHECK(!a.empty() && a.size() == b.size(),
           "CosineScore: the embeddings must be non-empty and of one size, got {} and {}", a.size(),
           b.size());
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  SN_CHECK(na > 0 && nb > 0, "CosineScore: an embedding is all zeros");
  return static_cast<float>(dot / std::sqrt(na * nb));
}

}  // namespace speakernet
