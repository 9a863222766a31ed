// speaker-net's language-paired sampling (PairedWaveDataset, spec §2.2): every chunk of an epoch
// is the first member of a pair whose second member is another chunk of the same speaker,
//   - of a different language with probability p (loader.paired_other_lang_prob) when the
//     speaker has chunks in another language and also another chunk in this one;
//   - of the same language otherwise, i.e. with probability 1 - p, or always when the speaker
//     has a single language;
//   - of a different language always when the chunk is the speaker's only one in its language.
// Candidates are drawn uniformly (the chunk itself excluded). A speaker with a single chunk has
// no partner: an error naming the speaker (speaker-net asserts the same).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace speakernet {

class PairedSampler {
 public:
  // Per chunk: its speaker index (into speaker_names) and its language index (any ints).
  // Throws Error naming the first speaker that has exactly one chunk.
  PairedSampler(const std::vector<int>& chunk_speaker, const std::vector<int>& chunk_language,
                const std::vector<std::string>& speaker_names, double other_lang_prob);

  // The partner of chunk `c`; draws one uniform number for the language choice, then one index.
  int64_t Partner(int64_t c, std::mt19937_64& rng) const;

  // Speakers with chunks in more than one language (for the log).
  int64_t MultilingualSpeakers() const;

 private:
  std::vector<std::vector<int64_t>> groups_;          // chunk indices per (speaker, language)
  std::vector<std::vector<int64_t>> speaker_groups_;  // group indices per speaker
  std::vector<int64_t> speaker_chunks_;               // chunks per speaker
  std::vector<int64_t> group_of_, pos_in_group_, speaker_of_;  // per chunk
  double p_;
};

}  // namespace speakernet
