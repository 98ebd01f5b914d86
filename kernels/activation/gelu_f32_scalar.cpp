// Reference GELU rows, evaluated in double: x * erfc(-x / sqrt(2)) / 2 (= x (1 + erf(x / sqrt 2)) / 2
// without the cancellation of 1 + erf for negative x) and x / (1 + exp(-2u)) for the tanh form
// (= x (1 + tanh u) / 2, likewise).
#include <cmath>

#include "kernels/activation/gelu_f32.h"

namespace pocket::kernels {

void gelu_erf_f32_scalar(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(0.5 * v * std::erfc(-v * 0.70710678118654752440));
  }
}

void gelu_tanh_f32_scalar(const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    const double two_u = 1.59576912160573071176 * (v + 0.044715 * v * v * v);
    y[i] = static_cast<float>(v / (1.0 + std::exp(-two_u)));
  }
}

}  // namespace pocket::kernels
