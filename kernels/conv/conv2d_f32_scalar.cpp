#include <algorithm>

#include "kernels/conv/conv2d_f32.h"

namespace pocket::kernels {

namespace {

struct Task {
  const Conv2dF32Params* p;
  const float* x;
  float* y;
};

// One output row (batch b, row oy).
void conv_row(void* ctx, size_t row) {
  const Task& t = *static_cast<Task*>(ctx);
  const Conv2dF32Params& p = *t.p;
  const int64_t b = static_cast<int64_t>(row) / p.out_h, oy = static_cast<int64_t>(row) % p.out_h;
  const int64_t cg = p.in_c / p.groups, mg = p.out_c / p.groups;
  float* yrow = t.y + (b * p.out_h + oy) * p.out_w * p.out_c;
  for (int64_t ox = 0; ox < p.out_w; ++ox) {
    float* out = yrow + ox * p.out_c;
    for (int64_t m = 0; m < p.out_c; ++m) {
      const int64_t g = m / mg;
      const float* w = p.weights + m * p.kernel_h * p.kernel_w * cg;
      float acc = p.bias ? p.bias[m] : 0.f;
      for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
        const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
        if (iy < 0 || iy >= p.in_h) continue;
        for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
          const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
          if (ix < 0 || ix >= p.in_w) continue;
          const float* in = t.x + ((b * p.in_h + iy) * p.in_w + ix) * p.in_c + g * cg;
          const float* wk = w + (ky * p.kernel_w + kx) * cg;
          for (int64_t c = 0; c < cg; ++c) acc += in[c] * wk[c];
        }
      }
      out[m] = std::min(std::max(acc, p.out_min), p.out_max);
    }
  }
}

void deconv_row(void* ctx, size_t row) {
  const Task& t = *static_cast<Task*>(ctx);
  const Conv2dF32Params& p = *t.p;
  const int64_t b = static_cast<int64_t>(row) / p.out_h, oy = static_cast<int64_t>(row) % p.out_h;
  const int64_t cg = p.in_c / p.groups, mg = p.out_c / p.groups;
  float* yrow = t.y + (b * p.out_h + oy) * p.out_w * p.out_c;
  for (int64_t ox = 0; ox < p.out_w; ++ox) {
    float* out = yrow + ox * p.out_c;
    for (int64_t m = 0; m < p.out_c; ++m) {
      const int64_t g = m / mg, mo = m % mg;
      float acc = p.bias ? p.bias[m] : 0.f;
      for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
        const int64_t ny = oy + p.pad_top - ky * p.dilation_h;
        if (ny < 0 || ny % p.stride_h != 0) continue;
        const int64_t iy = ny / p.stride_h;
        if (iy >= p.in_h) continue;
        for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
          const int64_t nx = ox + p.pad_left - kx * p.dilation_w;
          if (nx < 0 || nx % p.stride_w != 0) continue;
          const int64_t ix = nx / p.stride_w;
          if (ix >= p.in_w) continue;
          const float* in = t.x + ((b * p.in_h + iy) * p.in_w + ix) * p.in_c + g * cg;
          const float* wk = p.weights + (((g * mg + mo) * p.kernel_h + ky) * p.kernel_w + kx) * cg;
          for (int64_t c = 0; c < cg; ++c) acc += in[c] * wk[c];
        }
      }
      out[m] = std::min(std::max(acc, p.out_min), p.out_max);
    }
  }
}

}  // namespace

void conv2d_f32_scalar(const Conv2dF32Params& p, const float* x, float* y, pthreadpool_t pool) {
  Task t{&p, x, y};
  pthreadpool_parallelize_1d(pool, &conv_row, &t, static_cast<size_t>(p.batch * p.out_h), 0);
}

void deconv2d_f32_scalar(const Conv2dF32Params& p, const float* x, float* y, pthreadpool_t pool) {
  Task t{&p, x, y};
  pthreadpool_parallelize_1d(pool, &deconv_row, &t, static_cast<size_t>(p.batch * p.out_h), 0);
}

}  // namespace pocket::kernels
