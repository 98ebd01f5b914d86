// AVX-512 GELU rows (algorithm and coefficients: gelu_f32_impl.h), sixteen lanes, masked tail.
// Compiled here, not run on the development machine (no AVX-512): dispatched only when
// cpu_features().avx512.
// GCC 12 warns falsely inside its own AVX-512 intrinsics (an "undefined" register source).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "kernels/activation/gelu_f32.h"
#include "kernels/activation/gelu_f32_impl.h"

namespace pocket::kernels {

namespace {

// e^x: x = n ln2 + r, degree-6 polynomial in r, 2^n applied in two halves (as math_f32_avx2.h).
inline __m512 exp_ps(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-104.0f), hi = _mm512_set1_ps(88.72283935546875f);
  const __m512 xc = _mm512_min_ps(hi, _mm512_max_ps(lo, x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.f / 720.f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  const __m512i ni = _mm512_cvtps_epi32(n);
  const __m512i n1 = _mm512_srai_epi32(ni, 1);
  const __m512i n2 = _mm512_sub_epi32(ni, n1);
  const __m512i bias = _mm512_set1_epi32(127);
  const __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, bias), 23));
  const __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, bias), 23));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
  y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), _mm512_setzero_ps());
  y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), _mm512_set1_ps(__builtin_inff()));
  return y;
}

inline __m512 gelu_erf_ps(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.f), half = _mm512_set1_ps(0.5f);
  const __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(gelu::kInvSqrt2));
  const __m512 a = _mm512_abs_ps(z);
  const __m512 hx = _mm512_mul_ps(x, half);
  const __m512 z2 = _mm512_mul_ps(z, z);
  __m512 p = _mm512_set1_ps(gelu::kErfSmall[5]);
  for (int i = 4; i >= 0; --i) p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(gelu::kErfSmall[i]));
  const __m512 y_small = _mm512_fmadd_ps(hx, _mm512_mul_ps(z, p), hx);
  // tail; a^2 = x^2 / 2 from x as a two-float sum (see gelu_f32_avx2.cpp)
  const __m512 axc = _mm512_min_ps(_mm512_set1_ps(gelu::kGeluClampX), _mm512_abs_ps(x));  // NaN stays NaN
  const __m512 ac = _mm512_mul_ps(axc, _mm512_set1_ps(gelu::kInvSqrt2));
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(gelu::kGeluT), ac, one));
  __m512 r = _mm512_set1_ps(gelu::kErfcTail[8]);
  for (int i = 7; i >= 0; --i) r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(gelu::kErfcTail[i]));
  const __m512 sq = _mm512_mul_ps(axc, axc);
  const __m512 a2 = _mm512_mul_ps(sq, half);
  const __m512 a2lo = _mm512_mul_ps(_mm512_fmsub_ps(axc, axc, sq), half);
  const __m512 ea = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), a2));
  const __m512 e = _mm512_fnmadd_ps(ea, a2lo, ea);
  const __m512 half_erfc = _mm512_mul_ps(_mm512_mul_ps(e, _mm512_mul_ps(t, r)), half);
  const __m512 phi = _mm512_mask_mov_ps(half_erfc, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ),
                                        _mm512_sub_ps(one, half_erfc));
  const __m512 y_tail = _mm512_mul_ps(x, phi);
  return _mm512_mask_mov_ps(y_tail, _mm512_cmp_ps_mask(a, _mm512_set1_ps(gelu::kGeluSmall), _CMP_LT_OQ), y_small);
}

inline __m512 gelu_tanh_ps(__m512 x) {
  const __m512 x2 = _mm512_mul_ps(x, x);
  const __m512 two_u = _mm512_mul_ps(x, _mm512_fmadd_ps(_mm512_set1_ps(gelu::kTanh2K1), x2,
                                                        _mm512_set1_ps(gelu::kTanh2K0)));
  const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), two_u));
  return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.f), e));
}

template <class F>
inline void map_ps(const float* x, float* y, size_t n, F f) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, m, f(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

}  // namespace

void gelu_erf_f32_avx512(const float* x, float* y, size_t n) { map_ps(x, y, n, gelu_erf_ps); }
void gelu_tanh_f32_avx512(const float* x, float* y, size_t n) { map_ps(x, y, n, gelu_tanh_ps); }

}  // namespace pocket::kernels
