// AVX2/FMA depthwise conv: 8 channels per ymm; the body is dwconv_f32_tile.h.
#include <immintrin.h>

#include "kernels/conv/dwconv_f32_tile.h"

namespace pocket::kernels {

namespace {

struct Avx2 {
  using reg = __m256;
  static constexpr int kWidth = 8;
  static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg load_part(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  // vmaskmovps stores are microcoded on AMD Zen: 128-bit, 64-bit and 32-bit pieces instead.
  static void store_part(float* p, reg v, int n) {
    __m128 lo = _mm256_castps256_ps128(v);
    if (n & 4) {
      _mm_storeu_ps(p, lo);
      lo = _mm256_extractf128_ps(v, 1);
      p += 4;
    }
    if (n & 2) {
      _mm_storel_pi(reinterpret_cast<__m64*>(p), lo);
      lo = _mm_movehl_ps(lo, lo);
      p += 2;
    }
    if (n & 1) _mm_store_ss(p, lo);
  }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg set1(float v) { return _mm256_set1_ps(v); }
};

}  // namespace

void dwconv_f32_tile_avx2(const DwConvF32Params& p, const float* x, const float* residual, float* y, int64_t row,
                          int64_t ox0, int64_t ox1) {
  dwconv_detail::tile<Avx2>(p, x, residual, y, row, ox0, ox1);
}

}  // namespace pocket::kernels
