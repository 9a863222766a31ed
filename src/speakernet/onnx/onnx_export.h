// ONNX export of trained speaker models (docs/onnx.md), written op by op from the C++ modules
// and checked with ONNX's checker and strict shape inference before it is written.
//
// Two forms:
//   waveform  input "wav" float [1, samples] (dynamic; [-1, 1], the model's sample rate), the
//             model's own front end (features.type fbank or kaldi_fbank) inside the graph;
//   features  input "feats" float [1, frames, feat_dim] (dynamic frames), for runtimes that
//             compute their own fbank. It carries the metadata sherpa-onnx's
//             SpeakerEmbeddingExtractor reads (framework, output_dim, sample_rate,
//             normalize_samples, feature_normalize_type, language, url, comment) and is refused
//             unless the model's front end is the one sherpa-onnx computes (SherpaMismatches).
// Both output "embedding" float [1, emb_dim]: SpeakerModel::forward's embedding of the whole
// input (speakernet extract splits utterances longer than max_frames; the graph does not).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "speakernet/features/front_end.h"
#include "speakernet/training/experiment.h"

namespace speakernet {

struct OnnxExportOptions {
  std::string input = "waveform";  // waveform | features
  // features form: write it even when the front end is not sherpa-onnx's (the metadata then
  // describes sherpa-onnx's front end, not the model's).
  bool allow_frontend_mismatch = false;
  std::string url;      // metadata "url" (features form)
  std::string comment;  // metadata "comment" (features form); default: what the file is

  template <class V>
  void Fields(V& v) {
    v("input", input, "waveform (front end inside the graph) | features ([1, frames, dim])");
    v("allow_frontend_mismatch", allow_frontend_mismatch,
      "features form even when the front end differs from sherpa-onnx's");
    v("url", url, "metadata url");
    v("comment", comment, "metadata comment");
  }
  void Validate() const;
};

struct OnnxExportSummary {
  int64_t nodes = 0;
  int64_t constant_values = 0;  // weights and tables, in floats/ints
  int64_t bytes = 0;
  std::vector<std::pair<std::string, std::string>> metadata;
};

// The differences between `features` and the front end sherpa-onnx's speaker embedding extractor
// computes (kaldi-native-fbank: 80 bins, 25/10 ms, povey, no snip-edges, 20 Hz to Nyquist - 400
// Hz, pre-emphasis 0.97, DC removal, no energy, log power mel; samples as they come or times
// 32768; optionally the mean over frames subtracted), one readable line each ("features.kaldi.
// snip_edges is true; sherpa-onnx uses false"). Empty when they match.
std::vector<std::string> SherpaMismatches(const FrontEndConfig& features);

// Throws (saying what to install) when speakernet was built without the ONNX library.
void RequireOnnx();

// Writes `model` (a RepVGG must be deployed: load it with deploy = true) to `path` atomically.
OnnxExportSummary ExportOnnx(const TrainedModel& model, const std::string& path,
                             const OnnxExportOptions& options);

}  // namespace speakernet
