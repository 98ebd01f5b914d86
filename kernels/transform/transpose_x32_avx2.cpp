// 2-D transpose of 4-byte elements in 8x8 register blocks (AVX2); edges fall back to scalar.
#include <immintrin.h>

#include <cstdint>

#include "kernels/transform/dispatch.h"

namespace pocket::kernels {

namespace {

inline void transpose8x8(const char* s, ptrdiff_t sld, char* d, ptrdiff_t dld) {
  __m256 r0 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 0 * sld));
  __m256 r1 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 1 * sld));
  __m256 r2 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 2 * sld));
  __m256 r3 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 3 * sld));
  __m256 r4 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 4 * sld));
  __m256 r5 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 5 * sld));
  __m256 r6 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 6 * sld));
  __m256 r7 = _mm256_loadu_ps(reinterpret_cast<const float*>(s + 7 * sld));
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(reinterpret_cast<float*>(d + 0 * dld), _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(reinterpret_cast<float*>(d + 1 * dld), _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(reinterpret_cast<float*>(d + 2 * dld), _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(reinterpret_cast<float*>(d + 3 * dld), _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(reinterpret_cast<float*>(d + 4 * dld), _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(reinterpret_cast<float*>(d + 5 * dld), _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(reinterpret_cast<float*>(d + 6 * dld), _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(reinterpret_cast<float*>(d + 7 * dld), _mm256_permute2f128_ps(u3, u7, 0x31));
}

}  // namespace

void transpose_x32_avx2(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols) {
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  const size_t rows8 = rows & ~size_t{7}, cols8 = cols & ~size_t{7};
  for (size_t r = 0; r < rows8; r += 8) {
    for (size_t c = 0; c < cols8; c += 8)
      transpose8x8(s + static_cast<ptrdiff_t>(r) * src_ld + c * 4, src_ld,
                   d + static_cast<ptrdiff_t>(c) * dst_ld + r * 4, dst_ld);
  }
  if (cols8 < cols)
    transpose_x32_scalar(s + cols8 * 4, src_ld, d + static_cast<ptrdiff_t>(cols8) * dst_ld, dst_ld, rows, cols - cols8);
  if (rows8 < rows)
    transpose_x32_scalar(s + static_cast<ptrdiff_t>(rows8) * src_ld, src_ld, d + rows8 * 4, dst_ld, rows - rows8, cols8);
}

}  // namespace pocket::kernels
