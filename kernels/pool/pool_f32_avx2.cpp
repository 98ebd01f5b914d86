// AVX2 pooling: 8 channels per ymm; the body is pool_f32_tile.h.
#include <immintrin.h>

#include "kernels/pool/pool_f32_tile.h"

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
  static void store_part(float* p, reg v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg set1(float v) { return _mm256_set1_ps(v); }
};

}  // namespace

void max_pool2d_f32_row_avx2(const Pool2dF32Params& p, const float* x, float* y, int64_t row) {
  pool_detail::pool_row<Avx2, true>(p, x, y, row);
}
void avg_pool2d_f32_row_avx2(const Pool2dF32Params& p, const float* x, float* y, int64_t row) {
  pool_detail::pool_row<Avx2, false>(p, x, y, row);
}
void global_avg_pool_f32_avx2(int64_t pixels, int64_t channels, const float* x, float* y, int64_t n, float scale) {
  pool_detail::global_pool<Avx2, false>(pixels, channels, x, y, n, scale);
}
void global_max_pool_f32_avx2(int64_t pixels, int64_t channels, const float* x, float* y, int64_t n, float scale) {
  pool_detail::global_pool<Avx2, true>(pixels, channels, x, y, n, scale);
}

}  // namespace pocket::kernels
