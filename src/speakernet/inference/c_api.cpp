// The C API (speakernet/c_api.h): each function catches everything and reports it through
// speakernet_last_error, so no C++ exception reaches C.
#include "speakernet/c_api.h"

#include <cstring>
#include <string>

#include "speakernet/common/error.h"
#include "speakernet/speakernet.h"

struct SpeakernetEmbedder {
  speakernet::Embedder embedder;
};
struct SpeakernetRegistry {
  speakernet::SpeakerRegistry registry;
};

namespace {

thread_local std::string last_error;

// Runs f, returning its status; an exception becomes -1 with its message as the last error.
template <class F>
int Guard(F&& f) {
  last_error.clear();
  try {
    return f();
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown error";
  }
  return -1;
}

void CheckArg(bool ok, const char* what) {
  if (!ok) throw speakernet::Error(std::string("speakernet C API: ") + what);
}

// Copies s into buf (NUL-terminated); -1 when it does not fit.
int CopyName(const std::string& s, char* buf, int buf_size) {
  CheckArg(buf != nullptr && buf_size > 0, "buf is NULL or buf_size <= 0");
  CheckArg(static_cast<int>(s.size()) < buf_size,
           ("buf_size too small for the name '" + s + "'").c_str());
  std::memcpy(buf, s.c_str(), s.size() + 1);
  return 0;
}

}  // namespace

extern "C" {

const char* speakernet_last_error(void) { return last_error.c_str(); }

SpeakernetEmbedder* speakernet_embedder_load(const char* path, const char** error) {
  SpeakernetEmbedder* out = nullptr;
  Guard([&] {
    CheckArg(path != nullptr, "path is NULL");
    out = new SpeakernetEmbedder{speakernet::Embedder::Load(path)};
    return 0;
  });
  if (error != nullptr) *error = out ? nullptr : last_error.c_str();
  return out;
}

void speakernet_embedder_free(SpeakernetEmbedder* embedder) { delete embedder; }

int speakernet_embedder_dim(const SpeakernetEmbedder* embedder) {
  return Guard([&] {
    CheckArg(embedder != nullptr, "embedder is NULL");
    return embedder->embedder.Dim();
  });
}

int speakernet_embedder_sample_rate(const SpeakernetEmbedder* embedder) {
  return Guard([&] {
    CheckArg(embedder != nullptr, "embedder is NULL");
    return embedder->embedder.SampleRate();
  });
}

int speakernet_embedder_threshold(const SpeakernetEmbedder* embedder, float* threshold) {
  return Guard([&] {
    CheckArg(embedder != nullptr && threshold != nullptr, "embedder or threshold is NULL");
    *threshold = embedder->embedder.Threshold();
    return 0;
  });
}

int speakernet_embedder_embed(SpeakernetEmbedder* embedder, const float* samples, long n,
                              int sample_rate, float* out) {
  return Guard([&] {
    CheckArg(embedder != nullptr && out != nullptr, "embedder or out is NULL");
    const std::vector<float> e = embedder->embedder.Embed(samples, n, sample_rate);
    std::memcpy(out, e.data(), e.size() * sizeof(float));
    return 0;
  });
}

int speakernet_embedder_embed_file(SpeakernetEmbedder* embedder, const char* path, float* out) {
  return Guard([&] {
    CheckArg(embedder != nullptr && path != nullptr && out != nullptr,
             "embedder, path or out is NULL");
    const std::vector<float> e = embedder->embedder.EmbedFile(path);
    std::memcpy(out, e.data(), e.size() * sizeof(float));
    return 0;
  });
}

int speakernet_cosine_score(const float* a, const float* b, int dim, float* score) {
  return Guard([&] {
    CheckArg(a != nullptr && b != nullptr && score != nullptr && dim > 0,
             "a, b or score is NULL, or dim <= 0");
    *score =
        speakernet::CosineScore(std::vector<float>(a, a + dim), std::vector<float>(b, b + dim));
    return 0;
  });
}

SpeakernetRegistry* speakernet_registry_new(int dim) {
  SpeakernetRegistry* out = nullptr;
  Guard([&] {
    out = new SpeakernetRegistry{speakernet::SpeakerRegistry(dim)};
    return 0;
  });
  return out;
}

void speakernet_registry_free(SpeakernetRegistry* registry) { delete registry; }

int speakernet_registry_enroll(SpeakernetRegistry* registry, const char* name,
                               const float* embeddings, int num) {
  return Guard([&] {
    CheckArg(registry != nullptr && name != nullptr && embeddings != nullptr && num > 0,
             "registry, name or embeddings is NULL, or num <= 0");
    const int dim = registry->registry.Dim();
    std::vector<std::vector<float>> rows;
    for (int i = 0; i < num; ++i)
      rows.emplace_back(embeddings + i * dim, embeddings + (i + 1) * dim);
    registry->registry.Enroll(name, rows);
    return 0;
  });
}

int speakernet_registry_remove(SpeakernetRegistry* registry, const char* name) {
  return Guard([&] {
    CheckArg(registry != nullptr && name != nullptr, "registry or name is NULL");
    return registry->registry.Remove(name) ? 0 : -1;
  });
}

int speakernet_registry_size(const SpeakernetRegistry* registry) {
  return Guard([&] {
    CheckArg(registry != nullptr, "registry is NULL");
    return registry->registry.Size();
  });
}

int speakernet_registry_name(const SpeakernetRegistry* registry, int i, char* buf, int buf_size) {
  return Guard([&] {
    CheckArg(registry != nullptr, "registry is NULL");
    const std::vector<std::string> names = registry->registry.Names();
    CheckArg(i >= 0 && i < static_cast<int>(names.size()), "name index out of range");
    return CopyName(names[i], buf, buf_size);
  });
}

int speakernet_registry_verify(const SpeakernetRegistry* registry, const char* name,
                               const float* embedding, float threshold, float* score) {
  return Guard([&] {
    CheckArg(registry != nullptr && name != nullptr && embedding != nullptr,
             "registry, name or embedding is NULL");
    const int dim = registry->registry.Dim();
    const float s = registry->registry.Score(name, std::vector<float>(embedding, embedding + dim));
    if (score != nullptr) *score = s;
    return s >= threshold ? 1 : 0;
  });
}

int speakernet_registry_identify(const SpeakernetRegistry* registry, const float* embedding,
                                 float threshold, char* buf, int buf_size, float* score) {
  return Guard([&] {
    CheckArg(registry != nullptr && embedding != nullptr, "registry or embedding is NULL");
    const int dim = registry->registry.Dim();
    const auto m =
        registry->registry.Identify(std::vector<float>(embedding, embedding + dim), threshold);
    if (score != nullptr) *score = m.score;
    if (m.name.empty()) return 0;
    CopyName(m.name, buf, buf_size);
    return 1;
  });
}

}  // extern "C"
