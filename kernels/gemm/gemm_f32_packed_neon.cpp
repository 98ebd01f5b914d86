// NEON packed micro-kernel: up to 8 rows x 8 columns of C in 16 q accumulators. K advances 4 at a
// time: each row loads 4 consecutive A values into one register and vfmaq_laneq_f32 multiplies
// lane kk by the kk-th 8-float row of the packed B panel; the K tail uses vfmaq_n_f32. The
// epilogue (accumulate into C, or add bias + residual; clamp) is fused into the store.
#include <arm_neon.h>

#include <algorithm>

#include "kernels/gemm/gemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr int kNr = 8;

template <int R>
void micro(int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
           const GemmF32Epilogue& ep, unsigned flags) {
  float32x4_t acc0[R], acc1[R];
  const float* ar[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    acc0[r] = acc1[r] = vdupq_n_f32(0.f);
    ar[r] = a + r * lda;
  }
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    float32x4_t av[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) av[r] = vld1q_f32(ar[r] + p);
    const float32x4_t b00 = vld1q_f32(b), b01 = vld1q_f32(b + 4);
    const float32x4_t b10 = vld1q_f32(b + 8), b11 = vld1q_f32(b + 12);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      acc0[r] = vfmaq_laneq_f32(acc0[r], b00, av[r], 0);
      acc1[r] = vfmaq_laneq_f32(acc1[r], b01, av[r], 0);
      acc0[r] = vfmaq_laneq_f32(acc0[r], b10, av[r], 1);
      acc1[r] = vfmaq_laneq_f32(acc1[r], b11, av[r], 1);
    }
    const float32x4_t b20 = vld1q_f32(b + 16), b21 = vld1q_f32(b + 20);
    const float32x4_t b30 = vld1q_f32(b + 24), b31 = vld1q_f32(b + 28);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      acc0[r] = vfmaq_laneq_f32(acc0[r], b20, av[r], 2);
      acc1[r] = vfmaq_laneq_f32(acc1[r], b21, av[r], 2);
      acc0[r] = vfmaq_laneq_f32(acc0[r], b30, av[r], 3);
      acc1[r] = vfmaq_laneq_f32(acc1[r], b31, av[r], 3);
    }
    b += 4 * kNr;
  }
  for (; p < kc; ++p) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    b += kNr;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      acc0[r] = vfmaq_n_f32(acc0[r], b0, ar[r][p]);
      acc1[r] = vfmaq_n_f32(acc1[r], b1, ar[r][p]);
    }
  }
  const bool accumulate = flags & kGemmAccumulate, final = flags & kGemmFinal;
  if (cols == kNr) {
    const float32x4_t lo = vdupq_n_f32(ep.out_min), hi = vdupq_n_f32(ep.out_max);
    float32x4_t bias0 = vdupq_n_f32(0.f), bias1 = vdupq_n_f32(0.f);
    if (!accumulate && ep.bias) {
      bias0 = vld1q_f32(ep.bias);
      bias1 = vld1q_f32(ep.bias + 4);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      float* cr = c + r * ldc;
      float32x4_t v0 = acc0[r], v1 = acc1[r];
      if (accumulate) {
        v0 = vaddq_f32(v0, vld1q_f32(cr));
        v1 = vaddq_f32(v1, vld1q_f32(cr + 4));
      } else {
        v0 = vaddq_f32(v0, bias0);
        v1 = vaddq_f32(v1, bias1);
        if (ep.residual) {
          const float* res = ep.residual + r * ep.ld_residual;
          v0 = vaddq_f32(v0, vld1q_f32(res));
          v1 = vaddq_f32(v1, vld1q_f32(res + 4));
        }
      }
      if (final) {  // vmaxq/vminq return NaN when either input is NaN, like the scalar reference
        v0 = vminq_f32(vmaxq_f32(v0, lo), hi);
        v1 = vminq_f32(vmaxq_f32(v1, lo), hi);
      }
      vst1q_f32(cr, v0);
      vst1q_f32(cr + 4, v1);
    }
    return;
  }
  float tmp[kNr];
  for (int r = 0; r < R; ++r) {
    vst1q_f32(tmp, acc0[r]);
    vst1q_f32(tmp + 4, acc1[r]);
    float* cr = c + r * ldc;
    for (int64_t j = 0; j < cols; ++j) {
      float v = tmp[j];
      if (accumulate) {
        v += cr[j];
      } else {
        if (ep.bias) v += ep.bias[j];
        if (ep.residual) v += ep.residual[r * ep.ld_residual + j];
      }
      if (final) v = std::min(std::max(v, ep.out_min), ep.out_max);
      cr[j] = v;
    }
  }
}

}  // namespace

void gemm_f32_micro_neon(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                         int64_t ldc, const GemmF32Epilogue& ep, unsigned flags) {
  switch (rows) {
    case 8: micro<8>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 7: micro<7>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 6: micro<6>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 5: micro<5>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 4: micro<4>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 3: micro<3>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 2: micro<2>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 1: micro<1>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    default: break;
  }
}

}  // namespace pocket::kernels
