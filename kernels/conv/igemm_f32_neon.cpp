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

// Stores rows [0, mr) of acc[row][vector] with residual and clamp; a partial vector goes lane by lane.
template <int NV>
inline void store_rows(const IgemmF32Block& b, const float32x4_t (&acc)[kMR][NV]) {
  const float32x4_t lo = vdupq_n_f32(b.out_min), hi = vdupq_n_f32(b.out_max);
  for (size_t i = 0; i < b.mr; ++i) {
    float* c = b.c + i * b.ldc;
    const float* r = b.residual ? b.residual + i * b.ldr : nullptr;
    for (int v = 0; v < NV; ++v) {
      const size_t done = 4 * static_cast<size_t>(v);
      if (done >= b.nc) break;
      float32x4_t y = acc[i][v];
      if (b.nc - done >= 4) {
        if (r) y = vaddq_f32(y, vld1q_f32(r + done));
        vst1q_f32(c + done, vminq_f32(vmaxq_f32(y, lo), hi));
      } else {
        float tmp[4];
        vst1q_f32(tmp, y);
        for (size_t j = 0; j < b.nc - done; ++j) {
          float s = r ? tmp[j] + r[done + j] : tmp[j];
          s = s < b.out_min ? b.out_min : s;
          c[done + j] = s > b.out_max ? b.out_max : s;
        }
      }
    }
  }
}

#define POCKET_IGEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

// Named accumulators (not an array) so that GCC keeps them in registers.
void block_6x16(const IgemmF32Block& b) {
  const float* w = b.w;
  const float32x4_t b0 = vld1q_f32(w), b1 = vld1q_f32(w + 4), b2 = vld1q_f32(w + 8), b3 = vld1q_f32(w + 12);
#define DECL(i) float32x4_t c##i##0 = b0, c##i##1 = b1, c##i##2 = b2, c##i##3 = b3;
  POCKET_IGEMM_ROWS(DECL)
#undef DECL
  w += 16;
  const float* const* a = b.a;
  const size_t kc = b.kc;
  for (size_t t = b.ks; t != 0; --t, a += kMR) {
#define ROW(i) const float* a##i = offset_row(a[i], b.zero, b.a_offset);
    POCKET_IGEMM_ROWS(ROW)
#undef ROW
    for (size_t k = 0; k < kc; ++k, w += 16) {
      const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4), w2 = vld1q_f32(w + 8), w3 = vld1q_f32(w + 12);
#define FMA(i)                                  \
  {                                             \
    const float32x4_t x = vld1q_dup_f32(a##i + k); \
    c##i##0 = vfmaq_f32(c##i##0, x, w0);        \
    c##i##1 = vfmaq_f32(c##i##1, x, w1);        \
    c##i##2 = vfmaq_f32(c##i##2, x, w2);        \
    c##i##3 = vfmaq_f32(c##i##3, x, w3);        \
  }
      POCKET_IGEMM_ROWS(FMA)
#undef FMA
    }
  }
  const float32x4_t acc[kMR][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23},
                                   {c30, c31, c32, c33}, {c40, c41, c42, c43}, {c50, c51, c52, c53}};
  store_rows<4>(b, acc);
}

void block_6x8(const IgemmF32Block& b) {
  const float* w = b.w;
  const float32x4_t b0 = vld1q_f32(w), b1 = vld1q_f32(w + 4);
#define DECL(i) float32x4_t c##i##0 = b0, c##i##1 = b1;
  POCKET_IGEMM_ROWS(DECL)
#undef DECL
  w += 8;
  const float* const* a = b.a;
  const size_t kc = b.kc;
  for (size_t t = b.ks; t != 0; --t, a += kMR) {
#define ROW(i) const float* a##i = offset_row(a[i], b.zero, b.a_offset);
    POCKET_IGEMM_ROWS(ROW)
#undef ROW
    for (size_t k = 0; k < kc; ++k, w += 8) {
      const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4);
#define FMA(i)                                  \
  {                                             \
    const float32x4_t x = vld1q_dup_f32(a##i + k); \
    c##i##0 = vfmaq_f32(c##i##0, x, w0);        \
    c##i##1 = vfmaq_f32(c##i##1, x, w1);        \
  }
      POCKET_IGEMM_ROWS(FMA)
#undef FMA
    }
  }
  const float32x4_t acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  store_rows<2>(b, acc);
}

#undef POCKET_IGEMM_ROWS

}  // namespace

void igemm_f32_ukernel_6x16_neon(const IgemmF32Block& b) { block_6x16(b); }
void igemm_f32_ukernel_6x8_neon(const IgemmF32Block& b) { block_6x8(b); }

}  // namespace pocket::kernels
