// AVX2 row reductions (sum, sum of squares, max, min, product) over a contiguous row with four
// accumulators, and the matching row accumulations.
#include <immintrin.h>

#include "kernels/elementwise/math_f32_avx2.h"
#include "kernels/reduce/reduce.h"

namespace pocket::kernels {

namespace {

using namespace avx2;

inline __m256i tail_mask(size_t k) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(k)), idx);
}

template <ReduceOp Op>
inline __m256 combine(__m256 acc, __m256 v) {
  if constexpr (Op == ReduceOp::Sum) return _mm256_add_ps(acc, v);
  else if constexpr (Op == ReduceOp::SumSquares) return _mm256_fmadd_ps(v, v, acc);
  else if constexpr (Op == ReduceOp::Max || Op == ReduceOp::Min) {
    // max_ps(v, acc) returns acc when either is NaN, which keeps a NaN accumulator; a NaN v is
    // put in by the blend, so NaN propagates as in numpy, PyTorch and ONNX Runtime.
    const __m256 r = Op == ReduceOp::Max ? _mm256_max_ps(v, acc) : _mm256_min_ps(v, acc);
    return _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  } else return _mm256_mul_ps(acc, v);
}

template <ReduceOp Op>
inline float horizontal(__m256 v) {
  if constexpr (Op == ReduceOp::Max || Op == ReduceOp::Min) {
    // Halves, then pairs, then neighbours, through the NaN-propagating combine.
    v = combine<Op>(v, _mm256_permute2f128_ps(v, v, 1));
    v = combine<Op>(v, _mm256_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = combine<Op>(v, _mm256_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm256_cvtss_f32(v);
  } else if constexpr (Op == ReduceOp::Prod) {
    alignas(32) float b[8];
    _mm256_store_ps(b, v);
    return ((b[0] * b[1]) * (b[2] * b[3])) * ((b[4] * b[5]) * (b[6] * b[7]));
  } else return hsum_ps(v);
}

template <ReduceOp Op>
float reduce_row(const float* x, size_t n) {
  const __m256 id = _mm256_set1_ps(reduce_identity(Op));
  __m256 a0 = id, a1 = id, a2 = id, a3 = id;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = combine<Op>(a0, _mm256_loadu_ps(x + i));
    a1 = combine<Op>(a1, _mm256_loadu_ps(x + i + 8));
    a2 = combine<Op>(a2, _mm256_loadu_ps(x + i + 16));
    a3 = combine<Op>(a3, _mm256_loadu_ps(x + i + 24));
  }
  for (; i + 8 <= n; i += 8) a0 = combine<Op>(a0, _mm256_loadu_ps(x + i));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    // Lanes past the end hold the identity.
    const __m256 v = _mm256_blendv_ps(id, _mm256_maskload_ps(x + i, m), _mm256_castsi256_ps(m));
    a1 = combine<Op>(a1, v);
  }
  if constexpr (Op == ReduceOp::SumSquares) {
    // a0..a3 hold sums of squares: combine them as sums.
    return horizontal<ReduceOp::Sum>(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  } else if constexpr (Op == ReduceOp::Sum) {
    return horizontal<Op>(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  } else {
    return horizontal<Op>(combine<Op>(combine<Op>(a0, a1), combine<Op>(a2, a3)));
  }
}

template <ReduceOp Op>
void accumulate_row(const float* x, float* acc, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(acc + i, combine<Op>(_mm256_loadu_ps(acc + i), _mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    const __m256 r = combine<Op>(_mm256_maskload_ps(acc + i, m), _mm256_maskload_ps(x + i, m));
    _mm256_maskstore_ps(acc + i, m, r);
  }
}

float sum_sq_dev(const float* x, size_t n, float mean) {
  const __m256 m = _mm256_set1_ps(mean);
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), m);
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), m);
    a0 = _mm256_fmadd_ps(d0, d0, a0);
    a1 = _mm256_fmadd_ps(d1, d1, a1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), m);
    a0 = _mm256_fmadd_ps(d, d, a0);
  }
  if (i < n) {
    const __m256i k = tail_mask(n - i);
    const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), m), _mm256_castsi256_ps(k));
    a1 = _mm256_fmadd_ps(d, d, a1);
  }
  return hsum_ps(_mm256_add_ps(a0, a1));
}

template <ReduceOp Op>
void set(ReduceKernels& t) {
  t.reduce_row_f32[static_cast<int>(Op)] = reduce_row<Op>;
  t.accumulate_row_f32[static_cast<int>(Op)] = accumulate_row<Op>;
  t.reduce_isa[static_cast<int>(Op)] = "avx2";
}

}  // namespace

void fill_reduce_f32_avx2(ReduceKernels& t) {
  set<ReduceOp::Sum>(t);
  set<ReduceOp::SumSquares>(t);
  set<ReduceOp::Max>(t);
  set<ReduceOp::Min>(t);
  set<ReduceOp::Prod>(t);
  t.sum_sq_dev_f32 = sum_sq_dev;
  t.sum_sq_dev_isa = "avx2";
}

}  // namespace pocket::kernels
