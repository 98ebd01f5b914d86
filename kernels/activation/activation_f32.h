// Fused activations applied in place to f32 data (after Conv, ConvTranspose, Gemm, MatMul).
// activation_f32_scalar is the reference; the dispatch picks the best variant once.
#pragma once

#include <pthreadpool.h>

#include <cstddef>

namespace pocket::kernels {

// Same values as fb::ActivationKind.
// Gelu (erf form) and GeluTanh run the GELU kernels (gelu_f32.h) in place.
enum class Activation : int { None = 0, Relu, Clip, HardSigmoid, HardSwish, Sigmoid, SiLU, Tanh, LeakyRelu, Gelu, GeluTanh };

struct ActivationParams {
  Activation kind = Activation::None;
  float alpha = 0.f;  // Clip min, HardSigmoid alpha, LeakyRelu alpha
  float beta = 0.f;   // Clip max, HardSigmoid beta
};

using ActivationF32Fn = void (*)(const ActivationParams& p, float* data, size_t n);

void activation_f32_scalar(const ActivationParams& p, float* data, size_t n);
void activation_f32_avx2(const ActivationParams& p, float* data, size_t n);

struct ActivationF32Kernel {
  const char* name;
  ActivationF32Fn fn;
};

// Best variant for this CPU, chosen once.
const ActivationF32Kernel& activation_f32_kernel();

// Applies p to data[0, n) in place, split over the pool (nullptr: calling thread).
void apply_activation_f32(const ActivationF32Kernel& k, const ActivationParams& p, float* data, size_t n,
                          pthreadpool_t pool);
inline void apply_activation_f32(const ActivationParams& p, float* data, size_t n, pthreadpool_t pool) {
  apply_activation_f32(activation_f32_kernel(), p, data, n, pool);
}

}  // namespace pocket::kernels
