// AVX2/FMA fused activations, on the vector math shared with the elementwise family.
#include <immintrin.h>

#include "kernels/activation/activation_f32.h"
#include "kernels/activation/gelu_f32.h"
#include "kernels/elementwise/math_f32_avx2.h"

namespace pocket::kernels {

namespace {

using avx2::exp_ps;
using avx2::sigmoid_ps;
using avx2::tanh_ps;

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
    case Activation::Gelu:  // the dispatched GELU rows (AVX2 or AVX-512)
    case Activation::GeluTanh:
      gelu_f32(x, x, n, p.kind == Activation::GeluTanh);
      return;
  }
}

}  // namespace pocket::kernels
