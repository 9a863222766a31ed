// Multiply-accumulate count of a forward pass, measured on the ops actually run: every
// aten::convolution (out_numel * Cin/groups * prod(kernel)) and every matrix product
// (aten::linear, matmul, mm, addmm, bmm: out_numel * inner dim) that is not nested inside
// another counted op. BatchNorm, activations, softmax and the pooling statistics are not counted
// (they are a fraction of a percent for these models).
//
// Measured with a thread-local at::RecordFunction callback rather than by walking the module
// tree, because LibTorch modules have no forward hooks and the spatial sizes of 2-D trunks only
// exist at run time.
#pragma once

#include <cstdint>

#include "speakernet/models/speaker_model.h"

namespace speakernet {

// MACs of model.forward on one [1, feat_dim, frames] input, in eval mode without grad (the
// model's train/eval mode is restored). 100 frames = one second of audio at a 10 ms shift.
int64_t CountForwardMacs(SpeakerModel& model, int64_t feat_dim, int64_t frames);

}  // namespace speakernet
