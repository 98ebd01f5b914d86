// NEON depthwise conv: 4 channels per q register; the body is dwconv_f32_tile.h.
#include <arm_neon.h>

#include <cstring>

#include "kernels/conv/dwconv_f32_tile.h"

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
  static reg fma(reg a, reg b, reg c) { return vfmaq_f32(c, a, b); }
  static reg add(reg a, reg b) { return vaddq_f32(a, b); }
  static reg min(reg a, reg b) { return vminq_f32(a, b); }
  static reg max(reg a, reg b) { return vmaxq_f32(a, b); }
  static reg set1(float v) { return vdupq_n_f32(v); }
};

}  // namespace

void dwconv_f32_tile_neon(const DwConvF32Params& p, const float* x, const float* residual, float* y, int64_t row,
                          int64_t ox0, int64_t ox1) {
  dwconv_detail::tile<Neon>(p, x, residual, y, row, ox0, ox1);
}

}  // namespace pocket::kernels
