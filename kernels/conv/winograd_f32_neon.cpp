// Winograd F(4,3)/F(2,3) kernels, AArch64 NEON: transforms 4 channels per vector, GEMM panel in
// 6 x 16 register blocks (24 accumulators of the 32 q registers).
#include <arm_neon.h>

#include "kernels/conv/winograd_f32.h"
#include "kernels/conv/winograd_f32_impl.h"

namespace pocket::kernels {

namespace {

struct NeonOps {
  using V = float32x4_t;
  static constexpr int kLanes = 4;
  static V zero() { return vdupq_n_f32(0.f); }
  static V load(const float* p) { return vld1q_f32(p); }
  static V load_n(const float* p, int n) {
    float tmp[4] = {0.f, 0.f, 0.f, 0.f};
    for (int i = 0; i < n; ++i) tmp[i] = p[i];
    return vld1q_f32(tmp);
  }
  static void store(float* p, V v) { vst1q_f32(p, v); }
  static void store_n(float* p, V v, int n) {
    float tmp[4];
    vst1q_f32(tmp, v);
    for (int i = 0; i < n; ++i) p[i] = tmp[i];
  }
  static V add(V a, V b) { return vaddq_f32(a, b); }
  static V sub(V a, V b) { return vsubq_f32(a, b); }
  static V fmadd(V a, float s, V b) { return vfmaq_n_f32(b, a, s); }
  static V fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }
  static V broadcast(float s) { return vdupq_n_f32(s); }
  static V clamp(V v, float lo, float hi) { return vminq_f32(vmaxq_f32(v, vdupq_n_f32(lo)), vdupq_n_f32(hi)); }
};

}  // namespace

void winograd_input_f43_neon(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, float* v,
                             int64_t ldv) {
  winograd_impl::input_tile<NeonOps, 6>(x, h, w, c, iy0, ix0, v, ldv);
}
void winograd_input_f23_neon(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, float* v,
                             int64_t ldv) {
  winograd_impl::input_tile<NeonOps, 4>(x, h, w, c, iy0, ix0, v, ldv);
}
void winograd_output_f43_neon(const float* mo, int64_t ldm, int64_t m, const float* bias, const float* residual,
                              float* y, int64_t oh, int64_t ow, int64_t oy0, int64_t ox0, float lo, float hi) {
  winograd_impl::output_tile<NeonOps, 6>(mo, ldm, m, bias, residual, y, oh, ow, oy0, ox0, lo, hi);
}
void winograd_output_f23_neon(const float* mo, int64_t ldm, int64_t m, const float* bias, const float* residual,
                              float* y, int64_t oh, int64_t ow, int64_t oy0, int64_t ox0, float lo, float hi) {
  winograd_impl::output_tile<NeonOps, 4>(mo, ldm, m, bias, residual, y, oh, ow, oy0, ox0, lo, hi);
}
void winograd_gemm_panel_neon(int64_t rows, int64_t k, const float* a, int64_t lda, const float* panel, float* out,
                              int64_t ldo) {
  winograd_impl::gemm_panel<NeonOps, 6>(rows, k, a, lda, panel, out, ldo);
}

}  // namespace pocket::kernels
