// NEON LayerNorm and RMSNorm rows: the AVX2 file's structure with four lanes (four 4-lane
// Welford states, 16 elements per step).
#include <arm_neon.h>

#include <cmath>

#include "kernels/norm/layernorm_f32.h"

namespace pocket::kernels {

namespace {

inline void welford(float32x4_t& mean, float32x4_t& m2, float32x4_t v, float32x4_t rk) {
  const float32x4_t d = vsubq_f32(v, mean);
  mean = vfmaq_f32(mean, d, rk);
  m2 = vfmaq_f32(m2, d, vsubq_f32(v, mean));
}

inline void merge_equal(float32x4_t& mean_a, float32x4_t& m2_a, float32x4_t mean_b, float32x4_t m2_b, float count) {
  const float32x4_t d = vsubq_f32(mean_b, mean_a);
  mean_a = vfmaq_n_f32(mean_a, d, 0.5f);
  m2_a = vfmaq_n_f32(vaddq_f32(m2_a, m2_b), vmulq_f32(d, d), 0.5f * count);
}

// Moments of x - shift (see layernorm_f32_avx2.cpp).
MomentsF32 row_moments(const float* x, size_t n, float shift) {
  const float32x4_t vs = vdupq_n_f32(shift);
  size_t i = 0;
  float count = 0.f;
  float32x4_t m0 = vdupq_n_f32(0.f), q0 = m0;
  if (n >= 16) {
    float32x4_t m1 = m0, m2 = m0, m3 = m0, q1 = m0, q2 = m0, q3 = m0;
    for (; i + 16 <= n; i += 16) {
      count += 1.f;
      const float32x4_t rk = vdupq_n_f32(1.f / count);
      welford(m0, q0, vsubq_f32(vld1q_f32(x + i), vs), rk);
      welford(m1, q1, vsubq_f32(vld1q_f32(x + i + 4), vs), rk);
      welford(m2, q2, vsubq_f32(vld1q_f32(x + i + 8), vs), rk);
      welford(m3, q3, vsubq_f32(vld1q_f32(x + i + 12), vs), rk);
    }
    merge_equal(m0, q0, m1, q1, count);
    merge_equal(m2, q2, m3, q3, count);
    merge_equal(m0, q0, m2, q2, 2.f * count);
    count *= 4.f;
  }
  for (; i + 4 <= n; i += 4) {
    count += 1.f;
    welford(m0, q0, vsubq_f32(vld1q_f32(x + i), vs), vdupq_n_f32(1.f / count));
  }
  MomentsF32 s;
  if (count > 0.f) {
    float mean[4], m2[4];
    vst1q_f32(mean, m0);
    vst1q_f32(m2, q0);
    const MomentsF32 a = merge_moments({count, mean[0], m2[0]}, {count, mean[1], m2[1]});
    const MomentsF32 b = merge_moments({count, mean[2], m2[2]}, {count, mean[3], m2[3]});
    s = merge_moments(a, b);
  }
  return welford_tail(s, x + i, n - i, shift);
}

template <bool kBias>
void scale_row(const float* x, float* y, size_t n, const float* scale, const float* bias, float shift, float mean,
               float rstd) {
  const float32x4_t vs = vdupq_n_f32(shift), vm = vdupq_n_f32(mean);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a0 = vmulq_n_f32(vsubq_f32(vsubq_f32(vld1q_f32(x + i), vs), vm), rstd);
    const float32x4_t a1 = vmulq_n_f32(vsubq_f32(vsubq_f32(vld1q_f32(x + i + 4), vs), vm), rstd);
    if constexpr (kBias) {
      vst1q_f32(y + i, vfmaq_f32(vld1q_f32(bias + i), a0, vld1q_f32(scale + i)));
      vst1q_f32(y + i + 4, vfmaq_f32(vld1q_f32(bias + i + 4), a1, vld1q_f32(scale + i + 4)));
    } else {
      vst1q_f32(y + i, vmulq_f32(a0, vld1q_f32(scale + i)));
      vst1q_f32(y + i + 4, vmulq_f32(a1, vld1q_f32(scale + i + 4)));
    }
  }
  for (; i < n; ++i) {
    const float a = ((x[i] - shift) - mean) * rstd;
    y[i] = kBias ? std::fma(a, scale[i], bias[i]) : a * scale[i];
  }
}

float sum_squares(const float* x, size_t n) {
  float32x4_t s0 = vdupq_n_f32(0.f), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
    const float32x4_t c = vld1q_f32(x + i + 8), d = vld1q_f32(x + i + 12);
    s0 = vfmaq_f32(s0, a, a);
    s1 = vfmaq_f32(s1, b, b);
    s2 = vfmaq_f32(s2, c, c);
    s3 = vfmaq_f32(s3, d, d);
  }
  for (; i + 4 <= n; i += 4) {
    const float32x4_t a = vld1q_f32(x + i);
    s0 = vfmaq_f32(s0, a, a);
  }
  float total = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
  for (; i < n; ++i) total = std::fma(x[i], x[i], total);
  return total;
}

}  // namespace

void layernorm_f32_neon(const float* x, float* y, size_t rows, size_t n, const float* scale,
                        const float* bias, float eps) {
  for (size_t r = 0; r < rows; ++r, x += n, y += n) {
    const MomentsF32 s = row_moments(x, n, x[0]);
    const float rstd = 1.f / std::sqrt(s.m2 / static_cast<float>(n) + eps);
    if (bias) scale_row<true>(x, y, n, scale, bias, x[0], s.mean, rstd);
    else scale_row<false>(x, y, n, scale, nullptr, x[0], s.mean, rstd);
  }
}

void rmsnorm_f32_neon(const float* x, float* y, size_t rows, size_t n, const float* scale, float eps) {
  for (size_t r = 0; r < rows; ++r, x += n, y += n) {
    const float rms = 1.f / std::sqrt(sum_squares(x, n) / static_cast<float>(n) + eps);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      const float32x4_t a = vmulq_n_f32(vld1q_f32(x + i), rms);
      vst1q_f32(y + i, scale ? vmulq_f32(a, vld1q_f32(scale + i)) : a);
    }
    for (; i < n; ++i) y[i] = x[i] * rms * (scale ? scale[i] : 1.f);
  }
}

}  // namespace pocket::kernels
