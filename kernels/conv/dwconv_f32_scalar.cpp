// The depthwise-conv reference: one output value at a time, every tap bounds-checked.
#include <algorithm>

#include "kernels/conv/dwconv_f32.h"

namespace pocket::kernels {

void dwconv_f32_tile_scalar(const DwConvF32Params& p, const float* x, const float* residual, float* y, int64_t row,
                            int64_t ox0, int64_t ox1) {
  const int64_t C = p.channels, T = 1, taps = p.kernel_h * p.kernel_w;
  const int64_t b = row / p.out_h, oy = row % p.out_h;
  for (int64_t ox = ox0; ox < ox1; ++ox) {
    const int64_t out = (row * p.out_w + ox) * C;
    for (int64_t c = 0; c < C; ++c) {
      const float* wg = p.packed + (c / T) * (taps + 1) * T + c % T;
      float acc = wg[taps * T];
      for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
        const int64_t iy = oy * p.stride_h - p.pad_top + ky;
        if (iy < 0 || iy >= p.in_h) continue;
        for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
          const int64_t ix = ox * p.stride_w - p.pad_left + kx;
          if (ix < 0 || ix >= p.in_w) continue;
          acc += x[((b * p.in_h + iy) * p.in_w + ix) * C + c] * wg[(ky * p.kernel_w + kx) * T];
        }
      }
      if (residual) acc += residual[out + c];
      y[out + c] = std::min(std::max(acc, p.out_min), p.out_max);
    }
  }
}

}  // namespace pocket::kernels
