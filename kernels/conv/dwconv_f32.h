// Depthwise 2-D convolution, NHWC f32, channel multiplier 1, dilation 1:
//   y[b, oy, ox, c] = clamp(bias[c] + residual[b, oy, ox, c]
//                           + sum_{ky,kx} x[b, oy*sh - pad_top + ky, ox*sw - pad_left + kx, c] * w[c, ky, kx],
//                           out_min, out_max)
// with x read as 0 outside the image (any padding, asymmetric included: the output size decides).
// Weights are packed once (dwconv_f32_pack) in groups of the kernel's channel tile: for every group,
// kH*kW rows of `channel_tile` weights and then `channel_tile` biases, zero-padded past C.
// Vector variants keep a block of output pixels in registers and vectorise over channels; the
// interior of an output row runs without bounds checks, the borders check columns, and rows above
// or below the image are read from a zero row. dwconv_f32_tile_scalar is the reference.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace pocket::kernels {

struct DwConvF32Params {
  int64_t batch = 0;
  int64_t in_h = 0, in_w = 0, channels = 0;  // x [batch, in_h, in_w, channels]
  int64_t out_h = 0, out_w = 0;              // y [batch, out_h, out_w, channels]
  int64_t kernel_h = 1, kernel_w = 1;        // 1..kDwConvMaxKernel each
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  const float* packed = nullptr;  // dwconv_f32_pack for this kernel's channel_tile
  // At least dwconv_f32_zero_floats() zeros: what rows above/below the image read.
  const float* zeros = nullptr;
  float out_min = -std::numeric_limits<float>::infinity();
  float out_max = std::numeric_limits<float>::infinity();
};

constexpr int64_t kDwConvMaxKernel = 16;

// Output pixels [ox0, ox1) of output row `row` (= b * out_h + oy), every channel. residual is
// shaped like y or nullptr. x, residual and y point at the start of the tensors.
using DwConvF32TileFn = void (*)(const DwConvF32Params& p, const float* x, const float* residual, float* y,
                                 int64_t row, int64_t ox0, int64_t ox1);

void dwconv_f32_tile_scalar(const DwConvF32Params& p, const float* x, const float* residual, float* y, int64_t row,
                            int64_t ox0, int64_t ox1);
void dwconv_f32_tile_avx2(const DwConvF32Params& p, const float* x, const float* residual, float* y, int64_t row,
                          int64_t ox0, int64_t ox1);
void dwconv_f32_tile_avx512(const DwConvF32Params& p, const float* x, const float* residual, float* y, int64_t row,
                            int64_t ox0, int64_t ox1);
void dwconv_f32_tile_neon(const DwConvF32Params& p, const float* x, const float* residual, float* y, int64_t row,
                          int64_t ox0, int64_t ox1);

struct DwConvF32Kernel {
  const char* name;      // ISA: "scalar", "avx2", "avx512", "neon"
  DwConvF32TileFn tile;
  int64_t channel_tile;  // channels per packed group
};

// The best variant for this CPU, chosen once from cpu_features().
const DwConvF32Kernel& dwconv_f32_kernel();
// Every variant this CPU can run, the scalar reference first (for tests and benchmarks).
const DwConvF32Kernel* dwconv_f32_variants(size_t* count);

// Floats of the packed weights for `channels` channels of a kH x kW kernel.
size_t dwconv_f32_packed_floats(int64_t channels, int64_t kernel_h, int64_t kernel_w, int64_t channel_tile);
// weights [channels][kernel_h][kernel_w] (ONNX [C,1,kH,kW]); bias [channels] or nullptr.
void dwconv_f32_pack(int64_t channels, int64_t kernel_h, int64_t kernel_w, int64_t channel_tile, const float* weights,
                     const float* bias, float* packed);
// Floats of the zero row p.zeros must point at.
size_t dwconv_f32_zero_floats(int64_t in_w, int64_t channels);

// The whole convolution, output rows x column tiles over the pool (nullptr: calling thread).
void dwconv_f32(const DwConvF32Kernel& kernel, const DwConvF32Params& p, const float* x, const float* residual,
                float* y, pthreadpool_t pool);

}  // namespace pocket::kernels
