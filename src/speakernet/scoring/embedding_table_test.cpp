#include "speakernet/scoring/embedding_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "speakernet/common/error.h"
#include "speakernet/common/kaldi_io.h"
#include "speakernet/common/test_util.h"

namespace speakernet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using test::ErrorOf;

const std::vector<float> kA = {1, 2, 3}, kB = {-1, 0.5f, 4}, kC = {0, 0, 1};

void WriteArk(const std::string& ark, const std::string& scp) {
  kaldi::ArkWriter w(ark, scp);
  w.WriteVector("a", kA.data(), 3);
  w.WriteVector("b", kB.data(), 3);
  w.WriteMatrix("c", kC.data(), 1, 3);  // 1-row matrices are accepted as embeddings
  w.Close();
}

void ExpectABC(const EmbeddingTable& t) {
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.Get("a"), kA);
  EXPECT_EQ(t.Get("b"), kB);
  EXPECT_EQ(t.Get("c"), kC);
  EXPECT_THAT(t.keys(), ElementsAre("a", "b", "c"));
}

TEST(EmbeddingTable, LoadsDirScpArkAndNpy) {
  test::ScratchDir dir("sn_emb_table");
  std::filesystem::create_directories(dir / "d1");
  std::filesystem::create_directories(dir / "d2");
  WriteArk(dir / "d1/embeddings.ark", dir / "d1/embeddings.scp");
  WriteArk(dir / "d2/xvector.1.ark", dir / "d2/xvector.scp");
  ExpectABC(EmbeddingTable::Load(dir / "d1"));
  ExpectABC(EmbeddingTable::Load(dir / "d2"));
  ExpectABC(EmbeddingTable::Load(dir / "d1/embeddings.scp"));
  ExpectABC(EmbeddingTable::Load(dir / "d2/xvector.1.ark"));

  std::vector<float> rows(kA);
  rows.insert(rows.end(), kB.begin(), kB.end());
  rows.insert(rows.end(), kC.begin(), kC.end());
  std::filesystem::create_directories(dir / "d3");
  kaldi::WriteNpy(dir / "d3/embeddings.npy", rows.data(), {3, 3});
  std::ofstream(dir / "d3/utts.txt") << "a\nb\nc\n";
  ExpectABC(EmbeddingTable::Load(dir / "d3"));
  std::ofstream(dir / "keys.txt") << "x extra-column\ny\nz\n";
  const EmbeddingTable k = EmbeddingTable::Load(dir / "d3/embeddings.npy", dir / "keys.txt");
  EXPECT_EQ(k.Get("y"), kB);
  kaldi::WriteNpy(dir / "bare.npy", rows.data(), {3, 3});
  const EmbeddingTable n = EmbeddingTable::Load(dir / "bare.npy");
  EXPECT_EQ(n.Get("2"), kC);
  kaldi::WriteNpy(dir / "mean.npy", kB.data(), {3});
  EXPECT_EQ(EmbeddingTable::Load(dir / "mean.npy").Get("0"), kB);
}

TEST(EmbeddingTable, ErrorsNameKeyAndSource) {
  test::ScratchDir dir("sn_emb_table_err");
  WriteArk(dir / "e.ark", dir / "e.scp");
  const EmbeddingTable t = EmbeddingTable::Load(dir / "e.scp");
  EXPECT_FALSE(t.Has("zz"));
  EXPECT_TRUE(t.Has("b"));
  EXPECT_EQ(t.IndexOf("b"), 1);
  EXPECT_EQ(t.IndexOf("zz"), -1);
  std::string err = ErrorOf([&] { t.Get("zz"); });
  EXPECT_THAT(err, HasSubstr("'zz'"));
  EXPECT_THAT(err, HasSubstr("e.scp"));
  {
    kaldi::ArkWriter w(dir / "dup.ark", "");
    w.WriteVector("a", kA.data(), 3);
    w.WriteVector("a", kB.data(), 3);
    w.Close();
  }
  EXPECT_THAT(ErrorOf([&] { EmbeddingTable::Load(dir / "dup.ark"); }),
              HasSubstr("duplicate key 'a'"));
  {
    kaldi::ArkWriter w(dir / "dims.ark", "");
    w.WriteVector("a", kA.data(), 3);
    w.WriteVector("b", kB.data(), 2);
    w.Close();
  }
  err = ErrorOf([&] { EmbeddingTable::Load(dir / "dims.ark"); });
  EXPECT_THAT(err, HasSubstr("'b' has dimension 2, expected 3"));
  {
    kaldi::ArkWriter w(dir / "mat.ark", "");
    const float m[6] = {1, 2, 3, 4, 5, 6};
    w.WriteMatrix("m", m, 2, 3);
    w.Close();
  }
  EXPECT_THAT(ErrorOf([&] { EmbeddingTable::Load(dir / "mat.ark"); }),
              HasSubstr("'m' is a 2x3 matrix"));
  EXPECT_THAT(ErrorOf([&] { EmbeddingTable::Load(dir / "nowhere"); }), HasSubstr("nowhere"));
  {
    // Found by npy_fuzzer: a (10^12, 0) array has no data bytes, and 10^12 row keys were
    // allocated before any check (out of memory).
    std::string header =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 0), }";
    header.append(64 - (10 + header.size() + 1) % 64, ' ');
    header += '\n';
    const uint16_t len = static_cast<uint16_t>(header.size());
    std::ofstream f(dir / "zero_cols.npy", std::ios::binary);
    f.write("\x93NUMPY\x01\x00", 8);
    f.write(reinterpret_cast<const char*>(&len), 2);  // little-endian on every supported host
    f << header;
  }
  EXPECT_THAT(ErrorOf([&] { EmbeddingTable::Load(dir / "zero_cols.npy"); }),
              HasSubstr("1000000000000x0 array: embeddings of dimension 0"));
  std::filesystem::create_directories(dir / "empty_dir");
  EXPECT_THAT(ErrorOf([&] { EmbeddingTable::Load(dir / "empty_dir"); }),
              HasSubstr("embeddings.scp"));
  std::ofstream(dir / "two.txt") << "p\nq\n";
  const std::vector<float> nine(9, 1.0f);
  kaldi::WriteNpy(dir / "e3.npy", nine.data(), {3, 3});
  EXPECT_THAT(ErrorOf([&] { EmbeddingTable::Load(dir / "e3.npy", dir / "two.txt"); }),
              HasSubstr("lists 2 keys but"));
}

TEST(EmbeddingTable, HashIndexFindsEveryKey) {
  EmbeddingTable empty;
  EXPECT_EQ(empty.IndexOf("a"), -1);
  EXPECT_FALSE(empty.Has(""));
  EmbeddingTable t;
  std::vector<std::string> ids;
  for (int i = 0; i < 50000; ++i) {
    // Short (SSO) keys, VoxCeleb-like 29-character keys, keys differing only in the tail.
    ids.push_back(i % 3 == 0   ? std::to_string(i)
                  : i % 3 == 1 ? "id1" + std::to_string(1000 + i % 97) + "/5r0dWxy17C8/" +
                                     std::to_string(100000 + i) + ".wav"
                               : std::string(17, 'k') + std::to_string(i));
  }
  ids.push_back("");  // the empty key is a key like any other
  for (size_t i = 0; i < ids.size(); ++i) {
    t.Add(ids[i], {static_cast<float>(i)});
    ASSERT_EQ(t.IndexOf(ids[i]), static_cast<int64_t>(i));  // also while the index grows
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(t.IndexOf(ids[i]), static_cast<int64_t>(i)) << ids[i];
    ASSERT_EQ(t.IndexOf(ids[i], EmbeddingTable::HashKey(ids[i])), static_cast<int64_t>(i));
    ASSERT_EQ(t.Get(ids[i])[0], static_cast<float>(i));
    ASSERT_EQ(t.IndexOf(ids[i] + "x"), -1);
    ASSERT_FALSE(t.Has(ids[i] + " "));
  }
  EXPECT_EQ(t.IndexOf("k"), -1);
  EXPECT_NE(EmbeddingTable::HashKey("ab"), EmbeddingTable::HashKey(std::string("ab\0", 3)));
  EXPECT_THAT(ErrorOf([&] { t.Add(ids[123], {1.0f}); }),
              HasSubstr("duplicate key '" + ids[123] + "'"));
  EXPECT_EQ(t.size(), ids.size());
  // Copies keep a working index.
  const EmbeddingTable copy = t;
  EXPECT_EQ(copy.IndexOf(ids[777]), 777);
}

TEST(EmbeddingTable, MeanEmbedding) {
  EmbeddingTable t;
  t.Add("a", kA);
  t.Add("b", kB);
  t.Add("c", kC);
  // (1 - 1 + 0) / 3, (2 + 0.5 + 0) / 3, (3 + 4 + 1) / 3
  const std::vector<float> mean = MeanEmbedding(t);
  ASSERT_EQ(mean.size(), 3u);
  EXPECT_FLOAT_EQ(mean[0], 0.0f);
  EXPECT_FLOAT_EQ(mean[1], 2.5f / 3);
  EXPECT_FLOAT_EQ(mean[2], 8.0f / 3);
}

}  // namespace
}  // namespace speakernet
