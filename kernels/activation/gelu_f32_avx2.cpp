// AVX2+FMA GELU rows (algorithm and coefficients: gelu_f32_impl.h), eight lanes, 16 per step,
// the tail through a padded buffer.
#include <immintrin.h>

#include "kernels/activation/gelu_f32.h"
#include "kernels/activation/gelu_f32_impl.h"
#include "kernels/elementwise/math_f32_avx2.h"

namespace pocket::kernels {

namespace {

// e^y for y in [-87.3, 0] (NaN stays NaN).
inline __m256 exp_neg_ps(__m256 y) {
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(y, _mm256_set1_ps(gelu::kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(gelu::kLn2Hi), y);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(gelu::kLn2Lo), r);
  __m256 p = _mm256_set1_ps(gelu::kExpPoly[6]);
  for (int i = 5; i >= 0; --i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(gelu::kExpPoly[i]));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 gelu_erf_ps(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f), half = _mm256_set1_ps(0.5f);
  const __m256 ax = _mm256_min_ps(_mm256_set1_ps(gelu::kClampX), _mm256_andnot_ps(_mm256_set1_ps(-0.f), x));  // NaN stays
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(gelu::kGeluTx), ax, one));
  __m256 r = _mm256_set1_ps(gelu::kErfcR[gelu::kErfcDegree]);
  for (int i = gelu::kErfcDegree - 1; i >= 0; --i) r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(gelu::kErfcR[i]));
  const __m256 sq = _mm256_mul_ps(ax, ax);
  const __m256 a2 = _mm256_mul_ps(sq, half);
  const __m256 a2lo = _mm256_mul_ps(_mm256_fmsub_ps(ax, ax, sq), half);
  const __m256 ea = exp_neg_ps(_mm256_sub_ps(_mm256_setzero_ps(), a2));
  const __m256 half_erfc = _mm256_mul_ps(_mm256_fnmadd_ps(ea, a2lo, ea), _mm256_mul_ps(_mm256_mul_ps(t, r), half));
  const __m256 phi = _mm256_blendv_ps(half_erfc, _mm256_sub_ps(one, half_erfc),
                                      _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
  return _mm256_mul_ps(x, phi);
}

inline __m256 gelu_tanh_ps(__m256 x) {
  const __m256 x2 = _mm256_mul_ps(x, x);
  const __m256 two_u = _mm256_mul_ps(x, _mm256_fmadd_ps(_mm256_set1_ps(gelu::kTanh2K1), x2,
                                                        _mm256_set1_ps(gelu::kTanh2K0)));
  const __m256 au = _mm256_min_ps(_mm256_set1_ps(gelu::kTanhClamp), _mm256_andnot_ps(_mm256_set1_ps(-0.f), two_u));
  const __m256 e = exp_neg_ps(_mm256_sub_ps(_mm256_setzero_ps(), au));
  const __m256 num = _mm256_blendv_ps(_mm256_mul_ps(x, e), x, _mm256_cmp_ps(two_u, _mm256_setzero_ps(), _CMP_GT_OQ));
  return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.f), e));
}

}  // namespace

void gelu_erf_f32_avx2(const float* x, float* y, size_t n) { avx2::map_ps(x, y, n, gelu_erf_ps); }
void gelu_tanh_f32_avx2(const float* x, float* y, size_t n) { avx2::map_ps(x, y, n, gelu_tanh_ps); }

}  // namespace pocket::kernels
