#include "speakernet/backend/embedding_extractor.h"
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
  cmd->add_option("--exp", args->exp, "experiment dir written by `speakernet train`")->required();
  cmd->add_option("--data", args->data, "data dir whose wav.scp lists the utterances")->required();
  cmd->add_option("--out", args->out, "output dir: embeddings.ark/.scp (Kaldi)")->required();
  cmd->add_option("--checkpoint", args->extract.checkpoint, "checkpoint dir (default: newest)");
  cmd->add_option("--max-frames", args->extract.max_frames, "split longer utterances")
      ->capture_default_str();
  cmd->add_flag("--npy", args->extract.write_npy, "also write embeddings.npy and utts.txt");
  cmd->add_option("--device", args->runtime.device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--threads", args->runtime.threads, "torch threads (0 = all cores)")
      ->capture_default_str();
  cmd->callback([args] {
    args->extract.Validate();
    args->runtime.Validate();
    ConfigureRuntime(args->runtime);
    EmbeddingExtractor extractor(args->exp, args->extract, args->runtime);
    const DataDir data = DataDir::Load(args->data);
    ExtractDataDir(extractor, data, args->out, args->extract.write_npy);
  });
}

SPEAKERNET_REGISTER_COMMAND(40, AddExtractCommand);

}  // namespace speakernet
