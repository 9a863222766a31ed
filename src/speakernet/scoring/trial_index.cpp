#include "speakernet/scoring/trial_index.h"

#include <algorithm>

#include "speakernet/common/error.h"

namespace speakernet {

TrialRows MapTrialsToRows(const EmbeddingTable& table, const std::vector<Trial>& trials) {
  const int64_t n = static_cast<int64_t>(trials.size());
  TrialRows out;
  out.pairs.resize(trials.size());
  std::pair<int64_t, int64_t>* pairs = out.pairs.data();

  // Pass 1, in parallel: the table row of every trial side (-1 = missing), written to `pairs`.
  // Per block of trials, first every key is hashed and its first index entry prefetched, then
  // the stored keys those entries point to, then the lookups run on (mostly) cached memory.
  // A trial repeating the previous trial's enroll id (grouped lists) reuses its row.
  constexpr int64_t kChunk = 8192, kBlock = 512;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (chunks > 1)
#endif
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t c_begin = c * kChunk, c_end = std::min(n, c_begin + kChunk);
    uint64_t enroll_hash[kBlock], test_hash[kBlock];
    bool same_enroll[kBlock];
    for (int64_t b = c_begin; b < c_end; b += kBlock) {
      const int64_t m = std::min<int64_t>(kBlock, c_end - b);
      for (int64_t k = 0; k < m; ++k) {
        const Trial& tr = trials[static_cast<size_t>(b + k)];
        same_enroll[k] =
            b + k > c_begin && tr.enroll == trials[static_cast<size_t>(b + k - 1)].enroll;
        if (!same_enroll[k]) {
          enroll_hash[k] = EmbeddingTable::HashKey(tr.enroll);
          table.PrefetchIndex(enroll_hash[k]);
        }
        test_hash[k] = EmbeddingTable::HashKey(tr.test);
        table.PrefetchIndex(test_hash[k]);
      }
      for (int64_t k = 0; k < m; ++k) {
        if (!same_enroll[k]) table.PrefetchKey(enroll_hash[k]);
        table.PrefetchKey(test_hash[k]);
      }
      for (int64_t k = 0; k < m; ++k) {
        const Trial& tr = trials[static_cast<size_t>(b + k)];
        std::pair<int64_t, int64_t>& p = pairs[b + k];
        p.first =
            same_enroll[k] ? pairs[b + k - 1].first : table.IndexOf(tr.enroll, enroll_hash[k]);
        p.second = table.IndexOf(tr.test, test_hash[k]);
      }
    }
  }

  // Pass 2, in trial order: rows -> slots (first appearance), and the first missing id.
  constexpr uint32_t kNone = 0xffffffffu;  // rows (and so slots) are < 2^32 - 1
  std::vector<uint32_t> slot(table.size(), kNone);
  out.used.reserve(std::min(table.size(), 2 * trials.size()));
  auto slot_of = [&](int64_t row, const std::string& id, size_t t) -> int64_t {
    SN_CHECK(row >= 0, "trial #{} ('{}' '{}'): no embedding for '{}' in {}", t + 1,
             trials[t].enroll, trials[t].test, id, table.source());
    uint32_t& s = slot[static_cast<size_t>(row)];
    if (s == kNone) {
      s = static_cast<uint32_t>(out.used.size());
      out.used.push_back(static_cast<size_t>(row));
    }
    return s;
  };
  for (size_t t = 0; t < trials.size(); ++t) {
    std::pair<int64_t, int64_t>& p = pairs[t];
    p.first = slot_of(p.first, trials[t].enroll, t);
    p.second = slot_of(p.second, trials[t].test, t);
  }
  return out;
}

}  // namespace speakernet
