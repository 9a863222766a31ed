// Single-file models (".snm"): everything inference needs in one file that can be shipped.
//
// The file is a torch.save zip archive (Python's `torch.load("model.snm")` returns the model's
// state dict, speaker-net's parameter names, RepVGG already re-parameterised) with three more
// records:
//   speakernet/format       "speakernet-model 1" (the format and its version)
//   speakernet/config.yaml  the training config the weights belong to (model + front end, ...)
//   speakernet/meta.yaml    embedding_dim, source (the checkpoint it came from) and optionally
//                           threshold (a calibrated accept threshold for cosine scores)
// There is no classifier and no optimizer state. Reading validates the format record, the config
// (unknown keys are errors, as in any config), the weights against the config's model (strict:
// every missing, unexpected or mis-shaped tensor by name) and the embedding dim; errors name the
// file and what is wrong. See docs/library.md.
#pragma once

#include <optional>
#include <string>

#include "speakernet/training/experiment.h"

namespace speakernet {

inline constexpr const char* kModelPackageFormat = "speakernet-model 1";

// Writes `model` (its current weights, so deploy first where wanted) atomically to `path`.
// `threshold` overrides model.threshold when given.
void WriteModelPackage(const std::string& path, const TrainedModel& model,
                       std::optional<double> threshold = std::nullopt);

// Reads and validates a package: the model is built, loaded, in eval mode on the CPU.
TrainedModel ReadModelPackage(const std::string& path);

}  // namespace speakernet
