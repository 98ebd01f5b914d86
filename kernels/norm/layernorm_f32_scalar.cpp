// Reference LayerNorm and RMSNorm rows: mean, then centred variance (or mean square), in double.
#include <cmath>

#include "kernels/norm/layernorm_f32.h"

namespace pocket::kernels {

void layernorm_f32_scalar(const float* x, float* y, size_t rows, size_t n, const float* scale,
                          const float* bias, float eps) {
  for (size_t r = 0; r < rows; ++r, x += n, y += n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += x[i];
    const double mean = sum / static_cast<double>(n);
    double sq = 0.0;
    for (size_t i = 0; i < n; ++i) sq += (x[i] - mean) * (x[i] - mean);
    const double rstd = 1.0 / std::sqrt(sq / static_cast<double>(n) + static_cast<double>(eps));
    for (size_t i = 0; i < n; ++i) {
      const double v = (x[i] - mean) * rstd * scale[i] + (bias ? bias[i] : 0.f);
      y[i] = static_cast<float>(v);
    }
  }
}

void rmsnorm_f32_scalar(const float* x, float* y, size_t rows, size_t n, const float* scale, float eps) {
  for (size_t r = 0; r < rows; ++r, x += n, y += n) {
    double sq = 0.0;
    for (size_t i = 0; i < n; ++i) sq += static_cast<double>(x[i]) * x[i];
    const double rms = 1.0 / std::sqrt(sq / static_cast<double>(n) + static_cast<double>(eps));
    for (size_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] * rms * (scale ? scale[i] : 1.f));
  }
}

}  // namespace pocket::kernels
