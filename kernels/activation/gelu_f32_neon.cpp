// NEON GELU rows (algorithm and coefficients: gelu_f32_impl.h), four lanes, eight per step.
#include <arm_neon.h>

#include "kernels/activation/gelu_f32.h"
#include "kernels/activation/gelu_f32_impl.h"
#include "kernels/elementwise/math_f32_neon.h"

namespace pocket::kernels {

namespace {

using neon::exp_ps;

inline float32x4_t gelu_erf_ps(float32x4_t x) {
  const float32x4_t one = vdupq_n_f32(1.f), half = vdupq_n_f32(0.5f);
  const float32x4_t z = vmulq_n_f32(x, gelu::kInvSqrt2);
  const float32x4_t a = vabsq_f32(z);
  const float32x4_t hx = vmulq_f32(x, half);
  const float32x4_t z2 = vmulq_f32(z, z);
  float32x4_t p = vdupq_n_f32(gelu::kErfSmall[5]);
  for (int i = 4; i >= 0; --i) p = vfmaq_f32(vdupq_n_f32(gelu::kErfSmall[i]), p, z2);
  const float32x4_t y_small = vfmaq_f32(hx, hx, vmulq_f32(z, p));
  // tail; a^2 = x^2 / 2 from x as a two-float sum (see gelu_f32_avx2.cpp)
  const float32x4_t axc = vminq_f32(vabsq_f32(x), vdupq_n_f32(gelu::kGeluClampX));  // NaN stays NaN
  const float32x4_t ac = vmulq_n_f32(axc, gelu::kInvSqrt2);
  const float32x4_t t = vdivq_f32(one, vfmaq_f32(one, vdupq_n_f32(gelu::kGeluT), ac));
  float32x4_t r = vdupq_n_f32(gelu::kErfcTail[8]);
  for (int i = 7; i >= 0; --i) r = vfmaq_f32(vdupq_n_f32(gelu::kErfcTail[i]), r, t);
  const float32x4_t sq = vmulq_f32(axc, axc);
  const float32x4_t a2 = vmulq_f32(sq, half);
  const float32x4_t a2lo = vmulq_f32(vfmaq_f32(vnegq_f32(sq), axc, axc), half);
  const float32x4_t ea = exp_ps(vnegq_f32(a2));
  const float32x4_t e = vfmsq_f32(ea, ea, a2lo);  // exp(-a2 - a2lo)
  const float32x4_t half_erfc = vmulq_f32(vmulq_f32(e, vmulq_f32(t, r)), half);
  const float32x4_t phi = vbslq_f32(vcgtq_f32(x, vdupq_n_f32(0.f)), vsubq_f32(one, half_erfc), half_erfc);
  const float32x4_t y_tail = vmulq_f32(x, phi);
  return vbslq_f32(vcltq_f32(a, vdupq_n_f32(gelu::kGeluSmall)), y_small, y_tail);
}

inline float32x4_t gelu_tanh_ps(float32x4_t x) {
  const float32x4_t x2 = vmulq_f32(x, x);
  const float32x4_t two_u = vmulq_f32(x, vfmaq_f32(vdupq_n_f32(gelu::kTanh2K0), vdupq_n_f32(gelu::kTanh2K1), x2));
  return vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.f), exp_ps(vnegq_f32(two_u))));
}

}  // namespace

void gelu_erf_f32_neon(const float* x, float* y, size_t n) { neon::map_ps(x, y, n, gelu_erf_ps); }
void gelu_tanh_f32_neon(const float* x, float* y, size_t n) { neon::map_ps(x, y, n, gelu_tanh_ps); }

}  // namespace pocket::kernels
