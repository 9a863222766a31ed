#include "speakernet/scoring/cosine_scoring.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "speakernet/common/error.h"
#include "speakernet/common/scoped_omp_threads.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::HasSubstr;

using test::ErrorOf;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

EmbeddingTable RandomTable(size_t n, int64_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.3f, 1.0f);  // non-zero mean, so submean matters
  EmbeddingTable t;
  for (size_t i = 0; i < n; ++i) {
    std::vector<float> e(static_cast<size_t>(dim));
    for (float& x : e) x = gauss(rng);
    t.Add("u" + std::to_string(i), std::move(e));
  }
  return t;
}

std::vector<Trial> RandomTrials(size_t n_utts, size_t n_trials, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n_utts - 1);
  std::vector<Trial> trials(n_trials);
  for (size_t i = 0; i < n_trials; ++i) {
    // Grouped by enrollment like the VoxCeleb lists.
    trials[i].enroll = "u" + std::to_string((i / 8) % n_utts);
    trials[i].test = "u" + std::to_string(pick(rng));
    trials[i].target = static_cast<int>(i % 2);
  }
  return trials;
}

// Direct formula in double: (a - m)·(b - m) / (max(|a - m|, eps) · max(|b - m|, eps)).
double DirectCosine(const std::vector<float>& a, const std::vector<float>& b,
                    const std::vector<float>* mean) {
  double dot = 0, na = 0, nb = 0;
  for (size_t j = 0; j < a.size(); ++j) {
    const double x = a[j] - (mean ? (*mean)[j] : 0.0f);
    const double y = b[j] - (mean ? (*mean)[j] : 0.0f);
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / (std::max(std::sqrt(na), 1e-8) * std::max(std::sqrt(nb), 1e-8));
}

TEST(CosineScoring, MatchesDirectFormulaWithAndWithoutMean) {
  for (int64_t dim : {1, 7, 192, 256}) {
    const EmbeddingTable table = RandomTable(50, dim, 1);
    const std::vector<Trial> trials = RandomTrials(50, 400, 2);
    const std::vector<float> mean = MeanEmbedding(table);
    for (const std::vector<float>* m : {static_cast<const std::vector<float>*>(nullptr), &mean}) {
      const std::vector<double> scores = CosineScores(table, trials, m);
      ASSERT_EQ(scores.size(), trials.size());
      for (size_t i = 0; i < trials.size(); ++i) {
        const double ref = DirectCosine(table.Get(trials[i].enroll), table.Get(trials[i].test), m);
        ASSERT_NEAR(scores[i], ref, 2e-6) << "dim " << dim << " trial " << i;
      }
    }
  }
}


// The scores as the previous implementation computed them: each used vector centred and
// normalised in float (norm summed in double), then an 8-accumulator float dot product.
std::vector<double> NormaliseThenDot(const EmbeddingTable& table, const std::vector<Trial>& trials,
                                     const std::vector<float>* mean) {
  auto normed = [&](const std::string& id) {
    std::vector<float> v = table.Get(id);
    double sq = 0;
    for (size_t j = 0; j < v.size(); ++j) {
      if (mean) v[j] -= (*mean)[j];
      sq += static_cast<double>(v[j]) * v[j];
    }
    const float inv = static_cast<float>(1.0 / std::max(std::sqrt(sq), 1e-8));
    for (float& x : v) x *= inv;
    return v;
  };
  std::vector<double> out;
  for (const Trial& t : trials) {
    const std::vector<float> a = normed(t.enroll), b = normed(t.test);
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= a.size(); i += 8) {
      for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
    }
    float tail = 0;
    for (; i < a.size(); ++i) tail += a[i] * b[i];
    out.push_back(((acc[0] + acc[4]) + (acc[1] + acc[5])) +
                  ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail);
  }
  return out;
}

// Many trials (split over threads, grouped and random enroll ids): within 1e-6 of the previous
// normalise-then-dot implementation, and the same with 1, 2 or 3 threads.
TEST(CosineScoring, MatchesPreviousImplementationOnLargeLists) {
  for (int64_t dim : {7, 256}) {
    const EmbeddingTable table = RandomTable(3000, dim, 11);
    std::vector<Trial> trials = RandomTrials(3000, 30000, 12);
    std::mt19937 rng(13);
    std::uniform_int_distribution<size_t> pick(0, 2999);
    for (size_t i = 0; i < trials.size(); i += 2)
      trials[i].enroll = "u" + std::to_string(pick(rng));
    const std::vector<float> mean = MeanEmbedding(table);
    for (const std::vector<float>* m : {static_cast<const std::vector<float>*>(nullptr), &mean}) {
      const std::vector<double> ref = NormaliseThenDot(table, trials, m);
      const std::vector<double> scores = CosineScores(table, trials, m);
      ASSERT_EQ(scores.size(), trials.size());
      double worst = 0;
      for (size_t i = 0; i < trials.size(); ++i) {
        worst = std::max(worst, std::fabs(scores[i] - ref[i]));
      }
      EXPECT_LT(worst, 1e-6) << "dim " << dim;
      for (int threads : {1, 3}) {
        test::ScopedOmpThreads scope(threads);
        EXPECT_EQ(CosineScores(table, trials, m), scores) << threads << " threads";
      }
    }
  }
}

TEST(CosineScoring, NonFiniteEmbeddingIsAnError) {
  EmbeddingTable t;
  t.Add("a", {1, 0});
  t.Add("bad", {std::nanf(""), 1});
  t.Add("inf", {1, std::numeric_limits<float>::infinity()});
  EXPECT_NEAR(CosineScores(t, {{"a", "a", 1}})[0], 1.0, 1e-7);  // unused rows are not checked
  EXPECT_THAT(ErrorOf([&] {
                CosineScores(t, {{"a", "a", 1}, {"inf", "bad", 0}});
              }),
              HasSubstr("embedding 'inf' in <memory> is not finite"));
}

TEST(CosineScoring, ZeroVectorScoresZeroAndSelfScoresOne) {
  EmbeddingTable t;
  t.Add("z", {0, 0, 0});
  t.Add("a", {3, 4, 0});
  t.Add("b", {-3, -4, 0});
  const std::vector<double> s =
      CosineScores(t, {{"z", "a", 1}, {"a", "a", 1}, {"a", "b", 0}, {"a", "z", 0}});
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_NEAR(s[1], 1.0, 1e-7);
  EXPECT_NEAR(s[2], -1.0, 1e-7);
  EXPECT_DOUBLE_EQ(s[3], 0.0);
}

TEST(CosineScoring, MissingEmbeddingAndBadMeanAreErrors) {
  EmbeddingTable t;
  t.Add("a", {1, 0});
  std::string err = ErrorOf([&] { CosineScores(t, {{"a", "a", 1}, {"a", "nope", 0}}); });
  EXPECT_THAT(err, HasSubstr("trial #2"));
  EXPECT_THAT(err, HasSubstr("'nope'"));
  const std::vector<float> mean = {1, 2, 3};
  EXPECT_THAT(ErrorOf([&] { CosineScores(t, {{"a", "a", 1}}, &mean); }), HasSubstr("dimension 3"));
}

TEST(CosineScoring, WriteAndReadScores) {
  test::ScratchDir dir("sn_scores");
  const std::vector<Trial> trials = {{"e1", "t1", 1}, {"e1", "t2", 0}, {"e2", "t1", -1}};
  const std::vector<double> scores = {0.123456, -0.5, 1e-9};
  WriteScores(dir / "s/out.score", trials, scores);
  EXPECT_EQ(ReadAll(dir / "s/out.score"), "e1 t1 0.12346\ne1 t2 -0.50000\ne2 t1 0.00000\n");
  WriteScores(dir / "p.score", trials, scores, 8);
  EXPECT_EQ(ReadAll(dir / "p.score"), "e1 t1 0.12345600\ne1 t2 -0.50000000\ne2 t1 0.00000000\n");
  const ScoreMap map = ReadScores(dir / "s/out.score");
  EXPECT_EQ(map.size(), 3u);
  EXPECT_DOUBLE_EQ(map.at(ScoreKey("e1", "t1")), 0.12346);
  const std::vector<double> back = LookupScores(map, {trials[1], trials[0]}, "out.score");
  EXPECT_DOUBLE_EQ(back[0], -0.5);
  EXPECT_DOUBLE_EQ(back[1], 0.12346);
  EXPECT_THAT(ErrorOf([&] {
                LookupScores(map, {{"e9", "t1", 1}}, "out.score");
              }),
              HasSubstr("trial #1 ('e9' 't1') has no score in out.score"));
  // A repeated pair with the same score is accepted.
  std::ofstream(dir / "dup.score") << "a b 0.5\na b 0.50000\n";
  EXPECT_EQ(ReadScores(dir / "dup.score").size(), 1u);
  // WeSpeaker-style 4th column.
  std::ofstream(dir / "ws.score") << "a b 0.5 target\nc d -1e-3 nontarget\n";
  EXPECT_DOUBLE_EQ(ReadScores(dir / "ws.score").at(ScoreKey("c", "d")), -1e-3);
}

TEST(CosineScoring, ReadScoresErrorsNameFileAndLine) {
  test::ScratchDir dir("sn_scores_err");
  const auto expect_error = [&](const std::string& text, const std::string& what) {
    const std::string path = dir / "bad.score";
    std::ofstream(path) << text;
    const std::string err = ErrorOf([&] { ReadScores(path); });
    EXPECT_THAT(err, HasSubstr(path + ":2")) << text;
    EXPECT_THAT(err, HasSubstr(what)) << text;
  };
  expect_error("a b 0.1\na c x0.2\n", "bad score");
  expect_error("a b 0.1\na b 0.2\n", "conflicting duplicate");
  expect_error("a b 0.1\na c 0.2 maybe\n", "4th column");
  expect_error("a b 0.1\na c\n", "at least");
  expect_error("a b 0.1\na c nan\n", "bad score");
}

}  // namespace
}  // namespace speakernet
