#include "kernels/transform/dispatch.h"

#include "kernels/cpu_features.h"

namespace pocket::kernels {

const TransformKernels& transform_kernels() {
  static const TransformKernels table = [] {
    TransformKernels t;
    t.transpose_x8 = transpose_x8_scalar;
    t.transpose_x16 = transpose_x16_scalar;
    t.transpose_x32 = transpose_x32_scalar;
    t.transpose_x64 = transpose_x64_scalar;
#if defined(__x86_64__) || defined(_M_X64)
    if (cpu_features().avx2_fma) {
      t.transpose_x32 = transpose_x32_avx2;
      t.transpose_x32_name = "avx2";
    }
#endif
    return t;
  }();
  return table;
}

}  // namespace pocket::kernels
