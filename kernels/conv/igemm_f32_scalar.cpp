// Reference indirect-convolution micro-kernels: plain loops, one accumulator per output.
#include <algorithm>

#include "kernels/conv/igemm_f32.h"

namespace pocket::kernels {

namespace {

template <size_t MR, size_t NR>
void igemm_block_scalar(const IgemmF32Block& b) {
  float acc[MR][NR];
  const float* w = b.w;
  for (size_t i = 0; i < MR; ++i)
    for (size_t j = 0; j < NR; ++j) acc[i][j] = w[j];
  w += NR;
  const float* const* a = b.a;
  for (size_t t = 0; t < b.ks; ++t, a += MR) {
    const float* rows[MR];
    for (size_t i = 0; i < MR; ++i)
      rows[i] = a[i] == b.zero ? a[i] : reinterpret_cast<const float*>(reinterpret_cast<const char*>(a[i]) + b.a_offset);
    for (size_t k = 0; k < b.kc; ++k, w += NR)
      for (size_t i = 0; i < MR; ++i)
        for (size_t j = 0; j < NR; ++j) acc[i][j] += rows[i][k] * w[j];
  }
  for (size_t i = 0; i < b.mr; ++i) {
    float* c = b.c + i * b.ldc;
    const float* r = b.residual ? b.residual + i * b.ldr : nullptr;
    for (size_t j = 0; j < b.nc; ++j) {
      float v = acc[i][j];
      if (r) v += r[j];
      c[j] = std::min(std::max(v, b.out_min), b.out_max);
    }
  }
}

}  // namespace

void igemm_f32_ukernel_4x8_scalar(const IgemmF32Block& b) { igemm_block_scalar<4, 8>(b); }
void igemm_f32_ukernel_4x4_scalar(const IgemmF32Block& b) { igemm_block_scalar<4, 4>(b); }

}  // namespace pocket::kernels
