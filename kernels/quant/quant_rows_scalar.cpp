// Scalar row kernels: the references of quantize, dequantize, dynamic row quantization and
// requantization (quant_ops.h).
#include <algorithm>

#include "kernels/quant/quant_ops_impl.h"

namespace pocket::kernels::quant_detail {

void quantize_f32_s8_scalar(const float* x, int64_t n, QParams p, int8_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = quantize_value(x[i] / p.scale, p.zero_point);
}

void dequantize_s8_f32_scalar(const int8_t* x, int64_t n, QParams p, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = p.scale * static_cast<float>(static_cast<int32_t>(x[i]) - p.zero_point);
}

QParams quantize_row_dynamic_f32_s8_scalar(const float* x, int64_t n, int8_t* y) {
  float lo = 0.f, hi = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  const QParams p = dynamic_params(lo, hi);
  quantize_f32_s8_scalar(x, n, p, y);
  return p;
}

void requantize_s8_scalar(const int8_t* x, QParams px, int64_t n, int8_t* y, QParams py) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(static_cast<int32_t>(x[i]) - px.zero_point) * px.scale / py.scale;
    y[i] = quantize_value(v, py.zero_point);
  }
}

}  // namespace pocket::kernels::quant_detail
