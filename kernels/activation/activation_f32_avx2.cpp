// AVX2/FMA activations. exp is a Cody-Waite reduction to [-ln2/2, ln2/2] and a degree-6
// polynomial (about 1 ulp); sigmoid and tanh are built on it with exact divisions.
#include <immintrin.h>

#include "kernels/activation/activation_f32.h"

namespace pocket::kernels {

namespace {

inline __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.7f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.f / 720.f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 120.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 24.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 6.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  // 2^n in two halves so that n = 128 (x near 88.7) does not overflow the exponent field.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(ni, 1);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
  const __m256 s2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

inline __m256 sigmoid_ps(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

inline __m256 tanh_ps(__m256 x) {
  // tanh|x| = 1 - 2 / (exp(2|x|) + 1), sign restored after.
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.f));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.f), x);
  const __m256 e = exp_ps(_mm256_add_ps(ax, ax));
  const __m256 t = _mm256_sub_ps(_mm256_set1_ps(1.f), _mm256_div_ps(_mm256_set1_ps(2.f), _mm256_add_ps(e, _mm256_set1_ps(1.f))));
  return _mm256_or_ps(t, sign);
}

template <class F>
inline void map(float* x, size_t n, F f) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    float tail[8] = {};
    for (size_t j = i; j < n; ++j) tail[j - i] = x[j];
    _mm256_storeu_ps(tail, f(_mm256_loadu_ps(tail)));
    for (size_t j = i; j < n; ++j) x[j] = tail[j - i];
  }
}

}  // namespace

void activation_f32_avx2(const ActivationParams& p, float* x, size_t n) {
  const __m256 zero = _mm256_setzero_ps();
  switch (p.kind) {
    case Activation::None:
      return;
    case Activation::Relu:
      map(x, n, [&](__m256 v) { return _mm256_max_ps(v, zero); });
      return;
    case Activation::Clip: {
      const __m256 lo = _mm256_set1_ps(p.alpha), hi = _mm256_set1_ps(p.beta);
      map(x, n, [&](__m256 v) { return _mm256_min_ps(_mm256_max_ps(v, lo), hi); });
      return;
    }
    case Activation::HardSigmoid: {
      const __m256 a = _mm256_set1_ps(p.alpha), b = _mm256_set1_ps(p.beta), one = _mm256_set1_ps(1.f);
      map(x, n, [&](__m256 v) { return _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(a, v, b), zero), one); });
      return;
    }
    case Activation::HardSwish: {
      const __m256 three = _mm256_set1_ps(3.f), six = _mm256_set1_ps(6.f), sixth = _mm256_set1_ps(1.f / 6.f);
      map(x, n, [&](__m256 v) {
        const __m256 r6 = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, three), zero), six);
        return _mm256_mul_ps(_mm256_mul_ps(v, r6), sixth);
      });
      return;
    }
    case Activation::Sigmoid:
      map(x, n, [&](__m256 v) { return sigmoid_ps(v); });
      return;
    case Activation::SiLU:
      map(x, n, [&](__m256 v) { return _mm256_mul_ps(v, sigmoid_ps(v)); });
      return;
    case Activation::Tanh:
      map(x, n, [&](__m256 v) { return tanh_ps(v); });
      return;
    case Activation::LeakyRelu: {
      const __m256 a = _mm256_set1_ps(p.alpha);
      map(x, n, [&](__m256 v) { return _mm256_blendv_ps(v, _mm256_mul_ps(v, a), _mm256_cmp_ps(v, zero, _CMP_LT_OQ)); });
      return;
    }
  }
}

}  // namespace pocket::kernels
