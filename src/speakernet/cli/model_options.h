// The options that name a model for the commands built on the public API (embed, verify):
// --model (a model file or an experiment dir), --checkpoint, --device, --threads, --precision.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "speakernet/common/error.h"  // before speakernet.h (see there)
#include "speakernet/speakernet.h"

namespace speakernet {

struct ModelOptions {
  std::string model;
  EmbedderOptions embedder;

  void Add(CLI::App* cmd) {
    cmd->add_option("--model", model, "model file (.snm, `speakernet package`) or experiment dir")
        ->required();
    cmd->add_option("--checkpoint", embedder.checkpoint,
                    "experiment dirs: checkpoint dir (default: newest)");
    cmd->add_option("--device", embedder.device, "cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_option("--threads", embedder.threads, "torch threads (0 = all cores)")
        ->capture_default_str();
    cmd->add_option("--precision", embedder.precision, "fp32 | bf16 (bfloat16 autocast)")
        ->check(CLI::IsMember({"fp32", "bf16"}))
        ->capture_default_str();
  }
  Embedder Load() const { return Embedder::Load(model, embedder); }
};

}  // namespace speakernet
