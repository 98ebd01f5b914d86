// AVX2/FMA packed micro-kernel: up to 6 rows x 16 columns of C in 12 ymm accumulators. Each K step
// loads one 16-float row of the packed B panel (contiguous) and broadcasts one A element
// per row. The epilogue (accumulate into C, or add bias + residual; clamp) is fused into the store.
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm/gemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr int kNr = 16;

template <int R>
void micro(int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
           const GemmF32Epilogue& ep, unsigned flags) {
  // Few rows (the M <= 3 GEMV path and row tails) would leave 2 or 4 FMA chains, bound by the FMA
  // latency: S independent sets of accumulators take alternate K steps and are summed at the end.
  constexpr int S = R == 1 ? 4 : R <= 3 ? 2 : 1;
  __m256 acc0[R], acc1[R];
  const float* ar[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    acc0[r] = acc1[r] = _mm256_setzero_ps();
    ar[r] = a + r * lda;
  }
  int64_t p = 0;
  if constexpr (S > 1) {
    __m256 x0[S - 1][R], x1[S - 1][R];
#pragma GCC unroll 4
    for (int s = 0; s < S - 1; ++s)
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) x0[s][r] = x1[s][r] = _mm256_setzero_ps();
    for (; p + S <= kc; p += S) {
      {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < R; ++r) {
          const __m256 av = _mm256_broadcast_ss(ar[r] + p);
          acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
          acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
        }
      }
#pragma GCC unroll 4
      for (int s = 0; s < S - 1; ++s) {
        const __m256 b0 = _mm256_loadu_ps(b + (s + 1) * kNr), b1 = _mm256_loadu_ps(b + (s + 1) * kNr + 8);
#pragma GCC unroll 6
        for (int r = 0; r < R; ++r) {
          const __m256 av = _mm256_broadcast_ss(ar[r] + p + s + 1);
          x0[s][r] = _mm256_fmadd_ps(av, b0, x0[s][r]);
          x1[s][r] = _mm256_fmadd_ps(av, b1, x1[s][r]);
        }
      }
      b += S * kNr;
    }
#pragma GCC unroll 4
    for (int s = 0; s < S - 1; ++s)
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        acc0[r] = _mm256_add_ps(acc0[r], x0[s][r]);
        acc1[r] = _mm256_add_ps(acc1[r], x1[s][r]);
      }
  }
  for (; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    b += kNr;
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(ar[r] + p);
      acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
    }
  }
  const bool accumulate = flags & kGemmAccumulate, final = flags & kGemmFinal;
  if (cols == kNr) {
    const __m256 lo = _mm256_set1_ps(ep.out_min), hi = _mm256_set1_ps(ep.out_max);
    __m256 bias0 = _mm256_setzero_ps(), bias1 = _mm256_setzero_ps();
    if (!accumulate && ep.bias) {
      bias0 = _mm256_loadu_ps(ep.bias);
      bias1 = _mm256_loadu_ps(ep.bias + 8);
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      float* cr = c + r * ldc;
      __m256 v0 = acc0[r], v1 = acc1[r];
      if (accumulate) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8));
      } else {
        v0 = _mm256_add_ps(v0, bias0);
        v1 = _mm256_add_ps(v1, bias1);
        if (ep.residual) {
          const float* res = ep.residual + r * ep.ld_residual;
          v0 = _mm256_add_ps(v0, _mm256_loadu_ps(res));
          v1 = _mm256_add_ps(v1, _mm256_loadu_ps(res + 8));
        }
      }
      if (final) {  // max(lo, v) / min(hi, v) keep a NaN v
        v0 = _mm256_min_ps(hi, _mm256_max_ps(lo, v0));
        v1 = _mm256_min_ps(hi, _mm256_max_ps(lo, v1));
      }
      _mm256_storeu_ps(cr, v0);
      _mm256_storeu_ps(cr + 8, v1);
    }
    return;
  }
  alignas(32) float tmp[kNr];
#pragma GCC unroll 6  // a runtime row index would keep the accumulators in memory
  for (int r = 0; r < R; ++r) {
    _mm256_store_ps(tmp, acc0[r]);
    _mm256_store_ps(tmp + 8, acc1[r]);
    float* cr = c + r * ldc;
    for (int64_t j = 0; j < cols; ++j) {
      float v = tmp[j];
      if (accumulate) {
        v += cr[j];
      } else {
        if (ep.bias) v += ep.bias[j];
        if (ep.residual) v += ep.residual[r * ep.ld_residual + j];
      }
      if (final) v = std::min(std::max(v, ep.out_min), ep.out_max);
      cr[j] = v;
    }
  }
}

}  // namespace

void gemm_f32_micro_avx2(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                         int64_t ldc, const GemmF32Epilogue& ep, unsigned flags) {
  switch (rows) {
    case 6: micro<6>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 5: micro<5>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 4: micro<4>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 3: micro<3>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 2: micro<2>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 1: micro<1>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    default: break;
  }
}

}  // namespace pocket::kernels
