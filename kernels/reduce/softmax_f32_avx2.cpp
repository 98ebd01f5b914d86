// AVX2 softmax / log-softmax. A contiguous row (the last axis) is vectorised along the row;
// an inner axis (stride > 1) is vectorised across eight adjacent columns at a time.
#include <immintrin.h>

#include <cmath>
#include <limits>

#include "kernels/elementwise/math_f32_avx2.h"
#include "kernels/reduce/reduce.h"

namespace pocket::kernels {

namespace {

using namespace avx2;

inline __m256i tail_mask(size_t k) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(k)), idx);
}

float row_max(const float* x, size_t n) {
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 m0 = ninf, m1 = ninf;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
  }
  for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
  if (i < n) {
    const __m256i k = tail_mask(n - i);
    m1 = _mm256_max_ps(_mm256_blendv_ps(ninf, _mm256_maskload_ps(x + i, k), _mm256_castsi256_ps(k)), m1);
  }
  return hmax_ps(_mm256_max_ps(m0, m1));
}

template <bool Log>
void softmax_row(const float* x, float* y, size_t n) {
  const float m = row_max(x, n);
  const __m256 mv = _mm256_set1_ps(m);
  __m256 s0 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
    if (!Log) _mm256_storeu_ps(y + i, e);
    s0 = _mm256_add_ps(s0, e);
  }
  if (i < n) {
    const __m256i k = tail_mask(n - i);
    const __m256 e = _mm256_and_ps(exp_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), mv)), _mm256_castsi256_ps(k));
    if (!Log) _mm256_maskstore_ps(y + i, k, e);
    s0 = _mm256_add_ps(s0, e);
  }
  const float sum = hsum_ps(s0);
  if (Log) {
    const __m256 shift = _mm256_set1_ps(m + std::log(sum));
    map_ps(x, y, n, [shift](__m256 v) { return _mm256_sub_ps(v, shift); });
  } else {
    const __m256 inv = _mm256_set1_ps(1.f / sum);
    map_ps(y, y, n, [inv](__m256 v) { return _mm256_mul_ps(v, inv); });
  }
}

// Eight (or, at the tail, fewer: Full = false, mask k) adjacent columns; element i of column c
// is x[i * stride + c]. Full chunks use plain loads and stores (masked stores are slow on AMD).
template <bool Full>
inline __m256 load8(const float* p, __m256i k) {
  if constexpr (Full) return _mm256_loadu_ps(p);
  else return _mm256_maskload_ps(p, k);
}
template <bool Full>
inline void store8(float* p, __m256i k, __m256 v) {
  if constexpr (Full) _mm256_storeu_ps(p, v);
  else _mm256_maskstore_ps(p, k, v);
}

template <bool Log, bool Full>
void softmax_cols8(const float* x, float* y, size_t n, size_t stride, __m256i k) {
  __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (size_t i = 0; i < n; ++i) m = _mm256_max_ps(load8<Full>(x + i * stride, k), m);
  __m256 s = _mm256_setzero_ps();
  for (size_t i = 0; i < n; ++i) {
    const __m256 e = exp_ps(_mm256_sub_ps(load8<Full>(x + i * stride, k), m));
    if (!Log) store8<Full>(y + i * stride, k, e);
    s = _mm256_add_ps(s, e);
  }
  if (Log) {
    alignas(32) float b[8];
    _mm256_store_ps(b, s);
    for (float& v : b) v = std::log(v);
    const __m256 shift = _mm256_add_ps(m, _mm256_load_ps(b));
    for (size_t i = 0; i < n; ++i) store8<Full>(y + i * stride, k, _mm256_sub_ps(load8<Full>(x + i * stride, k), shift));
  } else {
    const __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.f), s);
    for (size_t i = 0; i < n; ++i) store8<Full>(y + i * stride, k, _mm256_mul_ps(load8<Full>(y + i * stride, k), inv));
  }
}

template <bool Log>
void softmax(const float* x, float* y, size_t n, size_t stride, size_t cols) {
  if (stride == 1) {
    for (size_t c = 0; c < cols; ++c) softmax_row<Log>(x + c, y + c, n);  // cols is 1 here
    return;
  }
  const __m256i all = _mm256_set1_epi32(-1);
  size_t c = 0;
  for (; c + 8 <= cols; c += 8) softmax_cols8<Log, true>(x + c, y + c, n, stride, all);
  if (c < cols) softmax_cols8<Log, false>(x + c, y + c, n, stride, tail_mask(cols - c));
}

}  // namespace

void fill_softmax_f32_avx2(ReduceKernels& t) {
  t.softmax_f32 = softmax<false>;
  t.log_softmax_f32 = softmax<true>;
  t.softmax_isa = "avx2";
}

}  // namespace pocket::kernels
