// Winograd F(4,3)/F(2,3) kernels, AVX2 + FMA: transforms 8 channels per vector, GEMM panel in
// 6 x 16 register blocks (12 accumulators).
#include <immintrin.h>

#include "kernels/conv/winograd_f32.h"
#include "kernels/conv/winograd_f32_impl.h"

namespace pocket::kernels {

namespace {

alignas(32) const int32_t kMaskSrc[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

struct Avx2Ops {
  using V = __m256;
  static constexpr int kLanes = 8;
  static __m256i mask(int n) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskSrc + 8 - n)); }
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void store_n(float* p, V v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V fmadd(V a, float s, V b) { return _mm256_fmadd_ps(a, _mm256_set1_ps(s), b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V broadcast(float s) { return _mm256_set1_ps(s); }
  static V clamp(V v, float lo, float hi) {
    return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
  }
};

}  // namespace

void winograd_input_f43_avx2(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, float* v,
                             int64_t ldv) {
  winograd_impl::input_tile<Avx2Ops, 6>(x, h, w, c, iy0, ix0, v, ldv);
}
void winograd_input_f23_avx2(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, float* v,
                             int64_t ldv) {
  winograd_impl::input_tile<Avx2Ops, 4>(x, h, w, c, iy0, ix0, v, ldv);
}
void winograd_output_f43_avx2(const float* mo, int64_t ldm, int64_t m, const float* bias, const float* residual,
                              float* y, int64_t oh, int64_t ow, int64_t oy0, int64_t ox0, float lo, float hi) {
  winograd_impl::output_tile<Avx2Ops, 6>(mo, ldm, m, bias, residual, y, oh, ow, oy0, ox0, lo, hi);
}
void winograd_output_f23_avx2(const float* mo, int64_t ldm, int64_t m, const float* bias, const float* residual,
                              float* y, int64_t oh, int64_t ow, int64_t oy0, int64_t ox0, float lo, float hi) {
  winograd_impl::output_tile<Avx2Ops, 4>(mo, ldm, m, bias, residual, y, oh, ow, oy0, ox0, lo, hi);
}
void winograd_gemm_panel_avx2(int64_t rows, int64_t k, const float* a, int64_t lda, const float* panel, float* out,
                              int64_t ldo) {
  winograd_impl::gemm_panel<Avx2Ops, 6>(rows, k, a, lda, panel, out, ldo);
}

}  // namespace pocket::kernels
