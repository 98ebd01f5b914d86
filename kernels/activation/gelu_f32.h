// GELU on f32 rows, erf form and tanh form, for the Gelu op and for GEMM/MatMul epilogues.
//   erf:  y = x * 0.5 * (1 + erf(x / sqrt(2)))
//   tanh: y = x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
// gelu_f32_scalar is the reference (std::erf / std::tanh in double); the vector variants stay
// within about 1e-7 * max(1, |x|) of it. The table is chosen once from cpu_features().
#pragma once

#include <cstddef>
#include <vector>

namespace pocket::kernels {

// y[0, n) = gelu(x[0, n)); x == y (in place) is allowed. Never allocates, never fails.
using GeluF32Fn = void (*)(const float* x, float* y, size_t n);

struct GeluF32Kernels {
  const char* isa = "scalar";
  GeluF32Fn erf_form = nullptr;
  GeluF32Fn tanh_form = nullptr;
};

// The best variant for this CPU (POCKET_ISA caps it), built on first use.
const GeluF32Kernels& gelu_f32_kernels();

// Every variant this CPU can run, scalar first (tests, benchmarks).
std::vector<GeluF32Kernels> gelu_f32_variants();

// One row through the dispatched kernel: the call a GEMM epilogue makes on each finished row.
inline void gelu_f32(const float* x, float* y, size_t n, bool tanh_form) {
  const GeluF32Kernels& k = gelu_f32_kernels();
  (tanh_form ? k.tanh_form : k.erf_form)(x, y, n);
}

// Per-ISA rows (kernels/activation/gelu_f32_<isa>.cpp); call only when cpu_features() allows.
void gelu_erf_f32_scalar(const float* x, float* y, size_t n);
void gelu_tanh_f32_scalar(const float* x, float* y, size_t n);
#if defined(__x86_64__) || defined(__i386__)
void gelu_erf_f32_avx2(const float* x, float* y, size_t n);
void gelu_tanh_f32_avx2(const float* x, float* y, size_t n);
void gelu_erf_f32_avx512(const float* x, float* y, size_t n);
void gelu_tanh_f32_avx512(const float* x, float* y, size_t n);
#endif
#if defined(__aarch64__)
void gelu_erf_f32_neon(const float* x, float* y, size_t n);
void gelu_tanh_f32_neon(const float* x, float* y, size_t n);
#endif

}  // namespace pocket::kernels
