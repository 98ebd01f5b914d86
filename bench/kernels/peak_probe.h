// Single-core fp32 FMA peak, measured once so GEMM results can be shown as a percent of it.
#pragma once

namespace pocket::bench {

// GFLOP/s of one core running independent AVX2 FMA chains (2 flops per lane per FMA), or 0 when
// the CPU has no AVX2+FMA (or this is not x86-64).
double probe_fma_peak_gflops();

// GOP/s (a multiply-add counts 2) of one core running independent AVX2 vpmaddwd + vpaddd chains:
// the int8 GEMM's ceiling on CPUs without VNNI (int8 widened to int16). 0 without AVX2.
double probe_madd_peak_gops();

// The value measured at startup (0 when unavailable); set by main().
double& peak_gflops();

}  // namespace pocket::bench
