// The one place that decides which GELU rows this CPU runs.
#include "kernels/activation/gelu_f32.h"
#include "kernels/cpu_features.h"

namespace pocket::kernels {

std::vector<GeluF32Kernels> gelu_f32_variants() {
  std::vector<GeluF32Kernels> v;
  v.push_back({"scalar", gelu_erf_f32_scalar, gelu_tanh_f32_scalar});
  const CpuFeatures& f = cpu_features();
#if defined(__x86_64__) || defined(__i386__)
  if (f.avx2_fma) v.push_back({"avx2", gelu_erf_f32_avx2, gelu_tanh_f32_avx2});
  if (f.avx512) v.push_back({"avx512", gelu_erf_f32_avx512, gelu_tanh_f32_avx512});
#endif
#if defined(__aarch64__)
  if (f.neon) v.push_back({"neon", gelu_erf_f32_neon, gelu_tanh_f32_neon});
#endif
  (void)f;
  return v;
}

const GeluF32Kernels& gelu_f32_kernels() {
  static const GeluF32Kernels k = gelu_f32_variants().back();
  return k;
}

}  // namespace pocket::kernels
