// Winograd kernel table, filled once from cpu_features(), and the transform constants.
#include <vector>

#include "kernels/conv/winograd_f32.h"
#include "kernels/cpu_features.h"

namespace pocket::kernels {

const double kWinogradG43[6][3] = {{1.0 / 4, 0, 0},
                                   {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                   {0, 0, 1}};
const double kWinogradG23[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

namespace {

#define POCKET_WINOGRAD_ENTRY(isa, rows)                                                    \
  WinogradF32Kernel {                                                                       \
#isa, &winograd_input_f43_##isa, &winograd_input_f23_##isa, &winograd_output_f43_##isa, \
        &winograd_output_f23_##isa, &winograd_gemm_panel_##isa, rows                        \
  }

std::vector<WinogradF32Kernel> make_variants() {
  std::vector<WinogradF32Kernel> v{POCKET_WINOGRAD_ENTRY(scalar, 1)};
  const CpuFeatures& f = cpu_features();
#if defined(__x86_64__)
  if (f.avx2_fma) v.push_back(POCKET_WINOGRAD_ENTRY(avx2, 6));
  if (f.avx512) v.push_back(POCKET_WINOGRAD_ENTRY(avx512, 12));
#elif defined(__aarch64__)
  if (f.neon) v.push_back(POCKET_WINOGRAD_ENTRY(neon, 6));
#endif
  (void)f;
  return v;
}
#undef POCKET_WINOGRAD_ENTRY

const std::vector<WinogradF32Kernel>& variants() {
  static const std::vector<WinogradF32Kernel> v = make_variants();
  return v;
}

}  // namespace

const WinogradF32Kernel& winograd_f32_kernel() { return variants().back(); }

const WinogradF32Kernel* winograd_f32_variants(size_t* count) {
  *count = variants().size();
  return variants().data();
}

}  // namespace pocket::kernels
