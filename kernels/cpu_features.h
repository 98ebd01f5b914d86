// What this CPU can run, read once from cpuinfo. Only the per-family dispatch tables
// (kernels/<family>/dispatch.cpp) look at it.
#pragma once

namespace pocket::kernels {

struct CpuFeatures {
  bool avx2_fma = false;       // AVX2 + FMA3 + F16C
  bool avx512 = false;         // AVX-512 F/BW/DQ/VL
  bool avx512vnni = false;
  bool neon = false;
  bool neon_dot = false;
  bool neon_fp16 = false;
};

// Filled on first call; POCKET_ISA=scalar|avx2|avx512 (x86) or scalar|neon (ARM) caps it, so tests
// and benchmarks can pin a variant.
const CpuFeatures& cpu_features();

}  // namespace pocket::kernels
