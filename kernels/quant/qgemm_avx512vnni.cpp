// AVX512-VNNI int8 GEMM, 8x16 tile: vpdpbusd multiplies unsigned by signed bytes and sums four
// K values per 32-bit lane, so A goes in as A + 128 (u8) and the driver removes the offset with
// the column sums: acc -= (za + 128) * colsum. Packed A: uint8 a[rows][kpad] row-major (kpad =
// 4 * kgroups, zero-padded), one row's K group is one 32-bit broadcast. Packed B (kr 4): per K
// group 64 bytes, column c's four K values at 4c: one zmm. Only dispatched when
// cpu_features().avx512vnni (untested on the AVX2-only build machine).
#include <immintrin.h>

#include <cstring>

#include "kernels/quant/qgemm_impl.h"

namespace pocket::kernels {

namespace {

template <int R>
void micro_rows(int64_t kgroups, const uint8_t* a, const int8_t* b, int32_t* acc, int64_t ld_acc, bool accumulate) {
  __m512i c[R];
  for (int r = 0; r < R; ++r) c[r] = _mm512_setzero_si512();
  const int64_t as = kgroups * 4;
  for (int64_t g = 0; g < kgroups; ++g) {
    const __m512i bv = _mm512_loadu_si512(b + g * 64);
    for (int r = 0; r < R; ++r) {
      int32_t x;
      std::memcpy(&x, a + r * as + 4 * g, 4);
      c[r] = _mm512_dpbusd_epi32(c[r], _mm512_set1_epi32(x), bv);
    }
  }
  for (int r = 0; r < R; ++r) {
    int32_t* o = acc + r * ld_acc;
    if (accumulate) c[r] = _mm512_add_epi32(c[r], _mm512_loadu_si512(o));
    _mm512_storeu_si512(o, c[r]);
  }
}

}  // namespace

void qgemm_pack_a_avx512vnni(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t*, void* dst) {
  const int64_t kpad = (kc + 3) / 4 * 4;
  auto* d = static_cast<uint8_t*>(dst);
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* ar = a + r * lda;
    uint8_t* dr = d + r * kpad;
    for (int64_t p = 0; p < kc; ++p) dr[p] = static_cast<uint8_t>(static_cast<int32_t>(ar[p]) + 128);
    for (int64_t p = kc; p < kpad; ++p) dr[p] = 0;
  }
}

void qgemm_micro_avx512vnni(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc,
                            int64_t ld_acc, bool accumulate) {
  const auto* ap = static_cast<const uint8_t*>(a);
  switch (rows) {
    case 1: micro_rows<1>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 2: micro_rows<2>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 3: micro_rows<3>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 4: micro_rows<4>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 5: micro_rows<5>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 6: micro_rows<6>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 7: micro_rows<7>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    default: micro_rows<8>(kgroups, ap, b, acc, ld_acc, accumulate); break;
  }
}

void qgemm_epilogue_avx512vnni(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols,
                               const int32_t* acc, int64_t ld_acc) {
  qgemm_epilogue_generic(g, i, rows, j, cols, acc, ld_acc);
}

}  // namespace pocket::kernels
