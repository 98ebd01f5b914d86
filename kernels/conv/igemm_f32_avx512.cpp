// AVX-512 indirect-convolution micro-kernels: 8 rows x 32 (or 16) output channels in 16 (8) zmm
// accumulators; partial widths use lane masks. Compiled on every x86-64 build, dispatched only
// when cpu_features().avx512.
#include <immintrin.h>

#include <cstdint>

#include "kernels/conv/igemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr size_t kMR = 8;

inline const float* offset_row(const float* p, const float* zero, ptrdiff_t off) {
  return p == zero ? p : reinterpret_cast<const float*>(reinterpret_cast<const char*>(p) + off);
}

template <int NV>  // 16-float vectors per row: 2 (32 channels) or 1 (16)
void igemm_block_avx512(const IgemmF32Block& b) {
  constexpr size_t NR = 16 * NV;
  __m512 acc[kMR][NV];
  const float* w = b.w;
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    const __m512 bias = _mm512_loadu_ps(w + 16 * v);
#pragma GCC unroll 8
    for (size_t i = 0; i < kMR; ++i) acc[i][v] = bias;
  }
  w += NR;
  const float* const* a = b.a;
  const size_t kc = b.kc;
  for (size_t t = b.ks; t != 0; --t, a += kMR) {
    const float* rows[kMR];
#pragma GCC unroll 8
    for (size_t i = 0; i < kMR; ++i) rows[i] = offset_row(a[i], b.zero, b.a_offset);
    for (size_t k = 0; k < kc; ++k, w += NR) {
      __m512 wv[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) wv[v] = _mm512_loadu_ps(w + 16 * v);
#pragma GCC unroll 8
      for (size_t i = 0; i < kMR; ++i) {
        const __m512 x = _mm512_set1_ps(rows[i][k]);
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(x, wv[v], acc[i][v]);
      }
    }
  }

  const __m512 lo = _mm512_set1_ps(b.out_min), hi = _mm512_set1_ps(b.out_max);
  for (size_t i = 0; i < kMR && i < b.mr; ++i) {
    float* c = b.c + i * b.ldc;
    const float* r = b.residual ? b.residual + i * b.ldr : nullptr;
    for (int v = 0; v < NV; ++v) {
      const size_t done = 16 * static_cast<size_t>(v);
      if (done >= b.nc) break;
      const size_t n = b.nc - done < 16 ? b.nc - done : 16;
      const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1u);
      __m512 y = acc[i][v];
      if (r) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, r + done));
      y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);
      _mm512_mask_storeu_ps(c + done, mask, y);
    }
  }
}

}  // namespace

void igemm_f32_ukernel_8x32_avx512(const IgemmF32Block& b) { igemm_block_avx512<2>(b); }
void igemm_f32_ukernel_8x16_avx512(const IgemmF32Block& b) { igemm_block_avx512<1>(b); }

}  // namespace pocket::kernels
