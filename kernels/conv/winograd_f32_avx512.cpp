// Winograd F(4,3)/F(2,3) kernels, AVX-512F: transforms 16 channels per vector, GEMM panel in
// 12 x 16 register blocks. Compiled on every x86-64 build, dispatched only when cpu_features()
// reports AVX-512.
#include <immintrin.h>

#include "kernels/conv/winograd_f32.h"
#include "kernels/conv/winograd_f32_impl.h"

namespace pocket::kernels {

namespace {

struct Avx512Ops {
  using V = __m512;
  static constexpr int kLanes = 16;
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void store_n(float* p, V v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V fmadd(V a, float s, V b) { return _mm512_fmadd_ps(a, _mm512_set1_ps(s), b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V broadcast(float s) { return _mm512_set1_ps(s); }
  static V clamp(V v, float lo, float hi) {
    return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
  }
};

}  // namespace

void winograd_input_f43_avx512(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, float* v,
                               int64_t ldv) {
  winograd_impl::input_tile<Avx512Ops, 6>(x, h, w, c, iy0, ix0, v, ldv);
}
void winograd_input_f23_avx512(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, float* v,
                               int64_t ldv) {
  winograd_impl::input_tile<Avx512Ops, 4>(x, h, w, c, iy0, ix0, v, ldv);
}
void winograd_output_f43_avx512(const float* mo, int64_t ldm, int64_t m, const float* bias, const float* residual,
                                float* y, int64_t oh, int64_t ow, int64_t oy0, int64_t ox0, float lo, float hi) {
  winograd_impl::output_tile<Avx512Ops, 6>(mo, ldm, m, bias, residual, y, oh, ow, oy0, ox0, lo, hi);
}
void winograd_output_f23_avx512(const float* mo, int64_t ldm, int64_t m, const float* bias, const float* residual,
                                float* y, int64_t oh, int64_t ow, int64_t oy0, int64_t ox0, float lo, float hi) {
  winograd_impl::output_tile<Avx512Ops, 4>(mo, ldm, m, bias, residual, y, oh, ow, oy0, ox0, lo, hi);
}
void winograd_gemm_panel_avx512(int64_t rows, int64_t k, const float* a, int64_t lda, const float* panel, float* out,
                                int64_t ldo) {
  winograd_impl::gemm_panel<Avx512Ops, 12>(rows, k, a, lda, panel, out, ldo);
}

}  // namespace pocket::kernels
