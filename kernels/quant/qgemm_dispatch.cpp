// The int8 GEMM table: every variant this CPU can run, scalar first, best last; chosen once from
// cpu_features() (POCKET_ISA caps it).
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/quant/qgemm_impl.h"

namespace pocket::kernels {

namespace {

std::vector<QGemmKernel> make_variants() {
  std::vector<QGemmKernel> v;
  v.push_back({"qs8.scalar", 4, 8, 1, 4 * 2, &qgemm_pack_a_scalar, &qgemm_micro_scalar, &qgemm_epilogue_scalar, false,
               0});
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu_features().avx2_fma)
    v.push_back({"qs8.avx2", 5, 16, 2, 5 * 2 * 2, &qgemm_pack_a_avx2, &qgemm_micro_avx2, &qgemm_epilogue_avx2, false,
                 0});
  // Compiles everywhere, runs only where the CPU has AVX512-VNNI (never on the build machine).
  if (cpu_features().avx512 && cpu_features().avx512vnni)
    v.push_back({"qs8.avx512vnni", 8, 16, 4, 8 * 4, &qgemm_pack_a_avx512vnni, &qgemm_micro_avx512vnni,
                 &qgemm_epilogue_avx512vnni, true, 128});
#elif defined(__aarch64__)
  if (cpu_features().neon)
    v.push_back({"qs8.neon", 8, 8, 1, 8 * 2, &qgemm_pack_a_neon, &qgemm_micro_neon, &qgemm_epilogue_neon, false, 0});
  if (cpu_features().neon_dot)
    v.push_back({"qs8.neondot", 4, 16, 4, 4 * 4, &qgemm_pack_a_neondot, &qgemm_micro_neondot,
                 &qgemm_epilogue_neondot, true, 0});
#endif
  return v;
}

const std::vector<QGemmKernel>& variants() {
  static const std::vector<QGemmKernel> v = make_variants();
  return v;
}

}  // namespace

const QGemmKernel& qgemm_kernel() { return variants().back(); }

const QGemmKernel* qgemm_variants(size_t* count) {
  *count = variants().size();
  return variants().data();
}

const char* qgemm_kernel_name(const QGemmKernel& kernel) { return kernel.name; }

}  // namespace pocket::kernels
