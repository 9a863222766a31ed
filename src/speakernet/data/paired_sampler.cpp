#include "speakernet/data/paired_sampler.h"

#include <map>
#include <utility>

#include "speakernet/augmentation/waveform_augment.h"
#include "speakernet/common/error.h"

namespace speakernet {

PairedSampler::PairedSampler(const std::vector<int>& chunk_speaker,
                             const std::vector<int>& chunk_language,
                             const std::vector<std::string>& speaker_names, double other_lang_prob)
    : p_(other_lang_prob) {
  SN_CHECK(chunk_speaker.size() == chunk_language.size(),
           "PairedSampler: {} speakers but {} languages", chunk_speaker.size(),
           chunk_language.size());
  SN_CHECK(p_ >= 0 && p_ <= 1, "loader.paired_other_lang_prob must be in [0, 1], got {}", p_);
  const auto n = static_cast<int64_t>(chunk_speaker.size());
  speaker_groups_.assign(speaker_names.size(), {});
  speaker_chunks_.assign(speaker_names.size(), 0);
  group_of_.resize(n);
  pos_in_group_.resize(n);
  speaker_of_.resize(n);
  std::map<std::pair<int, int>, int64_t> group_index;  // (speaker, language) -> group
  for (int64_t c = 0; c < n; ++c) {
    const int s = chunk_speaker[c];
    SN_CHECK(s >= 0 && s < static_cast<int>(speaker_names.size()),
             "PairedSampler: chunk {} has speaker index {} of {}", c, s, speaker_names.size());
    const auto [it, fresh] =
        group_index.emplace(std::make_pair(s, chunk_language[c]), int64_t(groups_.size()));
    if (fresh) {
      groups_.emplace_back();
      speaker_groups_[s].push_back(it->second);
    }
    group_of_[c] = it->second;
    pos_in_group_[c] = static_cast<int64_t>(groups_[it->second].size());
    groups_[it->second].push_back(c);
    speaker_of_[c] = s;
    ++speaker_chunks_[s];
  }
  for (size_t s = 0; s < speaker_names.size(); ++s) {
    SN_CHECK(speaker_chunks_[s] != 1,
             "speaker '{}' has a single training chunk: the paired sampler needs two or more "
             "chunks per speaker (give it more audio, or remove it from the data dir)",
             speaker_names[s]);
  }
}

int64_t PairedSampler::Partner(int64_t c, std::mt19937_64& rng) const {
  const int64_t g = group_of_[c];
  const auto& same = groups_[g];
  const int64_t s = speaker_of_[c];
  const auto same_others = static_cast<int64_t>(same.size()) - 1;
  const int64_t different = speaker_chunks_[s] - static_cast<int64_t>(same.size());
  const double u = UniformReal(rng, 0.0, 1.0);
  if (different > 0 && (u < p_ || same_others == 0)) {
    int64_t k = UniformInt(rng, 0, different - 1);
    for (const int64_t other : speaker_groups_[s]) {
      if (other == g) continue;
      const auto size = static_cast<int64_t>(groups_[other].size());
      if (k < size) return groups_[other][k];
      k -= size;
    }
    Fail("PairedSampler: internal error (different-language draw out of range)");
  }
  int64_t k = UniformInt(rng, 0, same_others - 1);
  if (k >= pos_in_group_[c]) ++k;  // skip the chunk itself
  return same[k];
}

int64_t PairedSampler::MultilingualSpeakers() const {
  int64_t n = 0;
  for (const auto& groups : speaker_groups_) n += groups.size() > 1;
  return n;
}

}  // namespace speakernet
