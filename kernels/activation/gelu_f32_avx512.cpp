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

// e^y for y in [-87.3, 0] (NaN stays NaN).
inline __m512 exp_neg_ps(__m512 y) {
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(y, _mm512_set1_ps(gelu::kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(gelu::kLn2Hi), y);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(gelu::kLn2Lo), r);
  __m512 p = _mm512_set1_ps(gelu::kExpPoly[6]);
  for (int i = 5; i >= 0; --i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(gelu::kExpPoly[i]));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

inline __m512 gelu_erf_ps(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.f), half = _mm512_set1_ps(0.5f);
  const __m512 ax = _mm512_min_ps(_mm512_set1_ps(gelu::kClampX), _mm512_abs_ps(x));  // NaN stays NaN
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(gelu::kGeluTx), ax, one));
  __m512 r = _mm512_set1_ps(gelu::kErfcR[gelu::kErfcDegree]);
  for (int i = gelu::kErfcDegree - 1; i >= 0; --i) r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(gelu::kErfcR[i]));
  const __m512 sq = _mm512_mul_ps(ax, ax);
  const __m512 a2 = _mm512_mul_ps(sq, half);
  const __m512 a2lo = _mm512_mul_ps(_mm512_fmsub_ps(ax, ax, sq), half);
  const __m512 ea = exp_neg_ps(_mm512_sub_ps(_mm512_setzero_ps(), a2));
  const __m512 half_erfc = _mm512_mul_ps(_mm512_fnmadd_ps(ea, a2lo, ea), _mm512_mul_ps(_mm512_mul_ps(t, r), half));
  const __m512 phi = _mm512_mask_mov_ps(half_erfc, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ),
                                        _mm512_sub_ps(one, half_erfc));
  return _mm512_mul_ps(x, phi);
}

inline __m512 gelu_tanh_ps(__m512 x) {
  const __m512 x2 = _mm512_mul_ps(x, x);
  const __m512 two_u = _mm512_mul_ps(x, _mm512_fmadd_ps(_mm512_set1_ps(gelu::kTanh2K1), x2,
                                                        _mm512_set1_ps(gelu::kTanh2K0)));
  const __m512 au = _mm512_min_ps(_mm512_set1_ps(gelu::kTanhClamp), _mm512_abs_ps(two_u));
  const __m512 e = exp_neg_ps(_mm512_sub_ps(_mm512_setzero_ps(), au));
  const __m512 num = _mm512_mask_mov_ps(_mm512_mul_ps(x, e), _mm512_cmp_ps_mask(two_u, _mm512_setzero_ps(), _CMP_GT_OQ), x);
  return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.f), e));
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
