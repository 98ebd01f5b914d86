// The one place that decides which attention variant this CPU runs.
#include <vector>

#include "kernels/attention/attention_f32.h"
#include "kernels/cpu_features.h"

namespace pocket::kernels {

namespace {

std::vector<AttentionF32Kernel> make_variants() {
  std::vector<AttentionF32Kernel> v{attention_f32_scalar()};
#if defined(__x86_64__) || defined(__i386__)
  if (cpu_features().avx2_fma) v.push_back(attention_f32_avx2());
  if (cpu_features().avx512) v.push_back(attention_f32_avx512());
#elif defined(__aarch64__)
  if (cpu_features().neon) v.push_back(attention_f32_neon());
#endif
  return v;
}

const std::vector<AttentionF32Kernel>& variants() {
  static const std::vector<AttentionF32Kernel> v = make_variants();
  return v;
}

}  // namespace

const AttentionF32Kernel& attention_f32_kernel() { return variants().back(); }

const AttentionF32Kernel* attention_f32_variants(size_t* count) {
  *count = variants().size();
  return variants().data();
}

}  // namespace pocket::kernels
