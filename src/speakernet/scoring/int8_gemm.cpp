#include "speakernet/scoring/int8_gemm.h"

#include <vector>

#include "speakernet/common/error.h"

#if defined(SPEAKERNET_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.h>
#endif

namespace speakernet {

namespace {

struct Probe {
  bool ok = false;
  std::string what;
};

#if defined(SPEAKERNET_HAVE_DNNL)
// VNNI: dnnl_cpu_isa_t values are bit sets; avx512_core_vnni (0x67) and everything above it
// (bf16, amx) contain its bits. avx2_vnni is left out: not needed here, and untested.
bool IsaHasVnni(dnnl_cpu_isa_t isa) {
  const unsigned v = static_cast<unsigned>(isa);
  const unsigned want = static_cast<unsigned>(dnnl_cpu_isa_avx512_core_vnni);
  return (v & want) == want;
}

const char* IsaName(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    default:
      return "other";
  }
}

// The extreme case for int16 saturation: a = 255, b = -128 / 127 alternating in pairs, so that
// vpmaddubsw-style kernels (u8*s8 pair sums in int16) would clip 2 * 255 * 127 = 64770.
bool SelfCheck() {
  constexpr int64_t m = 37, n = 70, k = 256;
  std::vector<uint8_t> a(m * k);
  std::vector<int8_t> b(n * k);
  for (int64_t i = 0; i < m * k; ++i) a[i] = static_cast<uint8_t>(i % 7 == 0 ? i % 256 : 255);
  for (int64_t j = 0; j < n * k; ++j) {
    b[j] =
        static_cast<int8_t>((j / 2 + j / k) % 3 == 0 ? 127 : (j % 5 == 0 ? j % 256 - 128 : -128));
  }
  std::vector<int32_t> c(m * n, 0);
  const int32_t co = 0;
  if (dnnl_gemm_u8s8s32('N', 'T', 'F', m, n, k, 1.0f, a.data(), k, 0, b.data(), k, 0, 0.0f,
                        c.data(), n, &co) != dnnl_success) {
    return false;
  }
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      int64_t s = 0;
      for (int64_t kk = 0; kk < k; ++kk) s += int64_t{a[i * k + kk]} * b[j * k + kk];
      if (s != c[i * n + j]) return false;
    }
  }
  return true;
}
#endif

const Probe& GetProbe() {
  static const Probe probe = [] {
    Probe p;
#if defined(SPEAKERNET_HAVE_DNNL)
    const dnnl_version_t* v = dnnl_version();
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    p.what = fmt::format("oneDNN {}.{}.{}, {}", v->major, v->minor, v->patch, IsaName(isa));
    if (!IsaHasVnni(isa)) {
      p.what += " (no VNNI: int8 path off)";
    } else if (!SelfCheck()) {
      p.what += " (int8 self-check failed: int8 path off)";
    } else {
      p.ok = true;
    }
#else
    p.what = "built without oneDNN";
#endif
    return p;
  }();
  return probe;
}

}  // namespace

bool Int8GemmAvailable() { return GetProbe().ok; }

std::string Int8GemmDescription() { return GetProbe().what; }

void Int8GemmNT(int64_t m, int64_t n, int64_t k_dim, const uint8_t* a, const int8_t* b,
                int32_t* c) {
  SN_CHECK(Int8GemmAvailable(), "int8 GEMM unavailable: {}", Int8GemmDescription());
#if defined(SPEAKERNET_HAVE_DNNL)
  if (m == 0 || n == 0) return;
  const int32_t co = 0;
  const dnnl_status_t st = dnnl_gemm_u8s8s32('N', 'T', 'F', m, n, k_dim, 1.0f, a, k_dim, 0, b,
                                             k_dim, 0, 0.0f, c, n, &co);
  SN_CHECK(st == dnnl_success, "dnnl_gemm_u8s8s32({} x {} x {}) failed with status {}", m, n, k_dim,
           static_cast<int>(st));
#else
  (void)m, (void)n, (void)k_dim, (void)a, (void)b, (void)c;
#endif
}

}  // namespace speakernet
