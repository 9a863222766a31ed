#include "speakernet/data/paired_sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "speakernet/common/error.h"
#include "speakernet/data/seeded_rng.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;

// Speaker A: language 0 chunks 0-5, language 1 chunks 6-9 (both choices always exist).
// Speaker B: language 0 only, chunks 10-13. Speaker C: chunk 14 alone in language 0, chunks
// 15-17 in language 1. Speaker D: chunk 18 (language 2) and 19 (language 3). Speaker E: none.
const std::vector<int> kSpeaker{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3};
const std::vector<int> kLanguage{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 2, 3};
const std::vector<std::string> kNames{"A", "B", "C", "D", "E"};

// A count of Bernoulli(q) successes in n trials lies within 5 standard deviations of n q
// (probability of a false failure below 1e-6 per check).
void ExpectBinomial(int64_t count, int64_t n, double q, const std::string& what) {
  const double sd = std::sqrt(n * q * (1 - q));
  EXPECT_NEAR(double(count), n * q, 5 * sd + 1e-9) << what << ": " << count << " of " << n;
}

// Empirical frequency of different-language partners against p, and uniformity of the partner
// within each branch, for a chunk that has both choices.
TEST(PairedSampler, DifferentLanguageFrequencyIsPAndCandidatesAreUniform) {
  for (const double p : {0.2, 0.5, 0.8}) {
    PairedSampler sampler(kSpeaker, kLanguage, kNames, p);
    auto rng = MakeRng({11, int64_t(p * 10)});
    const int64_t n = 30000;
    std::map<int64_t, int64_t> partner_count;  // of chunk 0
    int64_t different = 0;
    for (int64_t t = 0; t < n; ++t) {
      const int64_t c = t % 10;  // speaker A's chunks in turn
      const int64_t partner = sampler.Partner(c, rng);
      different += kLanguage[partner] != kLanguage[c];
      if (c == 0) ++partner_count[partner];
    }
    ExpectBinomial(different, n, p, "different-language pairs, p " + std::to_string(p));
    // Chunk 0: five same-language candidates with (1 - p) / 5 each, four others with p / 4.
    for (int64_t k = 1; k < 10; ++k) {
      const double q = k < 6 ? (1 - p) / 5 : p / 4;
      ExpectBinomial(partner_count[k], n / 10, q, "partner " + std::to_string(k));
    }
    EXPECT_EQ(partner_count.count(0), 0u);
  }
}

TEST(PairedSampler, PartnerIsAnotherChunkOfTheSameSpeaker) {
  for (const double p : {0.0, 0.5, 1.0}) {
    PairedSampler sampler(kSpeaker, kLanguage, kNames, p);
    auto rng = MakeRng({5});
    int64_t a_different = 0;
    for (int t = 0; t < 4000; ++t) {
      const int64_t c = t % 20;
      const int64_t partner = sampler.Partner(c, rng);
      ASSERT_NE(partner, c);
      ASSERT_EQ(kSpeaker[partner], kSpeaker[c]) << "chunk " << c;
      const bool different = kLanguage[partner] != kLanguage[c];
      if (c < 10) a_different += different;
      // B has one language: always the same language, whatever p.
      if (kSpeaker[c] == 1) EXPECT_FALSE(different);
      // Chunk 14 is alone in its language, D's chunks too: always another language.
      if (c == 14 || kSpeaker[c] == 3) EXPECT_TRUE(different);
    }
    if (p == 0.0) EXPECT_EQ(a_different, 0);
    if (p == 1.0) EXPECT_EQ(a_different, 2000);
  }
  EXPECT_EQ(PairedSampler(kSpeaker, kLanguage, kNames, 0.5).MultilingualSpeakers(), 3);
}

TEST(PairedSampler, ASpeakerWithOneChunkIsAnErrorNamingIt) {
  std::vector<int> speaker = kSpeaker, language = kLanguage;
  speaker.push_back(4);  // E gets a single chunk
  language.push_back(0);
  try {
    PairedSampler(speaker, language, kNames, 0.5);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("speaker 'E' has a single training chunk"));
  }
  EXPECT_THROW(PairedSampler(kSpeaker, kLanguage, kNames, 1.5), Error);
}

}  // namespace
}  // namespace speakernet
