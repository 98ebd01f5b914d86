// Vector math for NEON (AArch64) kernel files only: the same exp, sigmoid, tanh and erf
// approximations as math_f32_avx2.h, four lanes, and a row map helper with a buffered tail.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstring>

namespace pocket::kernels::neon {

inline float32x4_t exp_ps(float32x4_t x) {
  const float32x4_t lo = vdupq_n_f32(-104.0f), hi = vdupq_n_f32(88.72283935546875f);
  const float32x4_t xc = vminq_f32(vmaxq_f32(x, lo), hi);  // NEON max/min keep NaN
  const float32x4_t n = vrndnq_f32(vmulq_f32(xc, vdupq_n_f32(1.44269504088896341f)));
  float32x4_t r = vfmsq_f32(xc, n, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.f / 720.f);
  p = vfmaq_f32(vdupq_n_f32(1.f / 120.f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f / 24.f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f / 6.f), p, r);
  p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f), p, r);
  const int32x4_t ni = vcvtq_s32_f32(n);
  const int32x4_t n1 = vshrq_n_s32(ni, 1);
  const int32x4_t n2 = vsubq_s32(ni, n1);
  const int32x4_t bias = vdupq_n_s32(127);
  const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
  const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
  float32x4_t y = vmulq_f32(vmulq_f32(p, s1), s2);
  y = vbslq_f32(vcltq_f32(x, lo), vdupq_n_f32(0.f), y);
  y = vbslq_f32(vcgtq_f32(x, hi), vdupq_n_f32(__builtin_inff()), y);
  return y;
}

inline float32x4_t sigmoid_ps(float32x4_t x) {
  const float32x4_t one = vdupq_n_f32(1.f);
  return vdivq_f32(one, vaddq_f32(one, exp_ps(vnegq_f32(x))));
}

inline float32x4_t with_sign_of(float32x4_t magnitude, float32x4_t x) {
  const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u));
  return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(magnitude), sign));
}

inline float32x4_t tanh_ps(float32x4_t x) {
  const float32x4_t ax = vabsq_f32(x);
  const float32x4_t one = vdupq_n_f32(1.f);
  const float32x4_t e = exp_ps(vaddq_f32(ax, ax));
  const float32x4_t big = vsubq_f32(one, vdivq_f32(vdupq_n_f32(2.f), vaddq_f32(e, one)));
  const float32x4_t x2 = vmulq_f32(x, x);
  float32x4_t p = vdupq_n_f32(62.f / 2835.f);
  p = vfmaq_f32(vdupq_n_f32(-17.f / 315.f), p, x2);
  p = vfmaq_f32(vdupq_n_f32(2.f / 15.f), p, x2);
  p = vfmaq_f32(vdupq_n_f32(-1.f / 3.f), p, x2);
  const float32x4_t small = vfmaq_f32(ax, vmulq_f32(p, x2), ax);
  return with_sign_of(vbslq_f32(vcltq_f32(ax, vdupq_n_f32(0.25f)), small, big), x);
}

inline float32x4_t erf_ps(float32x4_t x) {
  const float32x4_t ax = vabsq_f32(x);
  const float32x4_t one = vdupq_n_f32(1.f);
  const float32x4_t x2 = vmulq_f32(x, x);
  const float32x4_t t = vdivq_f32(one, vfmaq_f32(one, vdupq_n_f32(0.3275911f), ax));
  float32x4_t q = vdupq_n_f32(1.061405429f);
  q = vfmaq_f32(vdupq_n_f32(-1.453152027f), q, t);
  q = vfmaq_f32(vdupq_n_f32(1.421413741f), q, t);
  q = vfmaq_f32(vdupq_n_f32(-0.284496736f), q, t);
  q = vfmaq_f32(vdupq_n_f32(0.254829592f), q, t);
  q = vmulq_f32(q, t);
  const float32x4_t big = vfmsq_f32(one, q, exp_ps(vnegq_f32(x2)));
  float32x4_t p = vdupq_n_f32(-1.f / 1320.f);
  p = vfmaq_f32(vdupq_n_f32(1.f / 216.f), p, x2);
  p = vfmaq_f32(vdupq_n_f32(-1.f / 42.f), p, x2);
  p = vfmaq_f32(vdupq_n_f32(1.f / 10.f), p, x2);
  p = vfmaq_f32(vdupq_n_f32(-1.f / 3.f), p, x2);
  p = vfmaq_f32(one, p, x2);
  const float32x4_t small = vmulq_f32(vmulq_f32(p, ax), vdupq_n_f32(1.12837916709551257f));
  return with_sign_of(vbslq_f32(vcltq_f32(ax, vdupq_n_f32(0.5f)), small, big), x);
}

template <class F>
inline void map_ps(const float* x, float* y, size_t n, F f) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a = f(vld1q_f32(x + i));
    const float32x4_t b = f(vld1q_f32(x + i + 4));
    vst1q_f32(y + i, a);
    vst1q_f32(y + i + 4, b);
  }
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, f(vld1q_f32(x + i)));
  if (i < n) {
    float buf[4] = {};
    std::memcpy(buf, x + i, (n - i) * sizeof(float));
    vst1q_f32(buf, f(vld1q_f32(buf)));
    std::memcpy(y + i, buf, (n - i) * sizeof(float));
  }
}

}  // namespace pocket::kernels::neon
