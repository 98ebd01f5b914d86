// AVX-512 indirect-convolution micro-kernels: 8 rows x 32 (or 16) output channels in 16 (8) zmm
// accumulators; partial widths use lane masks. Compiled on every x86-64 build, dispatched only
// when cpu_features().avx512.
#include <immintrin.h>

#include <cstdint>

#include "kernels/conv/igemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr size_t kMR = 8;

inline const float* offset_row(const float* p, const float* zero, ptrdiff_t off) {
  return p == zero ? p : reinterpret_cast<const float*>(reinterpret_cast<const char*>(p) + off);
}

// Stores rows [0, mr) of acc[row][vector] with residual and clamp; partial widths are masked.
template <int NV>
inline void store_rows(const IgemmF32Block& b, const __m512 (&acc)[kMR][NV]) {
  const __m512 lo = _mm512_set1_ps(b.out_min), hi = _mm512_set1_ps(b.out_max);
  for (size_t i = 0; i < b.mr; ++i) {
    float* c = b.c + i * b.ldc;
    const float* r = b.residual ? b.residual + i * b.ldr : nullptr;
    for (int v = 0; v < NV; ++v) {
      const size_t done = 16 * static_cast<size_t>(v);
      if (done >= b.nc) break;
      const size_t n = b.nc - done < 16 ? b.nc - done : 16;
      const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1u);
      __m512 y = acc[i][v];
      if (r) y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, r + done));
      _mm512_mask_storeu_ps(c + done, mask, _mm512_min_ps(_mm512_max_ps(y, lo), hi));
    }
  }
}

#define POCKET_IGEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

// Named accumulators (not an array) so that GCC keeps them in registers.
void block_8x32(const IgemmF32Block& b) {
  const float* w = b.w;
  const __m512 bias0 = _mm512_loadu_ps(w), bias1 = _mm512_loadu_ps(w + 16);
#define DECL(i) __m512 c##i##0 = bias0, c##i##1 = bias1;
  POCKET_IGEMM_ROWS(DECL)
#undef DECL
  w += 32;
  const float* const* a = b.a;
  const size_t kc = b.kc;
  for (size_t t = b.ks; t != 0; --t, a += kMR) {
#define ROW(i) const float* a##i = offset_row(a[i], b.zero, b.a_offset);
    POCKET_IGEMM_ROWS(ROW)
#undef ROW
    for (size_t k = 0; k < kc; ++k, w += 32) {
      const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
#define FMA(i)                                   \
  {                                              \
    const __m512 x = _mm512_set1_ps(a##i[k]);    \
    c##i##0 = _mm512_fmadd_ps(x, w0, c##i##0);   \
    c##i##1 = _mm512_fmadd_ps(x, w1, c##i##1);   \
  }
      POCKET_IGEMM_ROWS(FMA)
#undef FMA
    }
  }
  const __m512 acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                              {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
  store_rows<2>(b, acc);
}

void block_8x16(const IgemmF32Block& b) {
  const float* w = b.w;
  const __m512 bias = _mm512_loadu_ps(w);
#define DECL(i) __m512 c##i = bias;
  POCKET_IGEMM_ROWS(DECL)
#undef DECL
  w += 16;
  const float* const* a = b.a;
  const size_t kc = b.kc;
  for (size_t t = b.ks; t != 0; --t, a += kMR) {
#define ROW(i) const float* a##i = offset_row(a[i], b.zero, b.a_offset);
    POCKET_IGEMM_ROWS(ROW)
#undef ROW
    for (size_t k = 0; k < kc; ++k, w += 16) {
      const __m512 w0 = _mm512_loadu_ps(w);
#define FMA(i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(a##i[k]), w0, c##i);
      POCKET_IGEMM_ROWS(FMA)
#undef FMA
    }
  }
  const __m512 acc[kMR][1] = {{c0}, {c1}, {c2}, {c3}, {c4}, {c5}, {c6}, {c7}};
  store_rows<1>(b, acc);
}

#undef POCKET_IGEMM_ROWS

}  // namespace

void igemm_f32_ukernel_8x32_avx512(const IgemmF32Block& b) { block_8x32(b); }
void igemm_f32_ukernel_8x16_avx512(const IgemmF32Block& b) { block_8x16(b); }

}  // namespace pocket::kernels
