#include <algorithm>

#include "kernels/gemm/gemm_f32.h"

namespace pocket::kernels {

void gemm_f32_tile_scalar(const GemmF32Args& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  constexpr int64_t kBlock = 64;
  float acc[kBlock];
  for (int64_t i = i0; i < i1; ++i) {
    const float* a = g.a + i * g.a_row_stride;
    float* c = g.c + i * g.ldc;
    for (int64_t jb = j0; jb < j1; jb += kBlock) {
      const int64_t nb = std::min(kBlock, j1 - jb);
      std::fill(acc, acc + nb, 0.f);
      for (int64_t p = 0; p < g.k; ++p) {
        const float av = a[p * g.a_col_stride];
        const float* b = g.b + p * g.ldb + jb;
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
