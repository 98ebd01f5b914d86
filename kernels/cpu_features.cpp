#include "kernels/cpu_features.h"

#include <cpuinfo.h>

#include <cstdlib>
#include <cstring>

namespace pocket::kernels {

namespace {

CpuFeatures detect() {
  CpuFeatures f;
  if (!cpuinfo_initialize()) return f;
#if defined(__x86_64__) || defined(__i386__)
  f.avx2_fma = cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3() && cpuinfo_has_x86_f16c();
  f.avx512 = f.avx2_fma && cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_avx512bw() &&
             cpuinfo_has_x86_avx512dq() && cpuinfo_has_x86_avx512vl();
  f.avx512vnni = f.avx512 && cpuinfo_has_x86_avx512vnni();
#elif defined(__aarch64__)
  f.neon = cpuinfo_has_arm_neon();
  f.neon_dot = f.neon && cpuinfo_has_arm_neon_dot();
  f.neon_fp16 = f.neon && cpuinfo_has_arm_neon_fp16_arith();
#endif
  if (const char* cap = std::getenv("POCKET_ISA")) {
    if (std::strcmp(cap, "scalar") == 0) f = CpuFeatures{};
    if (std::strcmp(cap, "avx2") == 0) f.avx512 = f.avx512vnni = false;
    if (std::strcmp(cap, "neon") == 0) f.neon_dot = f.neon_fp16 = false;
  }
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace pocket::kernels
