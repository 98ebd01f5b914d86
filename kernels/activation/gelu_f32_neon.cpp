// NEON GELU rows (algorithm and coefficients: gelu_f32_impl.h), four lanes, eight per step.
#include <arm_neon.h>

#include "kernels/activation/gelu_f32.h"
#include "kernels/activation/gelu_f32_impl.h"
#include "kernels/elementwise/math_f32_neon.h"

namespace pocket::kernels {

namespace {

// e^y for y in [-87.3, 0] (NaN stays NaN).
inline float32x4_t exp_neg_ps(float32x4_t y) {
  const float32x4_t n = vrndnq_f32(vmulq_n_f32(y, gelu::kLog2e));
  float32x4_t r = vfmsq_f32(y, n, vdupq_n_f32(gelu::kLn2Hi));
  r = vfmsq_f32(r, n, vdupq_n_f32(gelu::kLn2Lo));
  float32x4_t p = vdupq_n_f32(gelu::kExpPoly[6]);
  for (int i = 5; i >= 0; --i) p = vfmaq_f32(vdupq_n_f32(gelu::kExpPoly[i]), p, r);
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

inline float32x4_t gelu_erf_ps(float32x4_t x) {
  const float32x4_t one = vdupq_n_f32(1.f), half = vdupq_n_f32(0.5f);
  const float32x4_t ax = vminq_f32(vabsq_f32(x), vdupq_n_f32(gelu::kClampX));  // NaN stays NaN
  const float32x4_t t = vdivq_f32(one, vfmaq_f32(one, vdupq_n_f32(gelu::kGeluTx), ax));
  float32x4_t r = vdupq_n_f32(gelu::kErfcR[gelu::kErfcDegree]);
  for (int i = gelu::kErfcDegree - 1; i >= 0; --i) r = vfmaq_f32(vdupq_n_f32(gelu::kErfcR[i]), r, t);
  const float32x4_t sq = vmulq_f32(ax, ax);
  const float32x4_t a2 = vmulq_f32(sq, half);
  const float32x4_t a2lo = vmulq_f32(vfmaq_f32(vnegq_f32(sq), ax, ax), half);
  const float32x4_t ea = exp_neg_ps(vnegq_f32(a2));
  const float32x4_t half_erfc = vmulq_f32(vfmsq_f32(ea, ea, a2lo), vmulq_f32(vmulq_f32(t, r), half));
  const float32x4_t phi = vbslq_f32(vcgtq_f32(x, vdupq_n_f32(0.f)), vsubq_f32(one, half_erfc), half_erfc);
  return vmulq_f32(x, phi);
}

inline float32x4_t gelu_tanh_ps(float32x4_t x) {
  const float32x4_t x2 = vmulq_f32(x, x);
  const float32x4_t two_u = vmulq_f32(x, vfmaq_f32(vdupq_n_f32(gelu::kTanh2K0), vdupq_n_f32(gelu::kTanh2K1), x2));
  const float32x4_t au = vminq_f32(vabsq_f32(two_u), vdupq_n_f32(gelu::kTanhClamp));
  const float32x4_t e = exp_neg_ps(vnegq_f32(au));
  const float32x4_t num = vbslq_f32(vcgtq_f32(two_u, vdupq_n_f32(0.f)), x, vmulq_f32(x, e));
  return vdivq_f32(num, vaddq_f32(vdupq_n_f32(1.f), e));
}

}  // namespace

void gelu_erf_f32_neon(const float* x, float* y, size_t n) { neon::map_ps(x, y, n, gelu_erf_ps); }
void gelu_tanh_f32_neon(const float* x, float* y, size_t n) { neon::map_ps(x, y, n, gelu_tanh_ps); }

}  // namespace pocket::kernels
