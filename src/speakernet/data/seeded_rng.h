// The data layer's deterministic random streams: every random draw of the loader and the
// augmenter comes from an RNG seeded by a tuple of integers (seed, epoch, batch, item, stream tag),
// so that a draw depends only on where it happens, never on timing or worker count.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

namespace speakernet {

// Seeds from 64-bit values split into the 32-bit words std::seed_seq consumes (seed_seq and
// mt19937_64 are fully specified by the standard, so the streams are the same everywhere).
inline std::mt19937_64 MakeRng(std::initializer_list<int64_t> values) {
  std::vector<uint32_t> words;
  for (const int64_t v : values) {
    words.push_back(static_cast<uint32_t>(static_cast<uint64_t>(v)));
    words.push_back(static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32));
  }
  std::seed_seq seq(words.begin(), words.end());
  return std::mt19937_64(seq);
}

}  // namespace speakernet
