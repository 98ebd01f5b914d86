// Winograd F(4,3)/F(2,3) kernels, scalar reference (one lane): the variant every other one is
// tested against, and the fallback on CPUs without a vector variant.
#include <algorithm>

#include "kernels/conv/winograd_f32.h"
#include "kernels/conv/winograd_f32_impl.h"

namespace pocket::kernels {

namespace {

struct ScalarOps {
  using V = float;
  static constexpr int kLanes = 1;
  static V zero() { return 0.f; }
  static V load(const float* p) { return *p; }
  static V load_n(const float* p, int) { return *p; }
  static void store(float* p, V v) { *p = v; }
  static void store_n(float* p, V v, int) { *p = v; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V fmadd(V a, float s, V b) { return a * s + b; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V broadcast(float s) { return s; }
  static V clamp(V v, float lo, float hi) { return std::min(std::max(v, lo), hi); }
};

}  // namespace

void winograd_input_f43_scalar(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, float* v,
                               int64_t ldv) {
  winograd_impl::input_tile<ScalarOps, 6>(x, h, w, c, iy0, ix0, v, ldv);
}
void winograd_input_f23_scalar(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, float* v,
                               int64_t ldv) {
  winograd_impl::input_tile<ScalarOps, 4>(x, h, w, c, iy0, ix0, v, ldv);
}
void winograd_output_f43_scalar(const float* mo, int64_t ldm, int64_t m, const float* bias, const float* residual,
                                float* y, int64_t oh, int64_t ow, int64_t oy0, int64_t ox0, float lo, float hi) {
  winograd_impl::output_tile<ScalarOps, 6>(mo, ldm, m, bias, residual, y, oh, ow, oy0, ox0, lo, hi);
}
void winograd_output_f23_scalar(const float* mo, int64_t ldm, int64_t m, const float* bias, const float* residual,
                                float* y, int64_t oh, int64_t ow, int64_t oy0, int64_t ox0, float lo, float hi) {
  winograd_impl::output_tile<ScalarOps, 4>(mo, ldm, m, bias, residual, y, oh, ow, oy0, ox0, lo, hi);
}
void winograd_gemm_panel_scalar(int64_t rows, int64_t k, const float* a, int64_t lda, const float* panel, float* out,
                                int64_t ldo) {
  winograd_impl::gemm_panel<ScalarOps, 1>(rows, k, a, lda, panel, out, ldo);
}

}  // namespace pocket::kernels
