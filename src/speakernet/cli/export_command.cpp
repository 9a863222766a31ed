// `speakernet export`: a checkpoint of a speakernet experiment -> one state-dict file that
// Python reads with plain torch.load (a dict of name -> tensor with speaker-net's names), e.g.
//
//   speakernet export --exp exp/r34 --out encoder.ckpt
//   python -c "import torch; model.load_state_dict(torch.load('encoder.ckpt'), strict=False)"
//
// The weights are checked against the experiment's config first (strict, by name and shape).
// speaker-net's extract_fbank.* buffers (constants of its torchaudio MelSpectrogram) are only
// written with --fbank-buffers: ours live outside the model, and speaker-net's own extraction
// loads with strict=False. With them, a strict load_state_dict into speaker-net's model works.
// speaker-net's kaldi_fbank front end (kaldifeat) has no buffers, so --fbank-buffers is refused
// for a features.type kaldi_fbank experiment.
//
// With --onnx FILE instead of --out, the model is written as ONNX (onnx/onnx_export.h,
// docs/onnx.md): the waveform form by default, the features form (sherpa-onnx) with
// --onnx-input features.
#include <spdlog/spdlog.h>

#include "speakernet/cli/commands.h"
#include "speakernet/common/error.h"
#include "speakernet/features/fbank.h"
#include "speakernet/models/speaker_model.h"
#include "speakernet/onnx/onnx_export.h"
#include "speakernet/training/experiment.h"

namespace speakernet {

void AddExportCommand(CLI::App& app) {
  struct Args {
    std::string exp, checkpoint, out, onnx;
    bool no_classifier = false, ddp_prefix = false, fbank_buffers = false;
    OnnxExportOptions onnx_options;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "export",
      "write a checkpoint as a torch.load-able state dict (speaker-net's names) or as ONNX");
  cmd->add_option("--exp", args->exp, "experiment dir or model file (.snm)")->required();
  cmd->add_option("--checkpoint", args->checkpoint, "checkpoint dir (default: newest)");
  auto* out = cmd->add_option("--out", args->out, "state-dict file to write");
  auto* onnx = cmd->add_option("--onnx", args->onnx, "ONNX file to write (docs/onnx.md)");
  out->excludes(onnx);
  cmd->add_option("--onnx-input", args->onnx_options.input,
                  "ONNX input: waveform (front end in the graph) | features ([1, frames, dim], "
                  "sherpa-onnx metadata)")
      ->check(CLI::IsMember({"waveform", "features"}));
  cmd->add_flag("--allow-frontend-mismatch", args->onnx_options.allow_frontend_mismatch,
                "write the features form even when the front end is not sherpa-onnx's");
  cmd->add_option("--onnx-url", args->onnx_options.url, "ONNX metadata url (features form)");
  cmd->add_option("--onnx-comment", args->onnx_options.comment,
                  "ONNX metadata comment (features form)");
  cmd->add_flag("--no-classifier", args->no_classifier, "leave out loss.* (the classifier)");
  cmd->add_flag("--ddp-prefix", args->ddp_prefix,
                "prefix every key with 'module.' as a DDP-wrapped model's state_dict has");
  cmd->add_flag("--fbank-buffers", args->fbank_buffers,
                "also write speaker-net's extract_fbank.* buffers (MelSpectrogram window and "
                "mel filters) for a strict load_state_dict");
  cmd->callback([args] {
    SN_CHECK(!args->out.empty() || !args->onnx.empty(),
             "export: give --out (state dict) or --onnx (ONNX file)");
    if (!args->onnx.empty()) {
      RequireOnnx();  // before loading anything
      const TrainedModel m = LoadTrainedModel(args->exp, args->checkpoint, /*deploy=*/true);
      const OnnxExportSummary s = ExportOnnx(m, args->onnx, args->onnx_options);
      spdlog::info("export: {} -> {} ({} input, {} nodes, {} constants, {} bytes)", m.source,
                   args->onnx, args->onnx_options.input, s.nodes, s.constant_values, s.bytes);
      for (const auto& [key, value] : s.metadata) spdlog::info("  metadata {}: {}", key, value);
      return;
    }
    const TrainedModel m = LoadTrainedModel(args->exp, args->checkpoint);
    const TrainConfig& config = m.config;
    StateDict out;
    const std::string prefix = args->ddp_prefix ? "module." : "";
    if (args->fbank_buffers) {
      SN_CHECK(!config.features.IsKaldi(),
               "export --fbank-buffers: experiment '{}' uses features.type kaldi_fbank, which has "
               "no extract_fbank.* buffers in speaker-net; leave the flag out",
               args->exp);
      // speaker-net's Fbank registers torchaudio MelSpectrogram's buffers first: the periodic
      // Hamming window of win_length samples and the [n_fft/2+1, n_mels] mel filters.
      const Fbank fbank(config.features.fbank);
      out.emplace_back(
          prefix + "extract_fbank.mel_spec_extractor.spectrogram.window",
          torch::hamming_window(fbank.options().WinLength(), /*periodic=*/true, torch::kFloat));
      out.emplace_back(prefix + "extract_fbank.mel_spec_extractor.mel_scale.fb", fbank.MelMatrix());
    }
    for (const auto& [name, tensor] : GetStateDict(*m.model))
      out.emplace_back(prefix + name, tensor);
    if (!args->no_classifier) {
      for (const auto& [name, tensor] : m.classifier) out.emplace_back(prefix + name, tensor);
    }
    SaveStateDictFile(args->out, out);
    spdlog::info("export: {} ({} tensors) -> {}", m.source, out.size(), args->out);
  });
}

SPEAKERNET_REGISTER_COMMAND(31, AddExportCommand);

}  // namespace speakernet
