// The indirect-convolution dispatch table, filled once from cpu_features().
#include <vector>

#include "kernels/conv/igemm_f32.h"
#include "kernels/cpu_features.h"

namespace pocket::kernels {

namespace {

std::vector<IgemmF32Kernel> make_variants() {
  std::vector<IgemmF32Kernel> v{
      {"scalar", 4, 8, &igemm_f32_ukernel_4x8_scalar, 4, &igemm_f32_ukernel_4x4_scalar}};
#if defined(__x86_64__)
  const CpuFeatures& f = cpu_features();
  if (f.avx2_fma) v.push_back({"avx2", 6, 16, &igemm_f32_ukernel_6x16_avx2, 8, &igemm_f32_ukernel_6x8_avx2});
  if (f.avx512) v.push_back({"avx512", 8, 32, &igemm_f32_ukernel_8x32_avx512, 16, &igemm_f32_ukernel_8x16_avx512});
#elif defined(__aarch64__)
  if (cpu_features().neon) v.push_back({"neon", 6, 16, &igemm_f32_ukernel_6x16_neon, 8, &igemm_f32_ukernel_6x8_neon});
#endif
  return v;
}

const std::vector<IgemmF32Kernel>& variants() {
  static const std::vector<IgemmF32Kernel> v = make_variants();
  return v;
}

}  // namespace

const IgemmF32Kernel& igemm_f32_kernel() { return variants().back(); }

const IgemmF32Kernel* igemm_f32_variants(size_t* count) {
  *count = variants().size();
  return variants().data();
}

}  // namespace pocket::kernels
