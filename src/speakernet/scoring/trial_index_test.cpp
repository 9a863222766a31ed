#include "speakernet/scoring/trial_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>

#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/scoped_omp_threads.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using test::ErrorOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Pairs = std::vector<std::pair<int64_t, int64_t>>;

EmbeddingTable Table(const std::vector<std::string>& ids) {
  EmbeddingTable t;
  for (size_t i = 0; i < ids.size(); ++i) t.Add(ids[i], {static_cast<float>(i), 1.0f});
  return t;
}

// A VoxCeleb-like id ("id10270/5r0dWxy17C8/00001.wav", 29 characters: longer than SSO).
std::string VoxId(int spk, int video, int utt) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "id%05d/%011d/%05d.wav", 10000 + spk, video, utt);
  return buf;
}

// The plain way: std::map lookups, slots in order of first appearance.
TrialRows NaiveMap(const EmbeddingTable& table, const std::vector<Trial>& trials) {
  std::map<std::string, size_t> rows;
  for (size_t i = 0; i < table.size(); ++i) rows[table.key(i)] = i;
  std::map<size_t, int64_t> slots;
  TrialRows out;
  auto slot = [&](const std::string& id) -> int64_t {
    const size_t r = rows.at(id);
    const auto [it, inserted] = slots.emplace(r, static_cast<int64_t>(out.used.size()));
    if (inserted) out.used.push_back(r);
    return it->second;
  };
  for (const Trial& t : trials) {
    const int64_t e = slot(t.enroll);
    out.pairs.emplace_back(e, slot(t.test));
  }
  return out;
}


TEST(TrialIndex, SlotsInOrderOfFirstAppearance) {
  const EmbeddingTable t = Table({"a", "b", "c", "d", "unused"});
  const TrialRows r =
      MapTrialsToRows(t, {{"b", "a", 1}, {"b", "c", 0}, {"a", "d", 0}, {"c", "b", -1}});
  EXPECT_THAT(r.used, ElementsAre(1u, 0u, 2u, 3u));
  EXPECT_EQ(r.pairs, (Pairs{{0, 1}, {0, 2}, {1, 3}, {2, 0}}));
  const TrialRows none = MapTrialsToRows(t, {});
  EXPECT_TRUE(none.used.empty());
  EXPECT_TRUE(none.pairs.empty());
}

TEST(TrialIndex, DuplicateIdsAndRepeatedTrials) {
  const EmbeddingTable t = Table({"x", "y", "z"});
  const TrialRows r = MapTrialsToRows(
      t, {{"z", "z", 1}, {"z", "z", 1}, {"y", "z", 0}, {"z", "y", 0}, {"z", "y", 0}});
  EXPECT_THAT(r.used, ElementsAre(2u, 1u));
  EXPECT_EQ(r.pairs, (Pairs{{0, 0}, {0, 0}, {1, 0}, {0, 1}, {0, 1}}));
}

TEST(TrialIndex, MissingIdNamesTheFirstBadTrial) {
  const EmbeddingTable t = Table({"a", "b"});
  EXPECT_EQ(ErrorOf([&] {
              MapTrialsToRows(t, {{"a", "b", 1}, {"a", "nope", 0}});
            }),
            "trial #2 ('a' 'nope'): no embedding for 'nope' in <memory>");
  // Both ids missing: the enroll id is named.
  EXPECT_THAT(ErrorOf([&] {
                MapTrialsToRows(t, {{"e?", "t?", 1}});
              }),
              HasSubstr("trial #1 ('e?' 't?'): no embedding for 'e?' in <memory>"));
  // Many trials, split over threads: still the first bad one, whichever thread finds it.
  std::vector<Trial> trials(60000, Trial{"a", "b", 1});
  for (size_t i = 0; i < trials.size(); ++i) trials[i].test = i % 2 ? "a" : "b";
  trials[45000].enroll = "late";
  trials[20010].test = "first";
  trials[20011].enroll = "second";
  for (int threads : {1, 2, 3}) {
    test::ScopedOmpThreads scope(threads);
    EXPECT_EQ(ErrorOf([&] { MapTrialsToRows(t, trials); }),
              "trial #20011 ('a' 'first'): no embedding for 'first' in <memory>")
        << threads << " threads";
  }
  // The table's source is named.
  test::ScratchDir dir("sn_trial_index");
  std::ofstream(dir / "utts.txt") << "a\nb\n";
  const std::vector<float> rows = {1, 2, 3, 4};
  kaldi::WriteNpy(dir / "embeddings.npy", rows.data(), {2, 2});
  const EmbeddingTable loaded = EmbeddingTable::Load(dir.str());
  EXPECT_EQ(ErrorOf([&] {
              MapTrialsToRows(loaded, {{"b", "a", 1}, {"c", "a", 0}});
            }),
            "trial #2 ('c' 'a'): no embedding for 'c' in " + loaded.source());
  EXPECT_THAT(loaded.source(), HasSubstr("embeddings.npy"));
}

TEST(TrialIndex, AgreesWithNaiveMapOnRandomData) {
  std::mt19937 rng(7);
  std::vector<std::string> ids;
  for (int s = 0; s < 300; ++s) {
    for (int v = 0; v < 10; ++v) ids.push_back(VoxId(s, (s * 7919 + v * 104729) % 99999999, v));
  }
  for (int i = 0; i < 2000; ++i) ids.push_back("id" + std::to_string(i));  // short (SSO) ids
  std::shuffle(ids.begin(), ids.end(), rng);
  const EmbeddingTable t = Table(ids);
  std::uniform_int_distribution<size_t> pick(0, ids.size() - 1);
  for (bool grouped : {true, false}) {
    std::vector<Trial> trials(70000);
    for (size_t i = 0; i < trials.size(); ++i) {
      trials[i].enroll = ids[grouped ? (i / 37 * 13) % ids.size() : pick(rng)];
      trials[i].test = ids[pick(rng)];
    }
    const TrialRows ref = NaiveMap(t, trials);
    for (int threads : {1, 2, 3}) {
      test::ScopedOmpThreads scope(threads);
      const TrialRows r = MapTrialsToRows(t, trials);
      EXPECT_EQ(r.used, ref.used) << "grouped " << grouped << ", " << threads << " threads";
      EXPECT_EQ(r.pairs, ref.pairs) << "grouped " << grouped << ", " << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace speakernet
