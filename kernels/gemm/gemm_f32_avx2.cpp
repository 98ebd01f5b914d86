// AVX2/FMA GEMM tile: 6 rows x 16 columns of C held in 12 ymm accumulators; each step loads one
// 16-wide row of B and broadcasts one A element per row. Column remainders use masked loads/stores.
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm/gemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

inline __m256i lane_mask(int64_t valid) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::clamp<int64_t>(valid, 0, 8))), idx);
}

template <int MR, bool kFull>
void block(const GemmF32Args& g, int64_t i, int64_t j, int64_t cols) {
  const __m256i m0 = lane_mask(cols), m1 = lane_mask(cols - 8);
  __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = _mm256_setzero_ps();
  // With k == 0, A and B may be NULL (nothing is read): no pointer arithmetic on them then.
  const float* a = g.k > 0 ? g.a + i * g.a_row_stride : nullptr;
  const float* b = g.k > 0 ? g.b + j : nullptr;
  const int64_t ars = g.a_row_stride, acs = g.a_col_stride;
  for (int64_t p = 0; p < g.k; ++p) {
    __m256 b0, b1;
    if constexpr (kFull) {
      b0 = _mm256_loadu_ps(b);
      b1 = _mm256_loadu_ps(b + 8);
    } else {
      b0 = _mm256_maskload_ps(b, m0);
      b1 = _mm256_maskload_ps(b + 8, m1);
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * ars);
      acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
    }
    a += acs;
    b += g.ldb;
  }
  const __m256 alpha = _mm256_set1_ps(g.alpha);
  const __m256 lo = _mm256_set1_ps(g.out_min), hi = _mm256_set1_ps(g.out_max);
  __m256 bias0 = _mm256_setzero_ps(), bias1 = _mm256_setzero_ps();
  if (g.bias) {
    if constexpr (kFull) {
      bias0 = _mm256_loadu_ps(g.bias + j);
      bias1 = _mm256_loadu_ps(g.bias + j + 8);
    } else {
      bias0 = _mm256_maskload_ps(g.bias + j, m0);
      bias1 = _mm256_maskload_ps(g.bias + j + 8, m1);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    float* c = g.c + (i + r) * g.ldc + j;
    const __m256 v0 = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(alpha, acc0[r], bias0), lo), hi);
    const __m256 v1 = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(alpha, acc1[r], bias1), lo), hi);
    if constexpr (kFull) {
      _mm256_storeu_ps(c, v0);
      _mm256_storeu_ps(c + 8, v1);
    } else {
      _mm256_maskstore_ps(c, m0, v0);
      _mm256_maskstore_ps(c + 8, m1, v1);
    }
  }
}

// Rows [i, i + rows) x one column block.
void row_block(const GemmF32Args& g, int64_t i, int64_t rows, int64_t j, int64_t cols) {
  const bool full = cols == kNr;
  switch (rows) {
    case 6: full ? block<6, true>(g, i, j, cols) : block<6, false>(g, i, j, cols); break;
    case 5: full ? block<5, true>(g, i, j, cols) : block<5, false>(g, i, j, cols); break;
    case 4: full ? block<4, true>(g, i, j, cols) : block<4, false>(g, i, j, cols); break;
    case 3: full ? block<3, true>(g, i, j, cols) : block<3, false>(g, i, j, cols); break;
    case 2: full ? block<2, true>(g, i, j, cols) : block<2, false>(g, i, j, cols); break;
    case 1: full ? block<1, true>(g, i, j, cols) : block<1, false>(g, i, j, cols); break;
    default: break;
  }
}

}  // namespace

// Row chunks keep a slab of A in L2; inside one, each K x 16 panel of B stays in cache while
// every 6-row block of the chunk passes over it.
void gemm_f32_tile_avx2(const GemmF32Args& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  constexpr int64_t kChunk = kMr * 16;
  for (int64_t ic = i0; ic < i1; ic += kChunk) {
    const int64_t ie = std::min(i1, ic + kChunk);
    for (int64_t j = j0; j < j1; j += kNr) {
      const int64_t cols = std::min<int64_t>(kNr, j1 - j);
      for (int64_t i = ic; i < ie; i += kMr) row_block(g, i, std::min<int64_t>(kMr, ie - i), j, cols);
    }
  }
}

}  // namespace pocket::kernels
