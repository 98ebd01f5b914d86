#include <algorithm>
#include <cmath>

#include "kernels/activation/activation_f32.h"
#include "kernels/activation/gelu_f32.h"

namespace pocket::kernels {

void activation_f32_scalar(const ActivationParams& p, float* x, size_t n) {
  switch (p.kind) {
    case Activation::None:
      return;
    case Activation::Relu:
      for (size_t i = 0; i < n; ++i) x[i] = std::max(x[i], 0.f);
      return;
    case Activation::Clip:
      for (size_t i = 0; i < n; ++i) x[i] = std::min(std::max(x[i], p.alpha), p.beta);
      return;
    case Activation::HardSigmoid:
      for (size_t i = 0; i < n; ++i) x[i] = std::min(std::max(p.alpha * x[i] + p.beta, 0.f), 1.f);
      return;
    case Activation::HardSwish:
      for (size_t i = 0; i < n; ++i) x[i] = x[i] * std::min(std::max(x[i] + 3.f, 0.f), 6.f) * (1.f / 6.f);
      return;
    case Activation::Sigmoid:
      for (size_t i = 0; i < n; ++i) x[i] = 1.f / (1.f + std::exp(-x[i]));
      return;
    case Activation::SiLU:
      for (size_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + std::exp(-x[i]));
      return;
    case Activation::Tanh:
      for (size_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
      return;
    case Activation::LeakyRelu:
      for (size_t i = 0; i < n; ++i) x[i] = x[i] < 0.f ? p.alpha * x[i] : x[i];
      return;
    case Activation::Gelu:
      gelu_erf_f32_scalar(x, x, n);
      return;
    case Activation::GeluTanh:
      gelu_tanh_f32_scalar(x, x, n);
      return;
  }
}

}  // namespace pocket::kernels
