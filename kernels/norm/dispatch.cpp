// The one place that decides which normalisation kernels this CPU runs.
#include "kernels/cpu_features.h"
#include "kernels/norm/layernorm_f32.h"

namespace pocket::kernels {

std::vector<NormF32Kernels> norm_f32_variants() {
  std::vector<NormF32Kernels> v;
  v.push_back({"scalar", layernorm_f32_scalar, rmsnorm_f32_scalar});
  const CpuFeatures& f = cpu_features();
#if defined(__x86_64__) || defined(__i386__)
  if (f.avx2_fma) v.push_back({"avx2", layernorm_f32_avx2, rmsnorm_f32_avx2});
  if (f.avx512) v.push_back({"avx512", layernorm_f32_avx512, rmsnorm_f32_avx512});
#endif
#if defined(__aarch64__)
  if (f.neon) v.push_back({"neon", layernorm_f32_neon, rmsnorm_f32_neon});
#endif
  (void)f;
  return v;
}

const NormF32Kernels& norm_f32_kernels() {
  static const NormF32Kernels k = norm_f32_variants().back();
  return k;
}

}  // namespace pocket::kernels
