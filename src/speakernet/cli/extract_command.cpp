#include <spdlog/spdlog.h>

#include "speakernet/inference/embedding_extractor.h"
#include "speakernet/cli/commands.h"

namespace speakernet {

void AddExtractCommand(CLI::App& app) {
  struct Args {
    std::string exp, data, out;
    ExtractConfig extract;
    RuntimeConfig runtime;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("extract", "whole-utterance embeddings of a data dir");
  cmd->add_option("--exp", args->exp, "experiment dir written by `speakernet train`, or a model file (.snm)")
      ->required();
  cmd->add_option("--data", args->data, "data dir whose wav.scp lists the utterances")->required();
  cmd->add_option("--out", args->out,
                  "output dir: embeddings.ark/.scp (Kaldi); re-running resumes or skips")
      ->required();
  cmd->add_option("--checkpoint", args->extract.checkpoint, "checkpoint dir (default: newest)");
  cmd->add_option("--max-frames", args->extract.max_frames, "split longer utterances")
      ->capture_default_str();
  cmd->add_flag("--npy", args->extract.write_npy, "also write embeddings.npy and utts.txt");
  cmd->add_option("--batch-size", args->extract.batch_size,
                  "max utterances of identical frame count per forward pass (1 = one by one; "
                  "0 = 32 on CUDA, 1 on CPU)")
      ->capture_default_str();
  cmd->add_option("--workers", args->extract.num_workers,
                  "threads decoding audio and computing features during the forward passes "
                  "(0 = inline)")
      ->capture_default_str();
  cmd->add_option("--shard-size", args->extract.shard_size,
                  "utterances per resumable output shard (an interrupted run resumes)")
      ->capture_default_str();
  cmd->add_option("--stop-after-shards", args->extract.stop_after_shards,
                  "stop unfinished after this many shards; run again to continue (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--precision", args->extract.precision,
                  "fp32 | bf16: bfloat16 autocast for the model (faster on CPUs with AVX-512 "
                  "BF16/AMX and on GPUs; cosine to fp32 about 0.999)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_flag("--vad", args->extract.vad,
                "drop non-speech frames (Kaldi energy VAD) before the model (default off)");
  cmd->add_option("--vad-energy-threshold", args->extract.vad_options.vad_energy_threshold,
                  "VAD: constant part of the log-energy threshold")
      ->capture_default_str();
  cmd->add_option("--vad-energy-mean-scale", args->extract.vad_options.vad_energy_mean_scale,
                  "VAD: times the mean log energy, added to the threshold")
      ->capture_default_str();
  cmd->add_option("--device", args->runtime.device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--threads", args->runtime.threads, "torch threads (0 = all cores)")
      ->capture_default_str();
  cmd->callback([args] {
    args->extract.Validate();
    args->runtime.Validate();
    ConfigureRuntime(args->runtime);
    EmbeddingExtractor extractor(args->exp, args->extract, args->runtime);
    const DataDir data = DataDir::Load(args->data);
    const ExtractStats stats = ExtractDataDir(extractor, data, args->out);
    // An unfinished run (--stop-after-shards) is not an error: re-running continues it.
    if (!stats.complete) spdlog::warn("extract: not finished; run the same command again");
  });
}

SPEAKERNET_REGISTER_COMMAND(40, AddExtractCommand);

}  // namespace speakernet
