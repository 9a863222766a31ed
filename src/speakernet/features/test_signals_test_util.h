// Test-only: speech-like signals and comparisons shared by the fbank and kaldi_fbank tests.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace speakernet::test {

// A few harmonics with a wandering pitch plus noise, amplitude ~0.3, plus `dc_offset` (so that
// Kaldi's DC removal matters).
inline torch::Tensor MakeWaves(int64_t batch, int64_t length, int64_t seed, double dc_offset = 0) {
  torch::manual_seed(seed);
  const torch::Tensor t = torch::arange(length, torch::kDouble).unsqueeze(0) / 16000.0;
  const torch::Tensor f0 = 100 + 150 * torch::rand({batch, 1}, torch::kDouble);
  const torch::Tensor vibrato = 0.3 * torch::sin(2 * M_PI * 3 * t);
  torch::Tensor wave = torch::zeros({batch, length}, torch::kDouble);
  for (int h = 1; h <= 5; ++h) {
    wave += torch::sin(2 * M_PI * h * f0 * t + h * vibrato) / h;
  }
  wave = 0.1 * wave + 0.02 * torch::randn({batch, length}, torch::kDouble);
  if (dc_offset != 0) wave = wave + dc_offset;
  return wave.to(torch::kFloat).contiguous();
}

inline std::vector<float> ToVector(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().to(torch::kFloat);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

inline double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace speakernet::test
