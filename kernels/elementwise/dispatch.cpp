// The one place that decides which elementwise kernels this CPU runs.
#include "kernels/cpu_features.h"
#include "kernels/elementwise/elementwise.h"

namespace pocket::kernels {

namespace {

ElementwiseKernels scalar_table() {
  ElementwiseKernels t;
  fill_unary_f32_scalar(t);
  fill_binary_scalar(t);
  return t;
}

#if defined(__x86_64__) || defined(__i386__)
ElementwiseKernels avx2_table() {
  ElementwiseKernels t = scalar_table();
  fill_unary_f32_avx2(t);
  fill_binary_f32_avx2(t);
  return t;
}
ElementwiseKernels avx512_table() {
  ElementwiseKernels t = avx2_table();
  fill_unary_f32_avx512(t);
  return t;
}
#endif

#if defined(__aarch64__)
ElementwiseKernels neon_table() {
  ElementwiseKernels t = scalar_table();
  fill_unary_f32_neon(t);
  fill_binary_f32_neon(t);
  return t;
}
#endif

}  // namespace

std::vector<ElementwiseVariant> elementwise_variants() {
  std::vector<ElementwiseVariant> v;
  v.push_back({"scalar", scalar_table()});
#if defined(__x86_64__) || defined(__i386__)
  const CpuFeatures& f = cpu_features();
  if (f.avx2_fma) v.push_back({"avx2", avx2_table()});
  if (f.avx512) v.push_back({"avx512", avx512_table()});
#endif
#if defined(__aarch64__)
  if (cpu_features().neon) v.push_back({"neon", neon_table()});
#endif
  return v;
}

const ElementwiseKernels& elementwise_kernels() {
  static const ElementwiseKernels table = [] { return elementwise_variants().back().table; }();
  return table;
}

}  // namespace pocket::kernels
