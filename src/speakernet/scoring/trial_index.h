// Maps the two sides of every trial to rows of an EmbeddingTable, with each used row given a
// compact "slot", so that a back end can prepare (normalise, project, ...) only the rows a trial
// list uses, once each, and then score trial t from slots pairs[t].
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "speakernet/scoring/embedding_table.h"
#include "speakernet/scoring/trials.h"

namespace speakernet {

struct TrialRows {
  // Table rows in slot order: slot k is table row used[k]. Slots are given in order of first
  // appearance in the trial list (trial 0 enroll, trial 0 test, trial 1 enroll, ...), so the
  // result is deterministic (independent of the thread count). Each row appears once.
  std::vector<size_t> used;
  // Per trial: (enroll slot, test slot), indices into `used`.
  std::vector<std::pair<int64_t, int64_t>> pairs;
};

// Throws, when a trial id is not in `table`, naming the FIRST such trial (1-based), both its ids,
// the missing one (the enroll id when both are) and table.source():
//   trial #N ('ENROLL' 'TEST'): no embedding for 'ID' in SOURCE
// The hash lookups run in parallel (OpenMP threads, i.e. at::set_num_threads where LibTorch is
// used); a lookup is skipped when a trial repeats the previous trial's enroll id.
TrialRows MapTrialsToRows(const EmbeddingTable& table, const std::vector<Trial>& trials);

}  // namespace speakernet
