// NHWC pooling and LRN, f32. Channels are contiguous, so every kernel works on whole channel rows
// with portable vector code (GCC/Clang vector extensions: SSE on x86-64, NEON on ARM).
#pragma once

#include <pthreadpool.h>

#include <cstdint>

namespace pocket::kernels {

struct Pool2dF32Params {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;                   // max pooling only
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  // Average pooling divisor: true counts padding inside [-pad_top, in_h + pad_bottom) (the
  // window part past the padded end never counts, as in PyTorch/ONNX Runtime ceil_mode);
  // false counts only input elements.
  bool count_include_pad = false;
};

// Windows entirely outside the input give -inf (max) or 0 (average).
void max_pool2d_f32(const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool);
void avg_pool2d_f32(const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool);

// x [batch, pixels, channels] -> y [batch, channels].
void global_avg_pool_f32(int64_t batch, int64_t pixels, int64_t channels, const float* x, float* y,
                         pthreadpool_t pool);
void global_max_pool_f32(int64_t batch, int64_t pixels, int64_t channels, const float* x, float* y,
                         pthreadpool_t pool);

// ONNX LRN over the channel axis of [pixels, channels]:
// y = x / (bias + alpha / size * sum_{window} x^2)^beta, window [c - (size-1)/2, c + size/2].
void lrn_f32(int64_t pixels, int64_t channels, int64_t size, float alpha, float beta, float bias, const float* x,
             float* y, pthreadpool_t pool);

}  // namespace pocket::kernels
