// AVX-512 LayerNorm and RMSNorm rows: the AVX2 file's structure with sixteen lanes (four
// 16-lane Welford states, 64 elements per step) and masked scaling tails. Compiled here, not run
// on the development machine (no AVX-512): dispatched only when cpu_features().avx512.
// GCC 12 warns falsely inside its own AVX-512 intrinsics (an "undefined" register source).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <cmath>

#include "kernels/norm/layernorm_f32.h"

namespace pocket::kernels {

namespace {

inline void welford(__m512& mean, __m512& m2, __m512 v, __m512 rk) {
  const __m512 d = _mm512_sub_ps(v, mean);
  mean = _mm512_fmadd_ps(d, rk, mean);
  m2 = _mm512_fmadd_ps(d, _mm512_sub_ps(v, mean), m2);
}

inline void merge_equal(__m512& mean_a, __m512& m2_a, __m512 mean_b, __m512 m2_b, float count) {
  const __m512 d = _mm512_sub_ps(mean_b, mean_a);
  mean_a = _mm512_fmadd_ps(d, _mm512_set1_ps(0.5f), mean_a);
  m2_a = _mm512_fmadd_ps(_mm512_mul_ps(d, d), _mm512_set1_ps(0.5f * count), _mm512_add_ps(m2_a, m2_b));
}

// Moments of x - shift (see layernorm_f32_avx2.cpp).
MomentsF32 row_moments(const float* x, size_t n, float shift) {
  const __m512 vs = _mm512_set1_ps(shift);
  size_t i = 0;
  float count = 0.f;
  __m512 m0 = _mm512_setzero_ps(), q0 = m0;
  if (n >= 64) {
    __m512 m1 = m0, m2 = m0, m3 = m0, q1 = m0, q2 = m0, q3 = m0;
    for (; i + 64 <= n; i += 64) {
      count += 1.f;
      const __m512 rk = _mm512_set1_ps(1.f / count);
      welford(m0, q0, _mm512_sub_ps(_mm512_loadu_ps(x + i), vs), rk);
      welford(m1, q1, _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vs), rk);
      welford(m2, q2, _mm512_sub_ps(_mm512_loadu_ps(x + i + 32), vs), rk);
      welford(m3, q3, _mm512_sub_ps(_mm512_loadu_ps(x + i + 48), vs), rk);
    }
    merge_equal(m0, q0, m1, q1, count);
    merge_equal(m2, q2, m3, q3, count);
    merge_equal(m0, q0, m2, q2, 2.f * count);
    count *= 4.f;
  }
  for (; i + 16 <= n; i += 16) {
    count += 1.f;
    welford(m0, q0, _mm512_sub_ps(_mm512_loadu_ps(x + i), vs), _mm512_set1_ps(1.f / count));
  }
  MomentsF32 s;
  if (count > 0.f) {
    alignas(64) float mean[16], m2[16];
    _mm512_store_ps(mean, m0);
    _mm512_store_ps(m2, q0);
    MomentsF32 lane[16];
    for (int l = 0; l < 16; ++l) lane[l] = {count, mean[l], m2[l]};
    for (int w = 1; w < 16; w *= 2)
      for (int l = 0; l + w < 16; l += 2 * w) lane[l] = merge_moments(lane[l], lane[l + w]);
    s = lane[0];
  }
  return welford_tail(s, x + i, n - i, shift);
}

inline __mmask16 tail_mask(size_t left) { return static_cast<__mmask16>((1u << left) - 1u); }

void scale_row(const float* x, float* y, size_t n, const float* scale, const float* bias, float shift, float mean,
               float rstd) {
  const __m512 vs = _mm512_set1_ps(shift), vm = _mm512_set1_ps(mean), vr = _mm512_set1_ps(rstd);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : tail_mask(n - i);
    const __m512 a = _mm512_mul_ps(_mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vs), vm), vr);
    const __m512 s = _mm512_maskz_loadu_ps(m, scale + i);
    const __m512 v = bias ? _mm512_fmadd_ps(a, s, _mm512_maskz_loadu_ps(m, bias + i)) : _mm512_mul_ps(a, s);
    _mm512_mask_storeu_ps(y + i, m, v);
  }
}

float sum_squares(const float* x, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
    s0 = _mm512_fmadd_ps(a, a, s0);
    s1 = _mm512_fmadd_ps(b, b, s1);
  }
  if (i < n) {
    for (; i < n; i += 16) {
      const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : tail_mask(n - i);
      const __m512 a = _mm512_maskz_loadu_ps(m, x + i);
      s0 = _mm512_fmadd_ps(a, a, s0);
    }
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

}  // namespace

void layernorm_f32_avx512(const float* x, float* y, size_t rows, size_t n, const float* scale,
                          const float* bias, float eps) {
  for (size_t r = 0; r < rows; ++r, x += n, y += n) {
    const MomentsF32 s = row_moments(x, n, x[0]);
    const float rstd = 1.f / std::sqrt(s.m2 / static_cast<float>(n) + eps);
    scale_row(x, y, n, scale, bias, x[0], s.mean, rstd);
  }
}

void rmsnorm_f32_avx512(const float* x, float* y, size_t rows, size_t n, const float* scale, float eps) {
  for (size_t r = 0; r < rows; ++r, x += n, y += n) {
    const __m512 vr = _mm512_set1_ps(1.f / std::sqrt(sum_squares(x, n) / static_cast<float>(n) + eps));
    for (size_t i = 0; i < n; i += 16) {
      const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : tail_mask(n - i);
      const __m512 a = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vr);
      _mm512_mask_storeu_ps(y + i, m, scale ? _mm512_mul_ps(a, _mm512_maskz_loadu_ps(m, scale + i)) : a);
    }
  }
}

}  // namespace pocket::kernels
