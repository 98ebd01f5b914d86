// AVX2+FMA indirect-convolution micro-kernels: 6 rows x 16 (or 8) output channels held in 12 (6)
// ymm accumulators; per input channel one broadcast per row and one weight load per 8 channels.
#include <immintrin.h>

#include <cstdint>

#include "kernels/conv/igemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr size_t kMR = 6;

inline const float* offset_row(const float* p, const float* zero, ptrdiff_t off) {
  return p == zero ? p : reinterpret_cast<const float*>(reinterpret_cast<const char*>(p) + off);
}

// Lanes [0, n) of a ymm mask.
inline __m256i lane_mask(size_t n) {
  alignas(32) static const int32_t kMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask + 8 - n));
}

template <int NV>  // 8-float vectors per row: 2 (16 channels) or 1 (8)
void igemm_block_avx2(const IgemmF32Block& b) {
  constexpr size_t NR = 8 * NV;
  __m256 acc[kMR][NV];
  const float* w = b.w;
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    const __m256 bias = _mm256_loadu_ps(w + 8 * v);
#pragma GCC unroll 6
    for (size_t i = 0; i < kMR; ++i) acc[i][v] = bias;
  }
  w += NR;
  const float* const* a = b.a;
  const size_t kc = b.kc;
  for (size_t t = b.ks; t != 0; --t, a += kMR) {
    const float* a0 = offset_row(a[0], b.zero, b.a_offset);
    const float* a1 = offset_row(a[1], b.zero, b.a_offset);
    const float* a2 = offset_row(a[2], b.zero, b.a_offset);
    const float* a3 = offset_row(a[3], b.zero, b.a_offset);
    const float* a4 = offset_row(a[4], b.zero, b.a_offset);
    const float* a5 = offset_row(a[5], b.zero, b.a_offset);
    for (size_t k = 0; k < kc; ++k, w += NR) {
      __m256 wv[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) wv[v] = _mm256_loadu_ps(w + 8 * v);
      __m256 x;
      x = _mm256_broadcast_ss(a0 + k);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[0][v] = _mm256_fmadd_ps(x, wv[v], acc[0][v]);
      x = _mm256_broadcast_ss(a1 + k);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[1][v] = _mm256_fmadd_ps(x, wv[v], acc[1][v]);
      x = _mm256_broadcast_ss(a2 + k);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[2][v] = _mm256_fmadd_ps(x, wv[v], acc[2][v]);
      x = _mm256_broadcast_ss(a3 + k);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[3][v] = _mm256_fmadd_ps(x, wv[v], acc[3][v]);
      x = _mm256_broadcast_ss(a4 + k);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[4][v] = _mm256_fmadd_ps(x, wv[v], acc[4][v]);
      x = _mm256_broadcast_ss(a5 + k);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[5][v] = _mm256_fmadd_ps(x, wv[v], acc[5][v]);
    }
  }

  const __m256 lo = _mm256_set1_ps(b.out_min), hi = _mm256_set1_ps(b.out_max);
  if (b.nc == NR) {
#pragma GCC unroll 6
    for (size_t i = 0; i < kMR; ++i) {
      if (i >= b.mr) break;
      float* c = b.c + i * b.ldc;
      const float* r = b.residual ? b.residual + i * b.ldr : nullptr;
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) {
        __m256 y = acc[i][v];
        if (r) y = _mm256_add_ps(y, _mm256_loadu_ps(r + 8 * v));
        y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);
        _mm256_storeu_ps(c + 8 * v, y);
      }
    }
    return;
  }
  // Partial width: full vectors, then one masked vector.
  for (size_t i = 0; i < kMR && i < b.mr; ++i) {
    float* c = b.c + i * b.ldc;
    const float* r = b.residual ? b.residual + i * b.ldr : nullptr;
    size_t done = 0;
    for (int v = 0; v < NV; ++v) {
      const size_t n = b.nc - done;
      if (n == 0) break;
      __m256 y = acc[i][v];
      if (n >= 8) {
        if (r) y = _mm256_add_ps(y, _mm256_loadu_ps(r + done));
        y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);
        _mm256_storeu_ps(c + done, y);
        done += 8;
      } else {
        const __m256i mask = lane_mask(n);
        if (r) y = _mm256_add_ps(y, _mm256_maskload_ps(r + done, mask));
        y = _mm256_min_ps(_mm256_max_ps(y, lo), hi);
        _mm256_maskstore_ps(c + done, mask, y);
        done = b.nc;
      }
    }
  }
}

}  // namespace

void igemm_f32_ukernel_6x16_avx2(const IgemmF32Block& b) { igemm_block_avx2<2>(b); }
void igemm_f32_ukernel_6x8_avx2(const IgemmF32Block& b) { igemm_block_avx2<1>(b); }

}  // namespace pocket::kernels
