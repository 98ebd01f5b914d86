// Direct NHWC 2-D convolution and transposed convolution, f32: the references for the XNNPACK
// paths and the fallback when XNNPACK is unavailable or refuses a shape.
#pragma once

#include <pthreadpool.h>

#include <cstdint>
#include <limits>

namespace pocket::kernels {

struct Conv2dF32Params {
  int64_t batch = 0;
  int64_t in_h = 0, in_w = 0, in_c = 0;     // input [batch, in_h, in_w, in_c]
  int64_t out_h = 0, out_w = 0, out_c = 0;  // output [batch, out_h, out_w, out_c]
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t groups = 1;
  // Conv: [out_c][kernel_h][kernel_w][in_c / groups].
  // Deconv: [groups][out_c / groups][kernel_h][kernel_w][in_c / groups].
  // Both are XNNPACK's grouped layouts (the same thing, written per group).
  const float* weights = nullptr;
  const float* bias = nullptr;  // [out_c] or nullptr
  float out_min = -std::numeric_limits<float>::infinity();
  float out_max = std::numeric_limits<float>::infinity();
};

// y[b, oy, ox, m] = sum x[b, oy*s - pad + ky*d, ox*s - pad + kx*d, g*Cg + c] * w[m, ky, kx, c].
void conv2d_f32_scalar(const Conv2dF32Params& p, const float* x, float* y, pthreadpool_t pool);

// Transposed convolution: every input pixel (iy, ix) scatters to oy = iy*s - pad + ky*d; computed
// as a gather per output pixel so output rows split over threads without races.
void deconv2d_f32_scalar(const Conv2dF32Params& p, const float* x, float* y, pthreadpool_t pool);

}  // namespace pocket::kernels
