// int8 (qs8) kernels besides the GEMM: quantize / dequantize, the per-row dynamic quantization of
// activations (qd8), depthwise convolution, elementwise add, pooling and channel scaling, all
// NHWC and per-tensor activation parameters. real = scale * (q - zero_point); quantizing rounds to
// nearest even and saturates to [-128, 127]. Each function dispatches once (cpu_features(),
// POCKET_ISA caps it) among scalar, AVX2 and NEON variants; the *_variants() lists exist for the
// tests, which compare every variant with the scalar reference.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <limits>

#include "kernels/quant/qgemm.h"  // QAct

namespace pocket::kernels {

struct QParams {
  float scale = 1.f;
  int32_t zero_point = 0;
};

// y[i] = saturate(round_even(x[i] / p.scale) + p.zero_point).
void quantize_f32_s8(const float* x, int64_t n, QParams p, int8_t* y);
// y[i] = p.scale * (x[i] - p.zero_point).
void dequantize_s8_f32(const int8_t* x, int64_t n, QParams p, float* y);
// Per axis: x viewed as [outer][channels][inner]; channel c uses scales[c], zero_points[c]
// (zero_points nullptr: 0).
void dequantize_s8_f32_axis(const int8_t* x, int64_t outer, int64_t channels, int64_t inner, const float* scales,
                            const int32_t* zero_points, float* y);

// Dynamic quantization of one row (qd8): scale = (max(0, hi) - min(0, lo)) / 255 over the row's
// range (1 if the row is all zeros), zero_point = saturate(round(-128 - min(0, lo) / scale)), so
// that 0.0 is exactly representable; then quantize_f32_s8 with those parameters. Returns them.
QParams quantize_row_dynamic_f32_s8(const float* x, int64_t n, int8_t* y);

// Depthwise convolution, NHWC, int8 in / int8 out (static) or f32 out, channel multiplier 1:
// x [n][h][w][c] with xp; w [kh][kw][c] int8 symmetric with w_scale[c]; padding reads xp's zero
// point. Output [n][oh][ow][c] through the same epilogue as the GEMM (QGemmEpilogue: a_scale =
// &xp.scale, b_scale = w_scale, bias, residual, activation, clamp, out_i8/out_scale/out_zero_point).
struct DwConvQs8Args {
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t kh = 0, kw = 0, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, oh = 0, ow = 0;
  const int8_t* x = nullptr;
  int32_t x_zero_point = 0;
  const int8_t* weights = nullptr;  // [kh][kw][c]
  void* out = nullptr;              // int8_t* (ep.out_i8) or float*
  QGemmEpilogue ep;                 // a_scale points at x's scale (one), b_scale at [c]
};
void dwconv_qs8(const DwConvQs8Args& args, pthreadpool_t pool);

// y = quantize(real_a + real_b) elementwise over n (b_broadcast: b has `channels` elements
// repeated along n; channels 1 = scalar).
void add_qs8(const int8_t* a, QParams pa, const int8_t* b, QParams pb, int64_t n, int64_t b_channels, int8_t* y,
             QParams py, float out_min = -std::numeric_limits<float>::infinity(),
             float out_max = std::numeric_limits<float>::infinity());

// Global average pool NHWC: y[b][c] = quantize(mean over h*w of real x[b][.][c]) (y_f32 when not
// nullptr gets the real means instead, for SqueezeExcite).
void global_avgpool_qs8(const int8_t* x, QParams px, int64_t n, int64_t hw, int64_t c, int8_t* y, QParams py,
                        float* y_f32);

// y[b][p][c] = quantize(real x[b][p][c] * gate[b][c]) for SqueezeExcite (gate f32 [n][c]).
void scale_channels_qs8(const int8_t* x, QParams px, const float* gate, int64_t n, int64_t hw, int64_t c, int8_t* y,
                        QParams py);

// y[i] = saturate(round_even((x[i] - px.zero_point) * px.scale / py.scale) + py.zero_point): a
// requantization (Concat inputs with other parameters).
void requantize_s8(const int8_t* x, QParams px, int64_t n, int8_t* y, QParams py);

// NHWC 2-D pooling on int8 (MaxPool keeps the parameters; AveragePool requantizes to py,
// count_include_pad as in ONNX).
struct PoolQs8Args {
  int64_t n = 0, h = 0, w = 0, c = 0, kh = 0, kw = 0, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, oh = 0, ow = 0;
  bool count_include_pad = false;
  // AveragePool with count_include_pad: the padded extent ends at h + pad_bottom, w + pad_right
  // (window taps past it never count, as with ceil_mode); negative: no limit.
  int64_t pad_bottom = -1, pad_right = -1;
  const int8_t* x = nullptr;
  QParams px, py;
  int8_t* y = nullptr;
};
void maxpool_qs8(const PoolQs8Args& args, pthreadpool_t pool);
void avgpool_qs8(const PoolQs8Args& args, pthreadpool_t pool);

// im2col for int8 NHWC convolution: rows = output pixels of image b, columns = kh*kw*c (tap-major,
// channel fastest, the order of an OHWI weight row), out-of-image taps filled with pad_value (the
// input's zero point). Rows [row0, row0 + rows).
void im2col_s8(const int8_t* x, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t stride_h,
               int64_t stride_w, int64_t dilation_h, int64_t dilation_w, int64_t pad_top, int64_t pad_left,
               int64_t ow, int64_t row0, int64_t rows, int8_t pad_value, int8_t* out);

// The variants of the row kernels, for tests: name and function pointers, scalar first.
struct QuantRowKernels {
  const char* name;
  void (*quantize)(const float* x, int64_t n, QParams p, int8_t* y);
  void (*dequantize)(const int8_t* x, int64_t n, QParams p, float* y);
  QParams (*quantize_dynamic)(const float* x, int64_t n, int8_t* y);
  void (*requantize)(const int8_t* x, QParams px, int64_t n, int8_t* y, QParams py);
};
const QuantRowKernels* quant_row_variants(size_t* count);
// Depthwise variants (scalar first) for tests: same args, run on the calling thread.
struct DwConvQs8Kernel {
  const char* name;
  void (*run)(const DwConvQs8Args& args, int64_t row0, int64_t rows);  // output rows (n*oh) [row0, row0+rows)
};
const DwConvQs8Kernel* dwconv_qs8_variants(size_t* count);

}  // namespace pocket::kernels
