// .npy arrays (common/kaldi_io.h ReadNpy) and embedding tables loaded from them with a keys
// file (scoring/embedding_table.h): section 1 is the .npy, section 2 (optional) the keys file.
#include "fuzz/fuzz_util.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/scoring/embedding_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace speakernet;
  const auto sections = fuzz::Sections(data, size);
  const std::string npy = fuzz::WriteInput("in.npy", sections[0].data(), sections[0].size());
  fuzz::Clean([&] {
    const kaldi::FloatMatrix m = kaldi::ReadNpy(npy);
    if (static_cast<int64_t>(m.data.size()) != m.rows * m.cols) std::abort();
  });
  std::string keys;
  if (sections.size() > 1)
    keys = fuzz::WriteInput("keys.txt", sections[1].data(), sections[1].size());
  fuzz::Clean([&] { (void)EmbeddingTable::Load(npy, keys); });
  return 0;
}
