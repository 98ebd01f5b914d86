// NHWC pooling and LRN, f32. Channels are contiguous, so every pooling kernel keeps a few channel
// vectors of one output pixel in registers and walks the window's taps (clipped to the image), one
// load per tap and vector, one store per output. Variants: scalar (the reference), AVX2, NEON, in
// one table filled once from cpu_features().
#pragma once

#include <pthreadpool.h>

#include <cstddef>
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

// One output row (row = b * out_h + oy), every pixel and channel. Windows entirely outside the
// input give -inf (max) or 0 (average).
using Pool2dF32RowFn = void (*)(const Pool2dF32Params& p, const float* x, float* y, int64_t row);
// Channels [0, n) of one batch item: x points at its channel 0 of pixel 0 (pixel stride
// `channels`), y at its output channel 0. Average: y = sum * scale.
using GlobalPoolF32Fn = void (*)(int64_t pixels, int64_t channels, const float* x, float* y, int64_t n, float scale);

struct PoolF32Kernel {
  const char* name;  // "scalar", "avx2", "neon"
  Pool2dF32RowFn max_row, avg_row;
  GlobalPoolF32Fn global_avg, global_max;
};

#define POCKET_POOL_F32_VARIANT(isa)                                                                     \
  void max_pool2d_f32_row_##isa(const Pool2dF32Params& p, const float* x, float* y, int64_t row);         \
  void avg_pool2d_f32_row_##isa(const Pool2dF32Params& p, const float* x, float* y, int64_t row);         \
  void global_avg_pool_f32_##isa(int64_t pixels, int64_t channels, const float* x, float* y, int64_t n,   \
                                 float scale);                                                            \
  void global_max_pool_f32_##isa(int64_t pixels, int64_t channels, const float* x, float* y, int64_t n,   \
                                 float scale);
POCKET_POOL_F32_VARIANT(scalar)
POCKET_POOL_F32_VARIANT(avx2)
POCKET_POOL_F32_VARIANT(neon)
#undef POCKET_POOL_F32_VARIANT

// The best variant for this CPU, chosen once from cpu_features().
const PoolF32Kernel& pool_f32_kernel();
// Every variant this CPU can run, the scalar reference first (for tests and benchmarks).
const PoolF32Kernel* pool_f32_variants(size_t* count);

// Whole tensors, over the pool (nullptr: calling thread).
void max_pool2d_f32(const PoolF32Kernel& k, const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool);
void avg_pool2d_f32(const PoolF32Kernel& k, const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool);
// x [batch, pixels, channels] -> y [batch, channels].
void global_avg_pool_f32(const PoolF32Kernel& k, int64_t batch, int64_t pixels, int64_t channels, const float* x,
                         float* y, pthreadpool_t pool);
void global_max_pool_f32(const PoolF32Kernel& k, int64_t batch, int64_t pixels, int64_t channels, const float* x,
                         float* y, pthreadpool_t pool);

// The same with the best variant.
inline void max_pool2d_f32(const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool) {
  max_pool2d_f32(pool_f32_kernel(), p, x, y, pool);
}
inline void avg_pool2d_f32(const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool) {
  avg_pool2d_f32(pool_f32_kernel(), p, x, y, pool);
}
inline void global_avg_pool_f32(int64_t batch, int64_t pixels, int64_t channels, const float* x, float* y,
                                pthreadpool_t pool) {
  global_avg_pool_f32(pool_f32_kernel(), batch, pixels, channels, x, y, pool);
}
inline void global_max_pool_f32(int64_t batch, int64_t pixels, int64_t channels, const float* x, float* y,
                                pthreadpool_t pool) {
  global_max_pool_f32(pool_f32_kernel(), batch, pixels, channels, x, y, pool);
}

// ONNX LRN over the channel axis of [pixels, channels]:
// y = x / (bias + alpha / size * sum_{window} x^2)^beta, window [c - (size-1)/2, c + size/2].
void lrn_f32(int64_t pixels, int64_t channels, int64_t size, float alpha, float beta, float bias, const float* x,
             float* y, pthreadpool_t pool);

}  // namespace pocket::kernels
