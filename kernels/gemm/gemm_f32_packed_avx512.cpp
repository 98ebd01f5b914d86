// AVX-512 packed micro-kernel: up to 8 rows x 32 columns of C in 16 zmm accumulators. Each K step
// loads one 32-float row of the packed B panel and broadcasts one A element per row; the epilogue
// (accumulate into C, or add bias + residual; clamp) is fused into the store. Only dispatched when
// cpu_features().avx512 says so.
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm/gemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr int kNr = 32;

template <int R>
void micro(int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
           const GemmF32Epilogue& ep, unsigned flags) {
  __m512 acc0[R], acc1[R];
  const float* ar[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    acc0[r] = acc1[r] = _mm512_setzero_ps();
    ar[r] = a + r * lda;
  }
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    b += kNr;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(ar[r][p]);
      acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
    }
  }
  const bool accumulate = flags & kGemmAccumulate, final = flags & kGemmFinal;
  // Column masks cover the partial last panel; masked-off lanes are neither read nor written.
  const __mmask16 m0 = static_cast<__mmask16>(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
  const __mmask16 m1 = static_cast<__mmask16>(cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
  const __m512 lo = _mm512_set1_ps(ep.out_min), hi = _mm512_set1_ps(ep.out_max);
  __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
  if (!accumulate && ep.bias) {
    bias0 = _mm512_maskz_loadu_ps(m0, ep.bias);
    bias1 = _mm512_maskz_loadu_ps(m1, ep.bias + 16);
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    __m512 v0 = acc0[r], v1 = acc1[r];
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    } else {
      v0 = _mm512_add_ps(v0, bias0);
      v1 = _mm512_add_ps(v1, bias1);
      if (ep.residual) {
        const float* res = ep.residual + r * ep.ld_residual;
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, res));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, res + 16));
      }
    }
    if (final) {  // max(lo, v) / min(hi, v) keep a NaN v
      v0 = _mm512_min_ps(hi, _mm512_max_ps(lo, v0));
      v1 = _mm512_min_ps(hi, _mm512_max_ps(lo, v1));
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

}  // namespace

void gemm_f32_micro_avx512(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b,
                           float* c, int64_t ldc, const GemmF32Epilogue& ep, unsigned flags) {
  switch (rows) {
    case 8: micro<8>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
    case 7: micro<7>(cols, kc, a, lda, b, c, ldc, ep, flags); break;
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
