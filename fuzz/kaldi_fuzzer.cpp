// Kaldi archives and scp files (common/kaldi_io.h) and the embedding tables built from them
// (scoring/embedding_table.h). Section 1 is an ark file, section 2 (optional) an scp whose
// rxspecs may name that ark as "@ARK" (only such scp files are followed, so no other file is
// read). The first byte also picks an offset for a direct "ark:offset" read.
#include <string>

#include "fuzz/fuzz_util.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/scoring/embedding_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace speakernet;
  const auto sections = fuzz::Sections(data, size);
  const std::string ark = fuzz::WriteInput("in.ark", sections[0].data(), sections[0].size());
  auto ignore = [](const std::string&, const kaldi::FloatMatrix&) {};
  fuzz::Clean([&] { kaldi::ForEachInArk(ark, ignore); });
  fuzz::Clean([&] { (void)kaldi::ReadObject(ark); });
  if (size > 0) {
    const size_t offset = data[0] % (sections[0].size() + 1);
    fuzz::Clean([&] { (void)kaldi::ReadObject(ark + ":" + std::to_string(offset)); });
  }
  fuzz::Clean([&] { (void)EmbeddingTable::Load(ark); });
  if (sections.size() < 2) return 0;
  std::string scp(sections[1]);
  for (size_t at = scp.find("@ARK"); at != std::string::npos; at = scp.find("@ARK", at + 1)) {
    scp.replace(at, 4, ark);
  }
  const std::string scp_path = fuzz::WriteInput("in.scp", scp.data(), scp.size());
  bool only_ours = true;
  fuzz::Clean([&] {
    for (const auto& [key, rx] : kaldi::ReadScp(scp_path)) {
      only_ours = only_ours && rx.rfind(ark, 0) == 0 && rx.find('|') == std::string::npos;
    }
    if (!only_ours) return;
    kaldi::ForEachInScp(scp_path, ignore);
    (void)EmbeddingTable::Load(scp_path);
  });
  return 0;
}
