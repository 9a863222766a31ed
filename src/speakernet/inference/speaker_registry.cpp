// SpeakerRegistry of the public API (speakernet/speakernet.h).
#include <algorithm>
#include <map>
#include <shared_mutex>

#include "speakernet/common/error.h"
#include "speakernet/speakernet.h"

namespace speakernet {

struct SpeakerRegistry::Impl {
  struct Speaker {
    std::vector<double> sum;
    int count = 0;
    std::vector<float> mean;
  };
  int dim;
  mutable std::shared_mutex mu;
  std::map<std::string, Speaker> speakers;

  void CheckDim(const std::vector<float>& e, const std::string& what) const {
    SN_CHECK(static_cast<int>(e.size()) == dim,
             "speaker registry: {} has {} dimensions, the registry {}", what, e.size(), dim);
  }
  const Speaker& Find(const std::string& name) const {
    const auto it = speakers.find(name);
    SN_CHECK(it != speakers.end(), "speaker registry: no speaker '{}' is enrolled", name);
    return it->second;
  }
};

SpeakerRegistry::SpeakerRegistry(int dim) : impl_(std::make_unique<Impl>()) {
  SN_CHECK(dim > 0, "speaker registry: dim must be > 0, got {}", dim);
  impl_->dim = dim;
}
SpeakerRegistry::SpeakerRegistry(SpeakerRegistry&&) noexcept = default;
SpeakerRegistry& SpeakerRegistry::operator=(SpeakerRegistry&&) noexcept = default;
SpeakerRegistry::~SpeakerRegistry() = default;

void SpeakerRegistry::Enroll(const std::string& name, const std::vector<float>& embedding) {
  Enroll(name, std::vector<std::vector<float>>{embedding});
}

void SpeakerRegistry::Enroll(const std::string& name,
                             const std::vector<std::vector<float>>& embeddings) {
  SN_CHECK(!name.empty(), "speaker registry: the speaker name is empty");
  SN_CHECK(!embeddings.empty(), "speaker registry: no embedding to enrol '{}' with", name);
  for (const auto& e : embeddings) impl_->CheckDim(e, "an embedding of '" + name + "'");
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  Impl::Speaker& s = impl_->speakers[name];
  s.sum.resize(impl_->dim, 0.0);
  for (const auto& e : embeddings) {
    for (int i = 0; i < impl_->dim; ++i) s.sum[i] += e[i];
  }
  s.count += static_cast<int>(embeddings.size());
  s.mean.resize(impl_->dim);
  for (int i = 0; i < impl_->dim; ++i) s.mean[i] = static_cast<float>(s.sum[i] / s.count);
}

bool SpeakerRegistry::Remove(const std::string& name) {
  std::unique_lock<std::shared_mutex> lock(impl_->mu);
  return impl_->speakers.erase(name) > 0;
}

bool SpeakerRegistry::Contains(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  return impl_->speakers.count(name) > 0;
}

std::vector<std::string> SpeakerRegistry::Names() const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  std::vector<std::string> names;
  for (const auto& kv : impl_->speakers) names.push_back(kv.first);
  return names;
}

int SpeakerRegistry::Size() const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  return static_cast<int>(impl_->speakers.size());
}

int SpeakerRegistry::Dim() const { return impl_->dim; }

int SpeakerRegistry::NumEmbeddings(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  return impl_->Find(name).count;
}

float SpeakerRegistry::Score(const std::string& name, const std::vector<float>& embedding) const {
  impl_->CheckDim(embedding, "the test embedding");
  std::shared_lock<std::shared_mutex> lock(impl_->mu);
  return CosineScore(impl_->Find(name).mean, embedding);
}

bool SpeakerRegistry::Verify(const std::string& name, const std::vector<float>& embedding,
                             float threshold) const {
  return Score(name, embedding) >= threshold;
}

std::vector<SpeakerRegistry::Match> SpeakerRegistry::Rank(const std::vector<float>& embedding,
                                                          int max_results) const {
  impl_->CheckDim(embedding, "the test embedding");
  std::vector<Match> out;
  {
    std::shared_lock<std::shared_mutex> lock(impl_->mu);
    for (const auto& [name, s] : impl_->speakers)
      out.push_back({name, CosineScore(s.mean, embedding)});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Match& a, const Match& b) { return a.score > b.score; });
  if (max_results > 0 && static_cast<int>(out.size()) > max_results) out.resize(max_results);
  return out;
}

SpeakerRegistry::Match SpeakerRegistry::Identify(const std::vector<float>& embedding,
                                                 float threshold) const {
  const std::vector<Match> best = Rank(embedding, 1);
  if (best.empty()) return {};
  Match m = best.front();
  if (m.score < threshold) m.name.clear();
  return m;
}

}  // namespace speakernet
