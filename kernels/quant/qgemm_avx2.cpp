// AVX2 int8 GEMM, 6x16 tile: A and B sign-extended to int16, vpmaddwd sums two K values per
// 32-bit lane (exact: |A - za| <= 255, |B| <= 128), vpaddd accumulates 12 ymm sums.
// Packed A: int16 a[rows][kpad] row-major (kpad = 2 * kpairs, A - za, zero-padded), so one row's
// K pair is one vpbroadcastd from memory. Packed B (kr 2): per K pair 32 bytes, columns 0..7 then
// 8..15, each column's two K values adjacent: vpmovsxbw of 16 bytes gives vpmaddwd's operand.
#include <immintrin.h>

#include <cstring>

#include "kernels/quant/qgemm_impl.h"

namespace pocket::kernels {

namespace {

constexpr int64_t kMr = 6;

inline __m256i bcast_pair(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

template <int R>
void micro_rows(int64_t kpairs, const int16_t* a, const int8_t* b, int32_t* acc, int64_t ld_acc, bool accumulate) {
  __m256i c0[R], c1[R];
  for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm256_setzero_si256();
  const int64_t as = kpairs * 2;
  for (int64_t p = 0; p < kpairs; ++p) {
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(b)));
    const __m256i b1 = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(b + 16)));
    b += 32;
    for (int r = 0; r < R; ++r) {
      const __m256i x = bcast_pair(a + r * as + 2 * p);
      c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(x, b0));
      c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(x, b1));
    }
  }
  for (int r = 0; r < R; ++r) {
    auto* o = reinterpret_cast<__m256i*>(acc + r * ld_acc);
    if (accumulate) {
      c0[r] = _mm256_add_epi32(c0[r], _mm256_loadu_si256(o));
      c1[r] = _mm256_add_epi32(c1[r], _mm256_loadu_si256(o + 1));
    }
    _mm256_storeu_si256(o, c0[r]);
    _mm256_storeu_si256(o + 1, c1[r]);
  }
}

}  // namespace

void qgemm_pack_a_avx2(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t* za, void* dst) {
  const int64_t kpad = (kc + 1) / 2 * 2;
  auto* d = static_cast<int16_t*>(dst);
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* ar = a + r * lda;
    int16_t* dr = d + r * kpad;
    const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(za[r]));
    int64_t p = 0;
    for (; p + 16 <= kc; p += 16) {
      const __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ar + p)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dr + p), _mm256_sub_epi16(x, z));
    }
    for (; p < kc; ++p) dr[p] = static_cast<int16_t>(ar[p] - za[r]);
    if (kpad > kc) dr[kc] = 0;
  }
}

void qgemm_micro_avx2(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc, int64_t ld_acc,
                      bool accumulate) {
  const auto* ap = static_cast<const int16_t*>(a);
  switch (rows) {
    case 1: micro_rows<1>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 2: micro_rows<2>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 3: micro_rows<3>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 4: micro_rows<4>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 5: micro_rows<5>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    default: micro_rows<kMr>(kgroups, ap, b, acc, ld_acc, accumulate); break;
  }
}

void qgemm_epilogue_avx2(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols, const int32_t* acc,
                         int64_t ld_acc) {
  qgemm_epilogue_generic(g, i, rows, j, cols, acc, ld_acc);
}

}  // namespace pocket::kernels
