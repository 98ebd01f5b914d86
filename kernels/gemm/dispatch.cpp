#include <algorithm>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/gemm/gemm_f32.h"

namespace pocket::kernels {

namespace {

std::vector<GemmF32Kernel> make_variants() {
  std::vector<GemmF32Kernel> v{{"scalar", &gemm_f32_tile_scalar, 1, 64}};
#if defined(__x86_64__)
  if (cpu_features().avx2_fma) v.push_back({"avx2", &gemm_f32_tile_avx2, 6, 16});
#endif
  return v;
}

std::vector<GemmF32PackedKernel> make_packed_variants() {
  std::vector<GemmF32PackedKernel> v{{"scalar", &gemm_f32_micro_scalar, 4, 8}};
#if defined(__x86_64__)
  if (cpu_features().avx2_fma) {
    // The best variant is the last. 4x24 on pre-broadcast A wins in L1-resident loops, but the 6x16
    // kernel is faster in the full blocking on every transformer shape measured on a quiet machine
    // (M=128: 73-78 % vs 67-76 % of peak; M=1500: 87-94 % vs 78-79 %): 4x24 stays as a variant.
    v.push_back({"avx2_4x24", &gemm_f32_micro_avx2_4x24, 4, 24, &gemm_f32_pack_a_avx2_4x24, 32});
    v.push_back({"avx2", &gemm_f32_micro_avx2, 6, 16});
  }
  if (cpu_features().avx512) v.push_back({"avx512", &gemm_f32_micro_avx512, 8, 32});
#elif defined(__aarch64__)
  if (cpu_features().neon) v.push_back({"neon", &gemm_f32_micro_neon, 8, 8});
#endif
  return v;
}

const std::vector<GemmF32PackedKernel>& packed_variants() {
  static const std::vector<GemmF32PackedKernel> v = make_packed_variants();
  return v;
}

const std::vector<GemmF32Kernel>& variants() {
  static const std::vector<GemmF32Kernel> v = make_variants();
  return v;
}

struct GemmTask {
  const GemmF32Kernel* kernel;
  const GemmF32Args* args;
};

void run_tile(void* ctx, size_t i, size_t j, size_t ti, size_t tj) {
  auto* t = static_cast<GemmTask*>(ctx);
  t->kernel->tile(*t->args, static_cast<int64_t>(i), static_cast<int64_t>(i + ti), static_cast<int64_t>(j),
                  static_cast<int64_t>(j + tj));
}

}  // namespace

const GemmF32PackedKernel& gemm_f32_packed_kernel() { return packed_variants().back(); }

const GemmF32PackedKernel* gemm_f32_packed_variants(size_t* count) {
  *count = packed_variants().size();
  return packed_variants().data();
}

const GemmF32Kernel& gemm_f32_kernel() { return variants().back(); }

const GemmF32Kernel* gemm_f32_variants(size_t* count) {
  *count = variants().size();
  return variants().data();
}

void gemm_f32(const GemmF32Kernel& kernel, const GemmF32Args& args, pthreadpool_t pool) {
  if (args.m <= 0 || args.n <= 0) return;
  const size_t threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  if (threads <= 1 || args.m * args.n * std::max<int64_t>(args.k, 1) < 32768) {
    kernel.tile(args, 0, args.m, 0, args.n);
    return;
  }
  // Tiles of about 8 register blocks each way, shrunk until every thread has a few.
  int64_t tm = kernel.mr * 8, tn = kernel.nr * 8;
  auto tiles = [&] { return ((args.m + tm - 1) / tm) * ((args.n + tn - 1) / tn); };
  while (tiles() < static_cast<int64_t>(threads) * 4 && (tm > kernel.mr || tn > kernel.nr)) {
    if (tn > kernel.nr && (tn >= tm || tm <= kernel.mr)) tn = std::max(kernel.nr, tn / 2);
    else tm = std::max(kernel.mr, tm / 2);
  }
  GemmTask t{&kernel, &args};
  pthreadpool_parallelize_2d_tile_2d(pool, &run_tile, &t, static_cast<size_t>(args.m), static_cast<size_t>(args.n),
                                     static_cast<size_t>(tm), static_cast<size_t>(tn), 0);
}

}  // namespace pocket::kernels
