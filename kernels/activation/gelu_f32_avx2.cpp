// AVX2+FMA GELU rows (algorithm and coefficients: gelu_f32_impl.h), eight lanes, 16 per step,
// the tail through a padded buffer.
#include <immintrin.h>

#include "kernels/activation/gelu_f32.h"
#include "kernels/activation/gelu_f32_impl.h"
#include "kernels/elementwise/math_f32_avx2.h"

namespace pocket::kernels {

namespace {

using avx2::exp_ps;

inline __m256 gelu_erf_ps(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f), half = _mm256_set1_ps(0.5f);
  const __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(gelu::kInvSqrt2));
  const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.f), z);
  const __m256 hx = _mm256_mul_ps(x, half);
  // |z| small: erf(z) = z P(z^2)
  const __m256 z2 = _mm256_mul_ps(z, z);
  __m256 p = _mm256_set1_ps(gelu::kErfSmall[5]);
  for (int i = 4; i >= 0; --i) p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(gelu::kErfSmall[i]));
  const __m256 y_small = _mm256_fmadd_ps(hx, _mm256_mul_ps(z, p), hx);
  // tail: erfc(a) = exp(-a^2) t R(t). a^2 = x^2 / 2 is taken from x (not from the rounded z) as
  // a two-float sum, so exp(-a^2) sees it exactly (the rounding of z would cost 2 a^2 ulp).
  const __m256 axc = _mm256_min_ps(_mm256_set1_ps(gelu::kGeluClampX), _mm256_andnot_ps(_mm256_set1_ps(-0.f), x));
  const __m256 ac = _mm256_mul_ps(axc, _mm256_set1_ps(gelu::kInvSqrt2));  // NaN stays NaN
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(gelu::kGeluT), ac, one));
  __m256 r = _mm256_set1_ps(gelu::kErfcTail[8]);
  for (int i = 7; i >= 0; --i) r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(gelu::kErfcTail[i]));
  const __m256 sq = _mm256_mul_ps(axc, axc);
  const __m256 a2 = _mm256_mul_ps(sq, half);
  const __m256 a2lo = _mm256_mul_ps(_mm256_fmsub_ps(axc, axc, sq), half);
  const __m256 ea = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), a2));
  const __m256 e = _mm256_fnmadd_ps(ea, a2lo, ea);  // exp(-a2 - a2lo)
  const __m256 half_erfc = _mm256_mul_ps(_mm256_mul_ps(e, _mm256_mul_ps(t, r)), half);
  const __m256 phi = _mm256_blendv_ps(half_erfc, _mm256_sub_ps(one, half_erfc),
                                      _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
  const __m256 y_tail = _mm256_mul_ps(x, phi);
  return _mm256_blendv_ps(y_tail, y_small, _mm256_cmp_ps(a, _mm256_set1_ps(gelu::kGeluSmall), _CMP_LT_OQ));
}

inline __m256 gelu_tanh_ps(__m256 x) {
  const __m256 x2 = _mm256_mul_ps(x, x);
  const __m256 two_u = _mm256_mul_ps(x, _mm256_fmadd_ps(_mm256_set1_ps(gelu::kTanh2K1), x2,
                                                        _mm256_set1_ps(gelu::kTanh2K0)));
  const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), two_u));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.f), e));
}

}  // namespace

void gelu_erf_f32_avx2(const float* x, float* y, size_t n) { avx2::map_ps(x, y, n, gelu_erf_ps); }
void gelu_tanh_f32_avx2(const float* x, float* y, size_t n) { avx2::map_ps(x, y, n, gelu_tanh_ps); }

}  // namespace pocket::kernels
