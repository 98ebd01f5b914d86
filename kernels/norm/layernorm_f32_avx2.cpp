// AVX2+FMA LayerNorm and RMSNorm rows. Statistics: four 8-lane Welford states (32 elements per
// step, four independent dependency chains), merged pairwise, then across lanes, then the scalar
// tail. Scaling: two vectors per step, scalar tail.
#include <immintrin.h>

#include <cmath>

#include "kernels/norm/layernorm_f32.h"

namespace pocket::kernels {

namespace {

// One Welford step of every lane: mean += (v - mean) / k, m2 += (v - mean_old) (v - mean_new).
inline void welford(__m256& mean, __m256& m2, __m256 v, __m256 rk) {
  const __m256 d = _mm256_sub_ps(v, mean);
  mean = _mm256_fmadd_ps(d, rk, mean);
  m2 = _mm256_fmadd_ps(d, _mm256_sub_ps(v, mean), m2);
}

// Merges state b into a, both with `count` elements per lane.
inline void merge_equal(__m256& mean_a, __m256& m2_a, __m256 mean_b, __m256 m2_b, float count) {
  const __m256 d = _mm256_sub_ps(mean_b, mean_a);
  mean_a = _mm256_fmadd_ps(d, _mm256_set1_ps(0.5f), mean_a);
  m2_a = _mm256_fmadd_ps(_mm256_mul_ps(d, d), _mm256_set1_ps(0.5f * count), _mm256_add_ps(m2_a, m2_b));
}

inline void merge_equal(__m128& mean_a, __m128& m2_a, __m128 mean_b, __m128 m2_b, float count) {
  const __m128 d = _mm_sub_ps(mean_b, mean_a);
  mean_a = _mm_fmadd_ps(d, _mm_set1_ps(0.5f), mean_a);
  m2_a = _mm_fmadd_ps(_mm_mul_ps(d, d), _mm_set1_ps(0.5f * count), _mm_add_ps(m2_a, m2_b));
}

// Moments of x - shift (the shift, the row's first element, keeps the running mean small so its
// rounding is small: a row at 1e4 +- 1 keeps its variance to float precision).
MomentsF32 row_moments(const float* x, size_t n, float shift) {
  const __m256 vs = _mm256_set1_ps(shift);
  size_t i = 0;
  float count = 0.f;  // elements per lane in m0/q0
  __m256 m0 = _mm256_setzero_ps(), q0 = m0;
  if (n >= 32) {
    __m256 m1 = m0, m2 = m0, m3 = m0, q1 = m0, q2 = m0, q3 = m0;
    for (; i + 32 <= n; i += 32) {
      count += 1.f;
      const __m256 rk = _mm256_set1_ps(1.f / count);
      welford(m0, q0, _mm256_sub_ps(_mm256_loadu_ps(x + i), vs), rk);
      welford(m1, q1, _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vs), rk);
      welford(m2, q2, _mm256_sub_ps(_mm256_loadu_ps(x + i + 16), vs), rk);
      welford(m3, q3, _mm256_sub_ps(_mm256_loadu_ps(x + i + 24), vs), rk);
    }
    merge_equal(m0, q0, m1, q1, count);
    merge_equal(m2, q2, m3, q3, count);
    merge_equal(m0, q0, m2, q2, 2.f * count);
    count *= 4.f;
  }
  for (; i + 8 <= n; i += 8) {
    count += 1.f;
    welford(m0, q0, _mm256_sub_ps(_mm256_loadu_ps(x + i), vs), _mm256_set1_ps(1.f / count));
  }
  MomentsF32 s;
  if (count > 0.f) {  // fold the lanes (equal counts: no division) 8 -> 4 -> 2 -> 1
    __m128 m = _mm256_castps256_ps128(m0), q = _mm256_castps256_ps128(q0);
    merge_equal(m, q, _mm256_extractf128_ps(m0, 1), _mm256_extractf128_ps(q0, 1), count);
    merge_equal(m, q, _mm_movehl_ps(m, m), _mm_movehl_ps(q, q), 2.f * count);
    merge_equal(m, q, _mm_movehdup_ps(m), _mm_movehdup_ps(q), 4.f * count);
    s = {8.f * count, _mm_cvtss_f32(m), _mm_cvtss_f32(q)};
  }
  return welford_tail(s, x + i, n - i, shift);
}

template <bool kBias>
void scale_row(const float* x, float* y, size_t n, const float* scale, const float* bias, float shift, float mean,
               float rstd) {
  const __m256 vs = _mm256_set1_ps(shift), vm = _mm256_set1_ps(mean), vr = _mm256_set1_ps(rstd);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a0 = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs), vm), vr);
    const __m256 a1 = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vs), vm), vr);
    if constexpr (kBias) {
      _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a0, _mm256_loadu_ps(scale + i), _mm256_loadu_ps(bias + i)));
      _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(a1, _mm256_loadu_ps(scale + i + 8), _mm256_loadu_ps(bias + i + 8)));
    } else {
      _mm256_storeu_ps(y + i, _mm256_mul_ps(a0, _mm256_loadu_ps(scale + i)));
      _mm256_storeu_ps(y + i + 8, _mm256_mul_ps(a1, _mm256_loadu_ps(scale + i + 8)));
    }
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 a = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs), vm), vr);
    if constexpr (kBias)
      _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(scale + i), _mm256_loadu_ps(bias + i)));
    else
      _mm256_storeu_ps(y + i, _mm256_mul_ps(a, _mm256_loadu_ps(scale + i)));
  }
  for (; i < n; ++i) {
    const float a = ((x[i] - shift) - mean) * rstd;
    y[i] = kBias ? std::fma(a, scale[i], bias[i]) : a * scale[i];
  }
}

float sum_squares(const float* x, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    const __m256 c = _mm256_loadu_ps(x + i + 16), d = _mm256_loadu_ps(x + i + 24);
    s0 = _mm256_fmadd_ps(a, a, s0);
    s1 = _mm256_fmadd_ps(b, b, s1);
    s2 = _mm256_fmadd_ps(c, c, s2);
    s3 = _mm256_fmadd_ps(d, d, s3);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 a = _mm256_loadu_ps(x + i);
    s0 = _mm256_fmadd_ps(a, a, s0);
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  float total = _mm_cvtss_f32(h);
  for (; i < n; ++i) total = std::fma(x[i], x[i], total);
  return total;
}

}  // namespace

void layernorm_f32_avx2(const float* x, float* y, size_t rows, size_t n, const float* scale,
                        const float* bias, float eps) {
  for (size_t r = 0; r < rows; ++r, x += n, y += n) {
    const MomentsF32 s = row_moments(x, n, x[0]);
    const float rstd = 1.f / std::sqrt(s.m2 / static_cast<float>(n) + eps);
    if (bias) scale_row<true>(x, y, n, scale, bias, x[0], s.mean, rstd);
    else scale_row<false>(x, y, n, scale, nullptr, x[0], s.mean, rstd);
  }
}

void rmsnorm_f32_avx2(const float* x, float* y, size_t rows, size_t n, const float* scale, float eps) {
  for (size_t r = 0; r < rows; ++r, x += n, y += n) {
    const float rms = 1.f / std::sqrt(sum_squares(x, n) / static_cast<float>(n) + eps);
    const __m256 vr = _mm256_set1_ps(rms);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 a = _mm256_mul_ps(_mm256_loadu_ps(x + i), vr);
      _mm256_storeu_ps(y + i, scale ? _mm256_mul_ps(a, _mm256_loadu_ps(scale + i)) : a);
    }
    for (; i < n; ++i) y[i] = x[i] * rms * (scale ? scale[i] : 1.f);
  }
}

}  // namespace pocket::kernels
