// The pooling reference: one output value at a time, every tap bounds-checked.
#include <algorithm>
#include <limits>

#include "kernels/pool/pool_f32.h"

namespace pocket::kernels {

void max_pool2d_f32_row_scalar(const Pool2dF32Params& p, const float* x, float* y, int64_t row) {
  const int64_t C = p.channels, b = row / p.out_h, oy = row % p.out_h;
  for (int64_t ox = 0; ox < p.out_w; ++ox)
    for (int64_t c = 0; c < C; ++c) {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
        const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
        if (iy < 0 || iy >= p.in_h) continue;
        for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
          const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
          if (ix < 0 || ix >= p.in_w) continue;
          m = std::max(m, x[((b * p.in_h + iy) * p.in_w + ix) * C + c]);
        }
      }
      y[(row * p.out_w + ox) * C + c] = m;
    }
}

void avg_pool2d_f32_row_scalar(const Pool2dF32Params& p, const float* x, float* y, int64_t row) {
  const int64_t C = p.channels, b = row / p.out_h, oy = row % p.out_h;
  const int64_t hs = oy * p.stride_h - p.pad_top, he = std::min(hs + p.kernel_h, p.in_h + p.pad_bottom);
  for (int64_t ox = 0; ox < p.out_w; ++ox) {
    const int64_t ws = ox * p.stride_w - p.pad_left, we = std::min(ws + p.kernel_w, p.in_w + p.pad_right);
    for (int64_t c = 0; c < C; ++c) {
      float sum = 0.f;
      int64_t inside = 0;
      for (int64_t iy = std::max<int64_t>(hs, 0); iy < std::min(hs + p.kernel_h, p.in_h); ++iy)
        for (int64_t ix = std::max<int64_t>(ws, 0); ix < std::min(ws + p.kernel_w, p.in_w); ++ix) {
          sum += x[((b * p.in_h + iy) * p.in_w + ix) * C + c];
          ++inside;
        }
      const int64_t count = p.count_include_pad ? (he - hs) * (we - ws) : inside;
      y[(row * p.out_w + ox) * C + c] = count > 0 ? sum * (1.f / static_cast<float>(count)) : 0.f;
    }
  }
}

void global_avg_pool_f32_scalar(int64_t pixels, int64_t channels, const float* x, float* y, int64_t n, float scale) {
  for (int64_t c = 0; c < n; ++c) {
    float sum = 0.f;
    for (int64_t i = 0; i < pixels; ++i) sum += x[i * channels + c];
    y[c] = sum * scale;
  }
}

void global_max_pool_f32_scalar(int64_t pixels, int64_t channels, const float* x, float* y, int64_t n, float) {
  for (int64_t c = 0; c < n; ++c) {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < pixels; ++i) m = std::max(m, x[i * channels + c]);
    y[c] = m;
  }
}

}  // namespace pocket::kernels
