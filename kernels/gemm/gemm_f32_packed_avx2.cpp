// AVX2/FMA packed micro-kernel: up to 6 rows x 16 columns of C in 12 ymm accumulators. Each K step
// loads one 16-float row of the packed B panel (contiguous) and broadcasts one A element per row.
// A last panel with <= 8 valid columns computes only its first 8 (V = 1). The epilogue (accumulate
// into C, or add bias + residual; clamp) is fused into the store, masked on a partial panel.
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm/gemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr int kNr = 16;

inline __m256i lane_mask(int64_t valid) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::clamp<int64_t>(valid, 0, 8))), idx);
}

template <bool kFull>
inline __m256 load(const float* p, __m256i mask) {
  if constexpr (kFull) return _mm256_loadu_ps(p);
  else return _mm256_maskload_ps(p, mask);
}

template <bool kFull>
inline void store(float* p, __m256i mask, __m256 v) {
  if constexpr (kFull) _mm256_storeu_ps(p, v);
  else _mm256_maskstore_ps(p, mask, v);
}

// R rows x V ymm columns; kFull: all V * 8 columns are valid.
template <int R, int V, int S, bool kFull>
void micro(int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
           const GemmF32Epilogue& ep, unsigned flags) {
  // Few rows (the M <= 3 GEMV path) would leave few FMA chains, bound by the FMA latency: S
  // independent sets of accumulators take alternate K steps and are summed at the end. S comes from
  // the whole product's M (kGemmSplit*), never from this block's shape, so summation order is the
  // same for every element of C.
  __m256 acc[R][V];
  const float* ar[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) acc[r][v] = _mm256_setzero_ps();
    ar[r] = a + r * lda;
  }
  int64_t p = 0;
  if constexpr (S > 1) {
    __m256 x[S - 1][R][V];
#pragma GCC unroll 4
    for (int s = 0; s < S - 1; ++s)
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) x[s][r][v] = _mm256_setzero_ps();
    for (; p + S <= kc; p += S) {
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const __m256 av = _mm256_broadcast_ss(ar[r] + p);
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + 8 * v), acc[r][v]);
      }
#pragma GCC unroll 4
      for (int s = 0; s < S - 1; ++s)
#pragma GCC unroll 6
        for (int r = 0; r < R; ++r) {
          const __m256 av = _mm256_broadcast_ss(ar[r] + p + s + 1);
#pragma GCC unroll 2
          for (int v = 0; v < V; ++v)
            x[s][r][v] = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + (s + 1) * kNr + 8 * v), x[s][r][v]);
        }
      b += S * kNr;
    }
#pragma GCC unroll 4
    for (int s = 0; s < S - 1; ++s)
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) acc[r][v] = _mm256_add_ps(acc[r][v], x[s][r][v]);
  }
  for (; p < kc; ++p) {
    __m256 bv[V];
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) bv[v] = _mm256_loadu_ps(b + 8 * v);
    b += kNr;
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(ar[r] + p);
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }

  const bool accumulate = flags & kGemmAccumulate, final = flags & kGemmFinal;
  __m256i mask[V];
#pragma GCC unroll 2
  for (int v = 0; v < V; ++v) mask[v] = lane_mask(cols - 8 * v);
  const __m256 lo = _mm256_set1_ps(ep.out_min), hi = _mm256_set1_ps(ep.out_max);
  __m256 bias[V];
#pragma GCC unroll 2
  for (int v = 0; v < V; ++v)
    bias[v] = !accumulate && ep.bias ? load<kFull>(ep.bias + 8 * v, mask[v]) : _mm256_setzero_ps();
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    const float* res = ep.residual ? ep.residual + r * ep.ld_residual : nullptr;
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) {
      __m256 y = acc[r][v];
      if (accumulate) {
        y = _mm256_add_ps(y, load<kFull>(cr + 8 * v, mask[v]));
      } else {
        y = _mm256_add_ps(y, bias[v]);
        if (res) y = _mm256_add_ps(y, load<kFull>(res + 8 * v, mask[v]));
      }
      if (final) y = _mm256_min_ps(hi, _mm256_max_ps(lo, y));  // max(lo, y) / min(hi, y) keep a NaN y
      store<kFull>(cr + 8 * v, mask[v], y);
    }
  }
}

template <int R, int S>
void micro_cols(int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                const GemmF32Epilogue& ep, unsigned flags) {
  if (cols == kNr) micro<R, 2, S, true>(cols, kc, a, lda, b, c, ldc, ep, flags);
  else if (cols == 8) micro<R, 1, S, true>(cols, kc, a, lda, b, c, ldc, ep, flags);
  else if (cols < 8) micro<R, 1, S, false>(cols, kc, a, lda, b, c, ldc, ep, flags);
  else micro<R, 2, S, false>(cols, kc, a, lda, b, c, ldc, ep, flags);
}

template <int R>
void micro_rows(int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                const GemmF32Epilogue& ep, unsigned flags) {
  // M == 1 gives R == 1 blocks only, M <= 3 gives R <= 3: other combinations never occur.
  if constexpr (R == 1) {
    if (flags & kGemmSplit4) return micro_cols<R, 4>(cols, kc, a, lda, b, c, ldc, ep, flags);
  }
  if constexpr (R <= 3) {
    if (flags & kGemmSplit2) return micro_cols<R, 2>(cols, kc, a, lda, b, c, ldc, ep, flags);
  }
  micro_cols<R, 1>(cols, kc, a, lda, b, c, ldc, ep, flags);
}

}  // namespace

void gemm_f32_micro_avx2(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                         int64_t ldc, const GemmF32Epilogue& ep, unsigned flags) {
  switch (rows) {
    case 6: micro_rows<6>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 5: micro_rows<5>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 4: micro_rows<4>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 3: micro_rows<3>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 2: micro_rows<2>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 1: micro_rows<1>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    default: break;
  }
}

}  // namespace pocket::kernels
