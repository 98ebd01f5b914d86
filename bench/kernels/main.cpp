// Pocket kernel microbenchmarks (google-benchmark). How to run, from the source root:
//   build/bench/pocket_bench_kernels --benchmark_min_time=0.2
// Filter with e.g. --benchmark_filter=gemm_f32/distilbert. POCKET_ISA=scalar|avx2|avx512 caps the
// kernel variants that are registered. The single-core FMA peak is probed once at startup; GEMM
// rows report GFLOP/s and pct_peak (percent of that peak), elementwise rows report GB/s.
#include <benchmark/benchmark.h>

#include <cstdio>

#include "bench/kernels/bench_registry.h"
#include "bench/kernels/peak_probe.h"
#include "kernels/cpu_features.h"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const pocket::kernels::CpuFeatures& f = pocket::kernels::cpu_features();
  std::printf("cpu features: avx2_fma=%d avx512=%d avx512vnni=%d neon=%d neon_dot=%d\n", f.avx2_fma, f.avx512,
              f.avx512vnni, f.neon, f.neon_dot);
  if (f.avx2_fma) pocket::bench::peak_gflops() = pocket::bench::probe_fma_peak_gflops();
  if (pocket::bench::peak_gflops() > 0)
    std::printf("fp32 FMA peak (1 core, AVX2): %.1f GFLOP/s; int16 vpmaddwd+vpaddd peak (the int8 GEMM's "
                "ceiling without VNNI): %.1f GOP/s\n",
                pocket::bench::peak_gflops(), pocket::bench::probe_madd_peak_gops());
  else
    std::printf("fp32 FMA peak: not probed (no AVX2+FMA); pct_peak is not reported\n");
  std::fflush(stdout);

  pocket::bench::register_gemm_benchmarks();
  pocket::bench::register_elementwise_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
