#include <algorithm>

#include "kernels/gemm/gemm_f32.h"

namespace pocket::kernels {

void gemm_f32_tile_scalar(const GemmF32Args& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  constexpr int64_t kBlock = 64;
  float acc[kBlock];
  for (int64_t i = i0; i < i1; ++i) {
    const float* a = g.k > 0 ? g.a + i * g.a_row_stride : nullptr;  // no arithmetic on a null A when k = 0
    float* c = g.c + i * g.ldc;
    for (int64_t jb = j0; jb < j1; jb += kBlock) {
      const int64_t nb = std::min(kBlock, j1 - jb);
      std::fill(acc, acc + nb, 0.f);
      for (int64_t p = 0; p < g.k; ++p) {
        const float av = a[p * g.a_col_stride];
        const float* b = g.b + p * g.ldb + jb;  // p < k, so B is non-null here
        for (int64_t j = 0; j < nb; ++j) acc[j] += av * b[j];
      }
      for (int64_t j = 0; j < nb; ++j) {
        float v = g.alpha * acc[j] + (g.bias ? g.bias[jb + j] : 0.f);
        c[jb + j] = std::min(std::max(v, g.out_min), g.out_max);
      }
    }
  }
}

}  // namespace pocket::kernels

namespace pocket::kernels {

// Plain loops over one block; also the reference the other micro-kernels are tested against.
void gemm_f32_micro_scalar(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b,
                           float* c, int64_t ldc, const GemmF32Epilogue& ep, unsigned flags) {
  constexpr int64_t kNr = 8;
  for (int64_t r = 0; r < rows; ++r) {
    float acc[kNr] = {};
    const float* ar = a + r * lda;
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t j = 0; j < kNr; ++j) acc[j] += ar[p] * b[p * kNr + j];
    float* cr = c + r * ldc;
    for (int64_t j = 0; j < cols; ++j) {
      float v = acc[j];
      if (flags & kGemmAccumulate) {
        v += cr[j];
      } else {
        if (ep.bias) v += ep.bias[j];
        if (ep.residual) v += ep.residual[r * ep.ld_residual + j];
      }
      if (flags & kGemmFinal) v = std::min(std::max(v, ep.out_min), ep.out_max);
      cr[j] = v;
    }
  }
}

}  // namespace pocket::kernels
