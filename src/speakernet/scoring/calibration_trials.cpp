#include "speakernet/scoring/calibration_trials.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace speakernet {

std::vector<Trial> MakeCalibrationTrials(
    const std::vector<std::pair<std::string, std::string>>& utt2spk, const Durations& durations,
    const CalibrationTrialsOptions& options) {
  options.Validate();
  // Per speaker (sorted, for reproducibility): short and long utterances in listed order.
  std::map<std::string, std::vector<std::string>[2]> by_speaker;
  for (const auto& [utt, spk] : utt2spk) {
    const auto it = durations.find(utt);
    SN_CHECK(it != durations.end(), "calibration trials: no duration for utterance '{}'", utt);
    const double d = it->second;
    if (d >= options.short_min && d < options.short_max) by_speaker[spk][0].push_back(utt);
    if (d >= options.long_min) by_speaker[spk][1].push_back(utt);
  }
  std::vector<std::string> speakers;
  for (const auto& kv : by_speaker) speakers.push_back(kv.first);
  std::mt19937_64 rng(options.seed);
  auto pick = [&](const std::vector<std::string>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  };
  std::vector<Trial> trials;
  const int classes[3][2] = {{0, 0}, {0, 1}, {1, 1}};
  for (const auto& [a, b] : classes) {
    // Targets: speakers in random order, one trial each while they last.
    std::vector<std::string> order = speakers;
    std::shuffle(order.begin(), order.end(), rng);
    int64_t made = 0;
    for (const std::string& spk : order) {
      if (made == options.per_condition) break;
      const auto& ua = by_speaker[spk][a];
      const auto& ub = by_speaker[spk][b];
      if (a == b ? ua.size() < 2 : (ua.empty() || ub.empty())) continue;
      std::string e = pick(ua), t = pick(ub);
      while (a == b && t == e) t = pick(ub);
      trials.push_back({e, t, 1});
      ++made;
    }
    // Non-targets: random distinct speakers that have the needed classes.
    std::vector<std::string> sa, sb;
    for (const std::string& spk : speakers) {
      if (!by_speaker[spk][a].empty()) sa.push_back(spk);
      if (!by_speaker[spk][b].empty()) sb.push_back(spk);
    }
    SN_CHECK(!sa.empty() && !sb.empty() && !(sa.size() == 1 && sb.size() == 1 && sa == sb),
             "calibration trials: not enough speakers with {} and {} utterances",
             a ? "long" : "short", b ? "long" : "short");
    std::set<std::pair<std::string, std::string>> seen;
    int64_t tries = 0;
    for (made = 0; made < options.per_condition && tries < 100 * options.per_condition;
         ++tries) {
      const std::string s1 = pick(sa), s2 = pick(sb);
      if (s1 == s2) continue;
      const std::string e = pick(by_speaker[s1][a]), t = pick(by_speaker[s2][b]);
      if (!seen.insert({e, t}).second) continue;
      trials.push_back({e, t, 0});
      ++made;
    }
  }
  return trials;
}

}  // namespace speakernet
