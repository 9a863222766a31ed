#include "speakernet/onnx/onnx_export.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <fstream>

#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/models/repvgg.h"
#include "speakernet/onnx/onnx_emitters.h"
#include "speakernet/onnx/onnx_graph.h"

namespace speakernet {

void OnnxExportOptions::Validate() const {
  SN_CHECK(input == "waveform" || input == "features",
           "onnx input must be 'waveform' or 'features', got '{}'", input);
}

namespace {

// sherpa-onnx's feature extractor (kaldi-native-fbank with sherpa-onnx's settings).
constexpr int kSherpaBins = 80;
constexpr double kSherpaHighFreqOffset = -400;

template <class T>
void Expect(std::vector<std::string>& out, const std::string& key, const T& ours, const T& theirs) {
  if (!(ours == theirs)) {
    out.push_back(fmt::format("{} is {}; sherpa-onnx uses {}", key, ours, theirs));
  }
}

}  // namespace

std::vector<std::string> SherpaMismatches(const FrontEndConfig& features) {
  std::vector<std::string> out;
  if (!features.IsKaldi()) {
    out.push_back(fmt::format(
        "features.type is {}; sherpa-onnx computes Kaldi fbank (features.type kaldi_fbank)",
        features.type));
    return out;
  }
  const KaldiFbankOptions& k = features.kaldi;
  const std::string p = "features.kaldi.";
  Expect(out, p + "num_bins", k.num_bins, kSherpaBins);
  Expect(out, p + "frame_length_ms", k.frame_length_ms, 25.0);
  Expect(out, p + "frame_shift_ms", k.frame_shift_ms, 10.0);
  Expect(out, p + "preemph_coeff", k.preemph_coeff, 0.97);
  Expect(out, p + "remove_dc_offset", k.remove_dc_offset, true);
  Expect(out, p + "window_type", k.window_type, std::string("povey"));
  Expect(out, p + "round_to_power_of_two", k.round_to_power_of_two, true);
  Expect(out, p + "snip_edges", k.snip_edges, false);
  Expect(out, p + "low_freq", k.low_freq, 20.0);
  const double nyquist = k.samp_freq / 2.0;
  if (std::abs(k.HighFreq() - (nyquist + kSherpaHighFreqOffset)) > 1e-9) {
    out.push_back(
        fmt::format("{}high_freq gives {} Hz; sherpa-onnx uses Nyquist - 400 = {} Hz "
                    "(high_freq: -400)",
                    p, k.HighFreq(), nyquist + kSherpaHighFreqOffset));
  }
  Expect(out, p + "use_energy", k.use_energy, false);
  Expect(out, p + "use_log_fbank", k.use_log_fbank, true);
  Expect(out, p + "use_power", k.use_power, true);
  Expect(out, p + "norm_var", k.norm_var, false);
  return out;
}

namespace {

void AddSherpaMetadata(OnnxGraph& g, const TrainedModel& m, const OnnxExportOptions& options,
                       std::vector<std::pair<std::string, std::string>>& metadata) {
  const FrontEndConfig& f = m.config.features;
  const bool kaldi = f.IsKaldi();
  // sherpa-onnx accepts "wespeaker" and "3d-speaker" and treats both alike: a [1, T, 80] fbank
  // input and a [1, dim] output.
  metadata = {
      {"framework", "wespeaker"},
      {"output_dim", std::to_string(m.model->EmbeddingDim())},
      {"sample_rate", std::to_string(f.SampleRate())},
      // 0: samples are scaled to int16 range before the fbank, as kaldi_fbank's scale_to_int16.
      {"normalize_samples", kaldi && f.kaldi.scale_to_int16 ? "0" : "1"},
      {"feature_normalize_type", (kaldi ? f.kaldi.cmvn : f.fbank.cmvn) ? "global-mean" : ""},
      {"language", "English"},
      {"url", options.url.empty() ? "https://github.com/speakernet" : options.url},
      {"comment", options.comment.empty()
                      ? fmt::format("speakernet {} model, features input [1, frames, {}]",
                                    m.config.model.type, f.Dim())
                      : options.comment},
  };
  if (metadata[4].second.empty()) metadata.erase(metadata.begin() + 4);
  for (const auto& [key, value] : metadata) g.SetMetadata(key, value);
}

}  // namespace

void RequireOnnx() {
  SN_CHECK(OnnxAvailable(),
           "ONNX export is not available: speakernet was built without the ONNX library "
           "(Debian: libonnx-dev; tools/setup.sh installs it), rebuild after installing it");
}

OnnxExportSummary ExportOnnx(const TrainedModel& m, const std::string& path,
                             const OnnxExportOptions& options) {
  RequireOnnx();
  options.Validate();
  const FrontEndConfig& features = m.config.features;
  const bool waveform = options.input == "waveform";
  if (!waveform) {
    const auto mismatches = SherpaMismatches(features);
    SN_CHECK(mismatches.empty() || options.allow_frontend_mismatch,
             "ONNX export --onnx-input features of {}: the model's front end is not the one "
             "sherpa-onnx computes, so sherpa-onnx would feed it other features:\n  {}\nExport "
             "the waveform form (the front end inside the graph), train with sherpa-onnx's fbank "
             "settings (docs/onnx.md), or pass --allow-frontend-mismatch",
             m.source, fmt::join(mismatches, "\n  "));
  }
  torch::NoGradGuard no_grad;
  m.model->eval();
  OnnxGraph g(fmt::format("speakernet_{}_{}", m.config.model.type, options.input));
  OnnxExportSummary summary;
  std::string feats;
  if (waveform) {
    feats = EmitFrontEnd(g, features, g.Input("wav", {1, "samples"}));
  } else {
    const std::string in = g.Input("feats", {1, "frames", features.Dim()});
    feats = g.Node("Transpose", {in}, "feats_by_time", {{"perm", std::vector<int64_t>{0, 2, 1}}});
    AddSherpaMetadata(g, m, options, summary.metadata);
  }
  const std::string emb = EmitSpeakerModel(g, *m.model, feats);
  g.Output(emb, "embedding", {1, m.model->EmbeddingDim()});
  g.SetDocString(
      fmt::format("speakernet {} model from {}; input {}", m.config.model.type, m.source,
                  waveform ? "wav [1, samples] float in [-1, 1]" : "feats [1, frames, dim] fbank"));
  const std::string bytes = g.SerializeChecked(SPEAKERNET_ONNX_PRODUCER_VERSION);
  WriteFileAtomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    SN_CHECK(out.good(), "could not write {}", tmp);
  });
  summary.nodes = g.NumNodes();
  summary.constant_values = g.NumInitializerValues();
  summary.bytes = static_cast<int64_t>(bytes.size());
  return summary;
}

}  // namespace speakernet
