#include "speakernet/models/speaker_net_interop.h"

#include <set>

#include "speakernet/common/error.h"

namespace speakernet {

StateDict FromSpeakerNetStateDict(const StateDict& state, std::vector<std::string>* dropped) {
  StateDict out;
  std::set<std::string> seen;
  for (const auto& [raw_name, tensor] : state) {
    std::string name = raw_name;
    if (name.rfind("module.", 0) == 0) name = name.substr(7);
    if (name.rfind("extract_fbank.", 0) == 0) {
      if (dropped != nullptr) dropped->push_back(raw_name);
      continue;
    }
    if (name == "loss.affine.weight") name = "loss.weight";
    SN_CHECK(seen.insert(name).second, "key '{}' appears twice (after removing 'module.')", name);
    out.emplace_back(name, tensor);
  }
  return out;
}

}  // namespace speakernet
