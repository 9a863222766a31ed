// Embeds audio files with speakernet's C++ API, one thread per file on one shared Embedder, and
// prints each embedding and the cosine score of the first two files.
//   embed_files MODEL a.wav [b.wav ...]
#include <speakernet/speakernet.h>
#include <speakernet/version.h>

#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL a.wav [b.wav ...]  (speakernet %s)\n", argv[0],
                 SPEAKERNET_VERSION_STRING);
    return 2;
  }
  try {
    speakernet::EmbedderOptions options;
    options.threads = 1;  // torch threads per call; the files run in parallel below
    const speakernet::Embedder embedder = speakernet::Embedder::Load(argv[1], options);

    std::vector<std::string> files(argv + 2, argv + argc);
    std::vector<std::vector<float>> embeddings(files.size());
    std::vector<std::string> errors(files.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < files.size(); ++i) {
      threads.emplace_back([&, i] {  // Embed/EmbedFile may run concurrently on one Embedder
        try {
          embeddings[i] = embedder.EmbedFile(files[i]);
        } catch (const speakernet::Error& e) {
          errors[i] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();

    for (size_t i = 0; i < files.size(); ++i) {
      if (!errors[i].empty()) {
        std::fprintf(stderr, "error: %s\n", errors[i].c_str());
        return 1;
      }
      std::printf("%s", files[i].c_str());
      for (float x : embeddings[i]) std::printf(" %.9g", x);
      std::printf("\n");
    }
    if (files.size() >= 2) {
      std::printf("score %.6f\n", speakernet::CosineScore(embeddings[0], embeddings[1]));
    }
  } catch (const speakernet::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
