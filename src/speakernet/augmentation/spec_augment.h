// SpecAugment time and frequency masking of a feature batch. speaker-net ships a SpecAugment
// module but never uses it (and it indexes the wrong axis, spec §1.4); this is the standard
// form, optional and off unless a caller applies it.
#pragma once

#include <torch/torch.h>

#include "speakernet/augmentation/augment_config.h"

namespace speakernet {

// Masks `feats` [B, F, T] in place (any device): for every item b independently,
// config.num_freq_masks frequency bands and config.num_time_masks time spans are set to
// config.mask_value. A mask's width is drawn uniformly from [min_width, max_width] (clipped to
// the axis length) and its start uniformly from [0, size - width]. Masks may overlap. All random
// numbers come from `gen` (a CPU generator, e.g. at::detail::createCPUGenerator(seed)), drawn in
// a fixed order, so the same generator state gives the same masks on every device.
void SpecAugment(torch::Tensor& feats, const SpecAugmentConfig& config, torch::Generator gen);

}  // namespace speakernet
