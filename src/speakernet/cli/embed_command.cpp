// `speakernet embed`: embeddings of audio files with a model file or an experiment, e.g.
//
//   speakernet embed --model model.snm a.wav b.flac               # prints them
//   speakernet embed --model exp/r34 a.wav b.wav --out emb.ark    # Kaldi float vectors (+ .scp)
//   speakernet embed --model model.snm *.wav --out emb.npy        # [files, dim] matrix
//
// Printed lines are Kaldi text vectors, `FILE  [ x1 x2 ... ]`, each value with enough digits to
// read back the same float. Keys (ark) and rows (npy, with FILE.txt listing the files) follow the
// order of the arguments. Each embedding is the one `speakernet extract` gives for the file.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "speakernet/cli/commands.h"
#include "speakernet/cli/model_options.h"
#include "speakernet/common/atomic_file.h"
#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"

namespace speakernet {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void WriteEmbeddings(const std::string& out, const std::vector<std::string>& files,
                     const std::vector<std::vector<float>>& embs, int dim) {
  if (EndsWith(out, ".npy")) {
    std::vector<float> all;
    std::string list;
    for (size_t i = 0; i < files.size(); ++i) {
      all.insert(all.end(), embs[i].begin(), embs[i].end());
      list += files[i] + "\n";
    }
    kaldi::WriteNpy(out, all.data(), {static_cast<int64_t>(files.size()), dim});
    WriteTextAtomically(out + ".txt", list);
    return;
  }
  kaldi::ArkWriter writer(out, out.substr(0, out.size() - 4) + ".scp");
  for (size_t i = 0; i < files.size(); ++i) writer.WriteVector(files[i], embs[i].data(), dim);
  writer.Close();
}

}  // namespace

void AddEmbedCommand(CLI::App& app) {
  struct Args {
    ModelOptions model;
    std::vector<std::string> files;
    std::string out;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("embed", "embeddings of audio files (printed, or to .ark/.npy)");
  args->model.Add(cmd);
  cmd->add_option("files", args->files, "audio files (wav/flac/ogg, any sample rate)")->required();
  cmd->add_option("--out", args->out,
                  "write FILE.ark (+ FILE.scp, keys = the file arguments) or FILE.npy (+ "
                  "FILE.npy.txt listing the files) instead of printing");
  cmd->callback([args] {
    SN_CHECK(args->out.empty() || EndsWith(args->out, ".ark") || EndsWith(args->out, ".npy"),
             "embed: --out '{}' must end in .ark or .npy", args->out);
    const Embedder embedder = args->model.Load();
    std::vector<std::vector<float>> embs;
    for (const std::string& f : args->files) embs.push_back(embedder.EmbedFile(f));
    if (!args->out.empty()) {
      WriteEmbeddings(args->out, args->files, embs, embedder.Dim());
      spdlog::info("embed: {} embeddings of dim {} -> {}", embs.size(), embedder.Dim(), args->out);
      return;
    }
    for (size_t i = 0; i < embs.size(); ++i) {
      std::string line = args->files[i] + "  [";
      for (float x : embs[i]) line += fmt::format(" {}", x);
      std::printf("%s ]\n", line.c_str());
    }
  });
}

SPEAKERNET_REGISTER_COMMAND(41, AddEmbedCommand);

}  // namespace speakernet
