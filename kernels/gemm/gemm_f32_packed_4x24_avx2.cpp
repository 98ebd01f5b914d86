// AVX2/FMA packed micro-kernel, 4 rows x 24 columns of C in 12 ymm accumulators, for M > 3 with A
// packed by the driver as pre-broadcast vectors (gemm_f32_pack_a_avx2_4x24, 8 copies of each element).
//
// Why not broadcast A in the loop: on this machine (AMD Zen 3) `vbroadcastss ymm, m32` is not a
// pure load; it also issues on an FP pipe that the FMAs need. A 6x16 loop has 6 broadcasts per 12
// FMAs and tops out near 70 % of the FMA peak even with everything in L1 (register-only FMA loops
// and the same loop with pre-broadcast A reach 90+ %). Here each K step is 3 loads of the packed B
// panel row and 4 plain loads of 8 copies of A(r, p): 7 loads, 12 FMAs, no shuffle.
//
// Blocks of M <= 3 (the GEMV path, A rows read directly, kGemmPackedA clear) broadcast A and split
// K over 2 or 4 accumulator chains (kGemmSplit*) to cover the FMA latency; they are bound by B's
// memory stream anyway. The epilogue (accumulate into C, or add bias + residual; clamp) is fused
// into the store, masked on a partial panel.
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm/gemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr int kMr = 4;
constexpr int kNr = 24;
constexpr int kW = 8;  // copies of each A element in the packed panel

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

// Stores rows [0, rows) of acc (R >= rows) through the epilogue.
template <int R, int V, bool kFull>
inline void epilogue(const __m256 (&acc)[R][V], int64_t rows, int64_t cols, float* c, int64_t ldc,
                     const GemmF32Epilogue& ep, unsigned flags) {
  const bool accumulate = flags & kGemmAccumulate, final = flags & kGemmFinal;
  __m256i mask[V];
#pragma GCC unroll 3
  for (int v = 0; v < V; ++v) mask[v] = lane_mask(cols - 8 * v);
  const __m256 lo = _mm256_set1_ps(ep.out_min), hi = _mm256_set1_ps(ep.out_max);
  __m256 bias[V];
#pragma GCC unroll 3
  for (int v = 0; v < V; ++v)
    bias[v] = !accumulate && ep.bias ? load<kFull>(ep.bias + 8 * v, mask[v]) : _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    if (r >= rows) break;
    float* cr = c + r * ldc;
    const float* res = ep.residual ? ep.residual + r * ep.ld_residual : nullptr;
#pragma GCC unroll 3
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

// 4 packed rows x V ymm columns.
template <int V, bool kFull>
void micro_packed(int64_t rows, int64_t cols, int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                  const GemmF32Epilogue& ep, unsigned flags) {
  __m256 acc[kMr][V];
#pragma GCC unroll 4
  for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) acc[r][v] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 2 <= kc; p += 2) {
#pragma GCC unroll 2
    for (int u = 0; u < 2; ++u) {
      __m256 bv[V];
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) bv[v] = _mm256_loadu_ps(b + u * kNr + 8 * v);
#pragma GCC unroll 4
      for (int r = 0; r < kMr; ++r) {
        const __m256 av = _mm256_load_ps(a + (u * kMr + r) * kW);
#pragma GCC unroll 3
        for (int v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
      }
    }
    a += 2 * kMr * kW;
    b += 2 * kNr;
  }
  if (p < kc) {
    __m256 bv[V];
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 4
    for (int r = 0; r < kMr; ++r) {
      const __m256 av = _mm256_load_ps(a + r * kW);
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  epilogue<kMr, V, kFull>(acc, rows, cols, c, ldc, ep, flags);
}

// R (<= 3) rows of A read directly, V ymm columns, S accumulator sets taking alternate K steps
// (S comes from the whole product's M, so every element of C is summed in the same order).
template <int R, int V, int S, bool kFull>
void micro_rows(int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                const GemmF32Epilogue& ep, unsigned flags) {
  __m256 acc[S][R][V];
#pragma GCC unroll 4
  for (int s = 0; s < S; ++s)
#pragma GCC unroll 3
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) acc[s][r][v] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + S <= kc; p += S) {
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s)
#pragma GCC unroll 3
      for (int r = 0; r < R; ++r) {
        const __m256 av = _mm256_broadcast_ss(a + r * lda + p + s);
#pragma GCC unroll 3
        for (int v = 0; v < V; ++v)
          acc[s][r][v] = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + s * kNr + 8 * v), acc[s][r][v]);
      }
    b += S * kNr;
  }
  for (; p < kc; ++p) {
#pragma GCC unroll 3
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) acc[0][r][v] = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + 8 * v), acc[0][r][v]);
    }
    b += kNr;
  }
#pragma GCC unroll 4
  for (int s = 1; s < S; ++s)
#pragma GCC unroll 3
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) acc[0][r][v] = _mm256_add_ps(acc[0][r][v], acc[s][r][v]);
  epilogue<R, V, kFull>(acc[0], R, cols, c, ldc, ep, flags);
}

template <int R, int S>
void rows_cols(int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
               const GemmF32Epilogue& ep, unsigned flags) {
  if (cols == 24) micro_rows<R, 3, S, true>(cols, kc, a, lda, b, c, ldc, ep, flags);
  else if (cols > 16) micro_rows<R, 3, S, false>(cols, kc, a, lda, b, c, ldc, ep, flags);
  else if (cols == 16) micro_rows<R, 2, S, true>(cols, kc, a, lda, b, c, ldc, ep, flags);
  else if (cols > 8) micro_rows<R, 2, S, false>(cols, kc, a, lda, b, c, ldc, ep, flags);
  else if (cols == 8) micro_rows<R, 1, S, true>(cols, kc, a, lda, b, c, ldc, ep, flags);
  else micro_rows<R, 1, S, false>(cols, kc, a, lda, b, c, ldc, ep, flags);
}

// Accumulator sets: 4 for one row, 2 for two (12 ymm), one for three rows (9 chains already).
template <int R>
void rows_split(int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                const GemmF32Epilogue& ep, unsigned flags) {
  if constexpr (R == 1) {
    if (flags & kGemmSplit4) return rows_cols<R, 4>(cols, kc, a, lda, b, c, ldc, ep, flags);
  }
  if constexpr (R <= 2) {
    if (flags & (kGemmSplit2 | kGemmSplit4)) return rows_cols<R, 2>(cols, kc, a, lda, b, c, ldc, ep, flags);
  }
  rows_cols<R, 1>(cols, kc, a, lda, b, c, ldc, ep, flags);
}

}  // namespace

void gemm_f32_pack_a_avx2_4x24(int64_t rows, int64_t kc, const float* a, int64_t lda, float* dst) {
  const float* ar[kMr];
  for (int r = 0; r < kMr; ++r) ar[r] = a + std::min<int64_t>(r, std::max<int64_t>(rows - 1, 0)) * lda;
  const __m256 zero = _mm256_setzero_ps();
  if (rows == kMr) {
    for (int64_t p = 0; p < kc; ++p, dst += kMr * kW)
#pragma GCC unroll 4
      for (int r = 0; r < kMr; ++r) _mm256_store_ps(dst + r * kW, _mm256_broadcast_ss(ar[r] + p));
    return;
  }
  for (int64_t p = 0; p < kc; ++p, dst += kMr * kW)
    for (int r = 0; r < kMr; ++r) _mm256_store_ps(dst + r * kW, r < rows ? _mm256_broadcast_ss(ar[r] + p) : zero);
}

void gemm_f32_micro_avx2_4x24(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b,
                              float* c, int64_t ldc, const GemmF32Epilogue& ep, unsigned flags) {
  if (flags & kGemmPackedA) {
    if (cols == 24) micro_packed<3, true>(rows, cols, kc, a, b, c, ldc, ep, flags);
    else if (cols > 16) micro_packed<3, false>(rows, cols, kc, a, b, c, ldc, ep, flags);
    else if (cols == 16) micro_packed<2, true>(rows, cols, kc, a, b, c, ldc, ep, flags);
    else if (cols > 8) micro_packed<2, false>(rows, cols, kc, a, b, c, ldc, ep, flags);
    else if (cols == 8) micro_packed<1, true>(rows, cols, kc, a, b, c, ldc, ep, flags);
    else micro_packed<1, false>(rows, cols, kc, a, b, c, ldc, ep, flags);
    return;
  }
  switch (rows) {
    case 3: rows_split<3>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 2: rows_split<2>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 1: rows_split<1>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    default: {
      // Never reached from the driver (M > 3 packs A); stay correct for any caller.
      for (int64_t r = 0; r < rows; r += 3)
        gemm_f32_micro_avx2_4x24(std::min<int64_t>(3, rows - r), cols, kc, a + r * lda, lda, b, c + r * ldc, ldc,
                                 [&] {
                                   GemmF32Epilogue e = ep;
                                   if (e.residual) e.residual += r * e.ld_residual;
                                   return e;
                                 }(),
                                 flags & ~(kGemmSplit2 | kGemmSplit4));
      break;
    }
  }
}

}  // namespace pocket::kernels
