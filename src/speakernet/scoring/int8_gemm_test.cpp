#include "speakernet/scoring/int8_gemm.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace speakernet {
namespace {

// The product must be exact (AS-norm's error bound assumes it), including at the extremes where
// int16 pair sums would saturate, and for shapes that leave partial tiles.
TEST(Int8Gemm, IsExactIncludingExtremeValues) {
  if (!Int8GemmAvailable()) GTEST_SKIP() << Int8GemmDescription();
  std::mt19937 rng(3);
  struct Shape {
    int64_t m, n, k;
  };
  for (const Shape s : {Shape{1, 1, 1}, Shape{5, 17, 256}, Shape{64, 300, 256},
                        Shape{129, 1001, 512}, Shape{7, 33, 1024}}) {
    for (int mode = 0; mode < 3; ++mode) {
      std::vector<uint8_t> a(static_cast<size_t>(s.m * s.k));
      std::vector<int8_t> b(static_cast<size_t>(s.n * s.k));
      std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127), coin(0, 1);
      for (auto& v : a) v = static_cast<uint8_t>(mode == 0 ? u8(rng) : 255);
      for (auto& v : b) {
        v = static_cast<int8_t>(mode == 0 ? s8(rng) : mode == 1 ? -128 : (coin(rng) ? 127 : -128));
      }
      std::vector<int32_t> c(static_cast<size_t>(s.m * s.n), -1);
      Int8GemmNT(s.m, s.n, s.k, a.data(), b.data(), c.data());
      int64_t wrong = 0;
      for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < s.n; ++j) {
          int64_t want = 0;
          for (int64_t k = 0; k < s.k; ++k) want += int64_t{a[i * s.k + k]} * b[j * s.k + k];
          wrong += want != c[i * s.n + j];
        }
      }
      EXPECT_EQ(wrong, 0) << s.m << "x" << s.n << "x" << s.k << " mode " << mode;
    }
  }
}

TEST(Int8Gemm, DescribesWhatItFound) { EXPECT_FALSE(Int8GemmDescription().empty()); }

}  // namespace
}  // namespace speakernet
