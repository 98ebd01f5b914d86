// AVX2+FMA indirect-convolution micro-kernels: 6 rows x 16 (or 8) output channels held in 12 (6)
// ymm accumulators; per input channel one broadcast per row and one weight load per 8 channels.
#include <immintrin.h>

#include <cstdint>

#include "kernels/conv/igemm_f32.h"

namespace pocket::kernels {

namespace {

constexpr size_t kMR = 6;

inline const float* offset_row(const float* p, const float* zero, ptrdiff_t off) {
  return p == zero ? p : reinterpret_cast<const float*>(reinterpret_cast<const char*>(p) + off);
}

// Lanes [0, n) of a ymm mask.
inline __m256i lane_mask(size_t n) {
  alignas(32) static const int32_t kMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask + 8 - n));
}

// Stores rows [0, mr) of acc[row][vector] with residual and clamp; nc columns (partial: masked).
template <int NV>
inline void store_rows(const IgemmF32Block& b, const __m256 (&acc)[kMR][NV]) {
  constexpr size_t NR = 8 * NV;
  const __m256 lo = _mm256_set1_ps(b.out_min), hi = _mm256_set1_ps(b.out_max);
  if (b.nc == NR) {
    for (size_t i = 0; i < b.mr; ++i) {
      float* c = b.c + i * b.ldc;
      const float* r = b.residual ? b.residual + i * b.ldr : nullptr;
      for (int v = 0; v < NV; ++v) {
        __m256 y = acc[i][v];
        if (r) y = _mm256_add_ps(y, _mm256_loadu_ps(r + 8 * v));
        _mm256_storeu_ps(c + 8 * v, _mm256_min_ps(_mm256_max_ps(y, lo), hi));
      }
    }
    return;
  }
  for (size_t i = 0; i < b.mr; ++i) {
    float* c = b.c + i * b.ldc;
    const float* r = b.residual ? b.residual + i * b.ldr : nullptr;
    size_t done = 0;
    for (int v = 0; v < NV && done < b.nc; ++v) {
      const size_t n = b.nc - done;
      __m256 y = acc[i][v];
      if (n >= 8) {
        if (r) y = _mm256_add_ps(y, _mm256_loadu_ps(r + done));
        _mm256_storeu_ps(c + done, _mm256_min_ps(_mm256_max_ps(y, lo), hi));
        done += 8;
      } else {
        const __m256i mask = lane_mask(n);
        if (r) y = _mm256_add_ps(y, _mm256_maskload_ps(r + done, mask));
        _mm256_maskstore_ps(c + done, mask, _mm256_min_ps(_mm256_max_ps(y, lo), hi));
        done = b.nc;
      }
    }
  }
}

#define POCKET_IGEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

// Accumulators are named variables, not an array: GCC keeps them in registers only then.
void block_6x16(const IgemmF32Block& b) {
  const float* w = b.w;
  const __m256 bias0 = _mm256_loadu_ps(w), bias1 = _mm256_loadu_ps(w + 8);
#define DECL(i) __m256 c##i##0 = bias0, c##i##1 = bias1;
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
      const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
#define FMA(i)                                        \
  {                                                   \
    const __m256 x = _mm256_broadcast_ss(a##i + k);   \
    c##i##0 = _mm256_fmadd_ps(x, w0, c##i##0);        \
    c##i##1 = _mm256_fmadd_ps(x, w1, c##i##1);        \
  }
      POCKET_IGEMM_ROWS(FMA)
#undef FMA
    }
  }
  const __m256 acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  store_rows<2>(b, acc);
}

void block_6x8(const IgemmF32Block& b) {
  const float* w = b.w;
  const __m256 bias = _mm256_loadu_ps(w);
#define DECL(i) __m256 c##i = bias;
  POCKET_IGEMM_ROWS(DECL)
#undef DECL
  w += 8;
  const float* const* a = b.a;
  const size_t kc = b.kc;
  for (size_t t = b.ks; t != 0; --t, a += kMR) {
#define ROW(i) const float* a##i = offset_row(a[i], b.zero, b.a_offset);
    POCKET_IGEMM_ROWS(ROW)
#undef ROW
    for (size_t k = 0; k < kc; ++k, w += 8) {
      const __m256 w0 = _mm256_loadu_ps(w);
#define FMA(i) c##i = _mm256_fmadd_ps(_mm256_broadcast_ss(a##i + k), w0, c##i);
      POCKET_IGEMM_ROWS(FMA)
#undef FMA
    }
  }
  const __m256 acc[kMR][1] = {{c0}, {c1}, {c2}, {c3}, {c4}, {c5}};
  store_rows<1>(b, acc);
}

#undef POCKET_IGEMM_ROWS

}  // namespace

void igemm_f32_ukernel_6x16_avx2(const IgemmF32Block& b) { block_6x16(b); }
void igemm_f32_ukernel_6x8_avx2(const IgemmF32Block& b) { block_6x8(b); }

}  // namespace pocket::kernels
