// Internals shared by the int8 kernels of quant_ops.h: the per-ISA entry points the dispatch
// table (quant_dispatch.cpp) collects, and the scalar rounding / epilogue helpers that every
// variant must agree with bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/quant/quant_ops.h"

namespace pocket::kernels::quant_detail {

// The float clamps behave like x86 maxps/minps and ARM fmaxnm/fminnm: a NaN becomes the bound,
// so NaN quantizes to -128 in every variant (max first, then min).
inline float clamp_like_simd(float v, float lo, float hi) {
  v = v > lo ? v : lo;
  return v < hi ? v : hi;
}

// saturate(round_even(v) + zero_point): the clamp happens on the float before rounding, which is
// the same since the bounds are integers, and keeps +-inf / NaN away from the conversion.
// After the clamp |v| <= 255, so adding and removing 1.5 * 2^23 rounds to nearest even in the
// default rounding mode, without the libm call nearbyint becomes on baseline x86-64.
inline int8_t quantize_value(float v, int32_t zero_point) {
  v = clamp_like_simd(v, static_cast<float>(-128 - zero_point), static_cast<float>(127 - zero_point));
  constexpr float kMagic = 12582912.f;  // 1.5 * 2^23
  const float rounded = (v + kMagic) - kMagic;  // IEEE: not folded without -ffast-math (never used here)
  return static_cast<int8_t>(static_cast<int32_t>(rounded) + zero_point);
}

// The dynamic row parameters from the row's min and max (quant_ops.h's formula).
inline QParams dynamic_params(float lo, float hi) {
  const float mn = std::min(0.f, lo), mx = std::max(0.f, hi);
  float scale = (mx - mn) / 255.f;
  if (!(scale > 0.f)) scale = 1.f;  // all zeros (NaN range too: keep a usable scale)
  QParams p;
  p.scale = scale;
  const float z = clamp_like_simd(-128.f - mn / scale, -128.f, 127.f);
  p.zero_point = static_cast<int32_t>(std::nearbyint(z));
  return p;
}

inline float gelu_erf(float x) { return static_cast<float>(0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440))); }
inline float gelu_tanh(float x) {
  const double u = 0.79788456080286535588 * (x + 0.044715 * static_cast<double>(x) * x * x);
  return static_cast<float>(0.5 * x * (1.0 + std::tanh(u)));
}

// The fused activation of the int8 epilogues (QAct), f32 as the float ops compute it.
inline float apply_qact(float v, QAct act, float alpha, float beta) {
  switch (act) {
    case QAct::None:
      return v;
    case QAct::HardSigmoid:
      return std::min(std::max(alpha * v + beta, 0.f), 1.f);
    case QAct::HardSwish:
      return v * std::min(std::max(v + 3.f, 0.f), 6.f) * (1.f / 6.f);
    case QAct::Sigmoid:
      return 1.f / (1.f + std::exp(-v));
    case QAct::SiLU:
      return v / (1.f + std::exp(-v));
    case QAct::Tanh:
      return std::tanh(v);
    case QAct::LeakyRelu:
      return v < 0.f ? alpha * v : v;
    case QAct::Gelu:
      return gelu_erf(v);
    case QAct::GeluTanh:
      return gelu_tanh(v);
  }
  return v;
}

// Activation, clamp and store of one real value v of output column c (QGemmEpilogue's tail).
inline void epilogue_store(const QGemmEpilogue& ep, float v, void* out, int64_t index) {
  v = apply_qact(v, ep.act, ep.act_alpha, ep.act_beta);
  v = std::min(std::max(v, ep.out_min), ep.out_max);
  if (ep.out_i8) {
    static_cast<int8_t*>(out)[index] = quantize_value(v / ep.out_scale, ep.out_zero_point);
  } else {
    static_cast<float*>(out)[index] = v;
  }
}

// The real value before the activation: acc * (a_scale * b_scale[c]) + bias[c] + residual(pixel, c)
// (the grouping the GEMM epilogue uses).
inline float epilogue_real(const QGemmEpilogue& ep, int32_t acc, int64_t pixel, int64_t c) {
  float v = static_cast<float>(acc) * (ep.a_scale[0] * ep.b_scale[c]);
  if (ep.bias) v += ep.bias[c];
  if (ep.residual_f32) v += ep.residual_f32[pixel * ep.ld_residual + c];
  if (ep.residual_i8) {
    v += ep.residual_scale *
         static_cast<float>(static_cast<int32_t>(ep.residual_i8[pixel * ep.ld_residual + c]) - ep.residual_zero_point);
  }
  return v;
}

// Elementwise add per ISA (the public add_qs8 dispatches).
using AddQs8Fn = void (*)(const int8_t* a, QParams pa, const int8_t* b, QParams pb, int64_t n, int64_t b_channels,
                          int8_t* y, QParams py, float out_min, float out_max);
void add_qs8_scalar(const int8_t* a, QParams pa, const int8_t* b, QParams pb, int64_t n, int64_t b_channels,
                    int8_t* y, QParams py, float out_min, float out_max);
#if defined(__x86_64__)
void add_qs8_avx2(const int8_t* a, QParams pa, const int8_t* b, QParams pb, int64_t n, int64_t b_channels, int8_t* y,
                  QParams py, float out_min, float out_max);
#endif

// Row kernels per ISA.
void quantize_f32_s8_scalar(const float* x, int64_t n, QParams p, int8_t* y);
void dequantize_s8_f32_scalar(const int8_t* x, int64_t n, QParams p, float* y);
QParams quantize_row_dynamic_f32_s8_scalar(const float* x, int64_t n, int8_t* y);
void requantize_s8_scalar(const int8_t* x, QParams px, int64_t n, int8_t* y, QParams py);
void dwconv_qs8_rows_scalar(const DwConvQs8Args& args, int64_t row0, int64_t rows);

#if defined(__x86_64__)
void quantize_f32_s8_avx2(const float* x, int64_t n, QParams p, int8_t* y);
void dequantize_s8_f32_avx2(const int8_t* x, int64_t n, QParams p, float* y);
QParams quantize_row_dynamic_f32_s8_avx2(const float* x, int64_t n, int8_t* y);
void requantize_s8_avx2(const int8_t* x, QParams px, int64_t n, int8_t* y, QParams py);
void dwconv_qs8_rows_avx2(const DwConvQs8Args& args, int64_t row0, int64_t rows);
#endif
#if defined(__aarch64__)
void quantize_f32_s8_neon(const float* x, int64_t n, QParams p, int8_t* y);
void dequantize_s8_f32_neon(const int8_t* x, int64_t n, QParams p, float* y);
QParams quantize_row_dynamic_f32_s8_neon(const float* x, int64_t n, int8_t* y);
void requantize_s8_neon(const int8_t* x, QParams px, int64_t n, int8_t* y, QParams py);
void dwconv_qs8_rows_neon(const DwConvQs8Args& args, int64_t row0, int64_t rows);
#endif

}  // namespace pocket::kernels::quant_detail
