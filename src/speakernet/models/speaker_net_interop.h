// Key mapping between speaker-net (Python) checkpoints and ours.
//
// speaker-net's encoder.ckpt is `torch.save(encoder.state_dict())` of the whole SpeakerNet:
// the trunk, pooling and fc2 under the same names as ours, the margin-softmax weight as
// `loss.weight` (older checkpoints: `loss.affine.weight`, which speaker-net's own
// load_transform_state_dict renames too), the feature extractor's constant buffers under
// `extract_fbank.*`, and, from a DDP run, every key prefixed with `module.`.
#pragma once

#include <string>
#include <vector>

#include "speakernet/models/state_dict.h"

namespace speakernet {

// Strips a leading "module." (DDP) from every key, renames loss.affine.weight to loss.weight
// and drops the extract_fbank.* buffers (our features are computed outside the model). Names of
// the dropped entries are appended to `dropped` when given. Duplicate keys after the mapping are
// an error naming the key.
StateDict FromSpeakerNetStateDict(const StateDict& state, std::vector<std::string>* dropped);

}  // namespace speakernet
