// NEON indirect-convolution micro-kernels: 6 rows x 16 (or 8) output channels in 24 (12) q
// accumulators; per input channel one duplicated load per row and four (two) weight loads.
#include <arm_neon.h>

#include <cstdint>

#include "kernels/conv/igemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr size_t kMR = 6;

inline const float* offset_row(const float* p, const float* zero, ptrdiff_t off) {
  return p == zero ? p : reinterpret_cast<const float*>(reinterpret_cast<const char*>(p) + off);
}

template <int NV>  // 4-float vectors per row: 4 (16 channels) or 2 (8)
void igemm_block_neon(const IgemmF32Block& b) {
  constexpr size_t NR = 4 * NV;
  float32x4_t acc[kMR][NV];
  const float* w = b.w;
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const float32x4_t bias = vld1q_f32(w + 4 * v);
#pragma GCC unroll 6
    for (size_t i = 0; i < kMR; ++i) acc[i][v] = bias;
  }
  w += NR;
  const float* const* a = b.a;
  const size_t kc = b.kc;
  for (size_t t = b.ks; t != 0; --t, a += kMR) {
    const float* rows[kMR];
#pragma GCC unroll 6
    for (size_t i = 0; i < kMR; ++i) rows[i] = offset_row(a[i], b.zero, b.a_offset);
    for (size_t k = 0; k < kc; ++k, w += NR) {
      float32x4_t wv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) wv[v] = vld1q_f32(w + 4 * v);
#pragma GCC unroll 6
      for (size_t i = 0; i < kMR; ++i) {
        const float32x4_t x = vld1q_dup_f32(rows[i] + k);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = vfmaq_f32(acc[i][v], x, wv[v]);
      }
    }
  }

  const float32x4_t lo = vdupq_n_f32(b.out_min), hi = vdupq_n_f32(b.out_max);
  for (size_t i = 0; i < kMR && i < b.mr; ++i) {
    float* c = b.c + i * b.ldc;
    const float* r = b.residual ? b.residual + i * b.ldr : nullptr;
    for (int v = 0; v < NV; ++v) {
      const size_t done = 4 * static_cast<size_t>(v);
      if (done >= b.nc) break;
      float32x4_t y = acc[i][v];
      if (b.nc - done >= 4) {
        if (r) y = vaddq_f32(y, vld1q_f32(r + done));
        y = vminq_f32(vmaxq_f32(y, lo), hi);
        vst1q_f32(c + done, y);
      } else {
        float tmp[4];
        vst1q_f32(tmp, y);
        for (size_t j = 0; j < b.nc - done; ++j) {
          float s = tmp[j] + (r ? r[done + j] : 0.f);
          s = s < b.out_min ? b.out_min : s;
          c[done + j] = s > b.out_max ? b.out_max : s;
        }
      }
    }
  }
}

}  // namespace

void igemm_f32_ukernel_6x16_neon(const IgemmF32Block& b) { igemm_block_neon<4>(b); }
void igemm_f32_ukernel_6x8_neon(const IgemmF32Block& b) { igemm_block_neon<2>(b); }

}  // namespace pocket::kernels
