// NEON pooling: 4 channels per q register; the body is pool_f32_tile.h.
#include <arm_neon.h>

#include <cstring>

#include "kernels/pool/pool_f32_tile.h"

namespace pocket::kernels {

namespace {

struct Neon {
  using reg = float32x4_t;
  static constexpr int kWidth = 4;
  static reg load(const float* p) { return vld1q_f32(p); }
  static reg load_part(const float* p, int n) {
    float t[4] = {0.f, 0.f, 0.f, 0.f};
    std::memcpy(t, p, static_cast<size_t>(n) * sizeof(float));
    return vld1q_f32(t);
  }
  static void store(float* p, reg v) { vst1q_f32(p, v); }
  static void store_part(float* p, reg v, int n) {
    float t[4];
    vst1q_f32(t, v);
    std::memcpy(p, t, static_cast<size_t>(n) * sizeof(float));
  }
  static reg add(reg a, reg b) { return vaddq_f32(a, b); }
  static reg max(reg a, reg b) { return vmaxq_f32(a, b); }
  static reg mul(reg a, reg b) { return vmulq_f32(a, b); }
  static reg set1(float v) { return vdupq_n_f32(v); }
};

}  // namespace

void max_pool2d_f32_row_neon(const Pool2dF32Params& p, const float* x, float* y, int64_t row) {
  pool_detail::pool_row<Neon, true>(p, x, y, row);
}
void avg_pool2d_f32_row_neon(const Pool2dF32Params& p, const float* x, float* y, int64_t row) {
  pool_detail::pool_row<Neon, false>(p, x, y, row);
}
void global_avg_pool_f32_neon(int64_t pixels, int64_t channels, const float* x, float* y, int64_t n, float scale) {
  pool_detail::global_pool<Neon, false>(pixels, channels, x, y, n, scale);
}
void global_max_pool_f32_neon(int64_t pixels, int64_t channels, const float* x, float* y, int64_t n, float scale) {
  pool_detail::global_pool<Neon, true>(pixels, channels, x, y, n, scale);
}

}  // namespace pocket::kernels
