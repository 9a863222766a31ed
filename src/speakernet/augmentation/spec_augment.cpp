#include "speakernet/augmentation/spec_augment.h"

#include <algorithm>

#include "speakernet/common/error.h"

namespace speakernet {

namespace {

// A [B, size] bool mask (on `device`) holding `num` random spans per row.
torch::Tensor SpanMask(int64_t batch, int64_t size, int num, int min_width, int max_width,
                       torch::Generator& gen, const torch::Device& device) {
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  auto mask =
      torch::zeros({batch, size}, torch::TensorOptions().dtype(torch::kBool).device(device));
  if (num == 0 || size == 0) return mask;
  const int64_t lo = std::min<int64_t>(min_width, size);
  const int64_t hi = std::min<int64_t>(max_width, size);
  // Widths in [lo, hi], then starts in [0, size - width], all on the CPU generator.
  torch::Tensor width = torch::randint(lo, hi + 1, {batch, num}, gen, i64);
  const torch::Tensor u =
      torch::rand({batch, num}, gen, torch::TensorOptions().dtype(torch::kFloat64));
  torch::Tensor start = torch::floor(u * (size - width + 1).to(torch::kFloat64)).to(torch::kInt64);
  start = torch::minimum(start, size - width);  // guards u*(n) rounding up to n
  const torch::Tensor pos = torch::arange(size, i64.device(device)).view({1, 1, size});
  start = start.to(device).unsqueeze(2);
  width = width.to(device).unsqueeze(2);
  return ((pos >= start) & (pos < start + width)).any(1);
}

}  // namespace

void SpecAugment(torch::Tensor& feats, const SpecAugmentConfig& config, torch::Generator gen) {
  SN_CHECK(feats.dim() == 3, "SpecAugment: features must be [B, F, T], got {} dims", feats.dim());
  config.Validate();
  const int64_t B = feats.size(0), F = feats.size(1), T = feats.size(2);
  const torch::Device device = feats.device();
  const torch::Tensor fmask = SpanMask(B, F, config.num_freq_masks, config.min_freq_width,
                                       config.max_freq_width, gen, device);
  const torch::Tensor tmask = SpanMask(B, T, config.num_time_masks, config.min_time_width,
                                       config.max_time_width, gen, device);
  const torch::Tensor mask = fmask.unsqueeze(2) | tmask.unsqueeze(1);  // [B, F, T]
  feats.masked_fill_(mask, config.mask_value);
}

}  // namespace speakernet
