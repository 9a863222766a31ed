// Exact int8 matrix product through oneDNN (optional dependency, see cmake/dependencies.cmake),
// used by AS-norm to preselect each utterance's top-N cohort candidates (score_norm.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace speakernet {

// True when the product below is available AND exact: built with oneDNN, oneDNN reports an
// ISA with VNNI (u8*s8 products summed straight into int32), and a self-check with the extreme
// values (where the non-VNNI kernels' int16 pair sums saturate) returned the exact result.
// Computed once.
bool Int8GemmAvailable();

// What Int8GemmAvailable() found, for logs and the bench ("oneDNN 2.6.3, avx512_core_vnni", or
// why it is unavailable).
std::string Int8GemmDescription();

// c[i * n + j] = sum_k a[i * k_dim + kk] * b[j * k_dim + kk] in int32 (exact: the caller keeps
// k_dim * 255 * 128 below 2^31), a [m, k_dim] u8 and b [n, k_dim] s8, both row-major. Threaded by
// oneDNN (OpenMP) when called outside a parallel region, single-threaded inside one (the AS-norm
// path calls it from each of its threads, on that thread's rows). Requires Int8GemmAvailable().
void Int8GemmNT(int64_t m, int64_t n, int64_t k_dim, const uint8_t* a, const int8_t* b, int32_t* c);

}  // namespace speakernet
