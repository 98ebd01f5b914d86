// Which kernel variants this process runs, and why: cpu_features() against cpuinfo and POCKET_ISA,
// and every family's default variant against its variant list. Prints one "cpu_features:" and one
// "dispatch:" line that the ARM leg (scripts/test_arm64.sh) shows in its summary.
// POCKET_EXPECT_FEATURES (e.g. "neon,neon_dot,neon_fp16", or "none") names the exact feature set
// the CPU must report: the qemu runs use it to prove that `-cpu max` and `-cpu cortex-a72` really
// ran on different CPUs.
#include <cpuinfo.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/activation/activation_f32.h"
#include "kernels/cpu_features.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/gemm/gemm_f32.h"
#include "kernels/reduce/reduce.h"

namespace pocket::kernels {
namespace {

std::string isa_cap() {
  const char* cap = std::getenv("POCKET_ISA");
  return cap ? cap : "";
}

std::string feature_list(const CpuFeatures& f) {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ",";
    s += name;
  };
  add(f.avx2_fma, "avx2_fma");
  add(f.avx512, "avx512");
  add(f.avx512vnni, "avx512vnni");
  add(f.neon, "neon");
  add(f.neon_dot, "neon_dot");
  add(f.neon_fp16, "neon_fp16");
  return s.empty() ? "none" : s;
}

// What cpu_features() must say: cpuinfo's answer, capped by POCKET_ISA.
CpuFeatures expected_features() {
  CpuFeatures f;
  if (!cpuinfo_initialize()) return f;
#if defined(__x86_64__) || defined(__i386__)
  f.avx2_fma = cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3() && cpuinfo_has_x86_f16c();
  f.avx512 = f.avx2_fma && cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_avx512bw() && cpuinfo_has_x86_avx512dq() &&
             cpuinfo_has_x86_avx512vl();
  f.avx512vnni = f.avx512 && cpuinfo_has_x86_avx512vnni();
#elif defined(__aarch64__)
  f.neon = cpuinfo_has_arm_neon();
  f.neon_dot = f.neon && cpuinfo_has_arm_neon_dot();
  f.neon_fp16 = f.neon && cpuinfo_has_arm_neon_fp16_arith();
#endif
  const std::string cap = isa_cap();
  if (cap == "scalar") f = CpuFeatures{};
  if (cap == "avx2") f.avx512 = f.avx512vnni = false;
  if (cap == "neon") f.neon_dot = f.neon_fp16 = false;
  return f;
}

// The features a variant needs, read from its name ("avx2", "neon", "neondot_4x8", ...).
bool runnable(const std::string& name, const CpuFeatures& f) {
  auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
  if (has("avx512vnni")) return f.avx512vnni;
  if (has("avx512")) return f.avx512;
  if (has("avx2")) return f.avx2_fma;
  if (has("neondot") || has("neon_dot")) return f.neon_dot;
  if (has("neonfp16") || has("neon_fp16")) return f.neon_fp16;
  if (has("neon")) return f.neon;
  return true;
}

// The best ISA the elementwise and reduce families implement for these features.
const char* best_simd_isa(const CpuFeatures& f) {
#if defined(__aarch64__)
  if (f.neon) return "neon";
#else
  if (f.avx2_fma) return "avx2";
#endif
  return "scalar";
}

TEST(KernelDispatch, CpuFeaturesFollowCpuinfoAndPocketIsa) {
  const CpuFeatures& f = cpu_features();
  const CpuFeatures e = expected_features();
  std::printf("cpu_features: %s (POCKET_ISA=%s)\n", feature_list(f).c_str(),
              isa_cap().empty() ? "unset" : isa_cap().c_str());
  EXPECT_EQ(feature_list(f), feature_list(e));
#if defined(__aarch64__)
  // Every AArch64 CPU has Advanced SIMD; only POCKET_ISA=scalar turns it off.
  EXPECT_EQ(f.neon, isa_cap() != "scalar");
  EXPECT_FALSE(f.avx2_fma || f.avx512 || f.avx512vnni);
#else
  EXPECT_FALSE(f.neon || f.neon_dot || f.neon_fp16);
#endif
  if (const char* want = std::getenv("POCKET_EXPECT_FEATURES")) {
    EXPECT_EQ(feature_list(f), std::string(want)) << "the emulated CPU is not the one the test run asked for";
  }
}

TEST(KernelDispatch, ElementwiseAndReducePickTheBestRunnableVariant) {
  const CpuFeatures& f = cpu_features();
  const std::vector<ElementwiseVariant> ev = elementwise_variants();
  const std::vector<ReduceVariant> rv = reduce_variants();
  ASSERT_FALSE(ev.empty());
  ASSERT_FALSE(rv.empty());
  EXPECT_STREQ(ev.front().isa, "scalar");
  EXPECT_STREQ(rv.front().isa, "scalar");
  for (const auto& v : ev) EXPECT_TRUE(runnable(v.isa, f)) << "elementwise variant " << v.isa;
  for (const auto& v : rv) EXPECT_TRUE(runnable(v.isa, f)) << "reduce variant " << v.isa;

  const ElementwiseKernels& e = elementwise_kernels();
  const ReduceKernels& r = reduce_kernels();
  const std::string best = best_simd_isa(f);
  // AVX-512 variants override some AVX2 entries.
  auto is_best = [&](const char* isa) { return isa == best || (f.avx512 && std::strcmp(isa, "avx512") == 0); };
  // The ops every SIMD variant implements run that variant; the rest fall back to scalar.
  const UnaryOp unary[] = {UnaryOp::Relu, UnaryOp::Sigmoid, UnaryOp::HardSwish, UnaryOp::Tanh, UnaryOp::Exp};
  for (UnaryOp op : unary) {
    EXPECT_PRED1(is_best, e.unary_f32_isa[static_cast<int>(op)]) << "unary op " << static_cast<int>(op);
  }
  const BinaryOp binary[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Max, BinaryOp::Min};
  for (BinaryOp op : binary) {
    EXPECT_PRED1(is_best, e.binary_f32_isa[static_cast<int>(op)]) << "binary op " << static_cast<int>(op);
  }
  EXPECT_PRED1(is_best, r.reduce_isa[static_cast<int>(ReduceOp::Sum)]);
  EXPECT_PRED1(is_best, r.reduce_isa[static_cast<int>(ReduceOp::Max)]);
  EXPECT_PRED1(is_best, r.softmax_isa);
  // Whatever a variant claims to implement must be what the default table holds for its ops.
  for (int i = 0; i < kUnaryOpCount; ++i) {
    EXPECT_EQ(e.unary_f32[i], ev.back().table.unary_f32[i]) << "unary op " << i;
  }
}

TEST(KernelDispatch, GemmAndActivationPickARunnableVariant) {
  const CpuFeatures& f = cpu_features();
  size_t count = 0;
  const GemmF32Kernel* gv = gemm_f32_variants(&count);
  ASSERT_GE(count, 1u);
  EXPECT_STREQ(gv[0].name, "scalar");
  std::string gemm_names, packed_names;
  bool any_simd = false;
  for (size_t i = 0; i < count; ++i) {
    EXPECT_TRUE(runnable(gv[i].name, f)) << "gemm variant " << gv[i].name;
    gemm_names += std::string(i ? "," : "") + gv[i].name;
    any_simd = any_simd || i > 0;
  }
  EXPECT_EQ(&gemm_f32_kernel(), &gv[count - 1]) << "the default is the last (best) variant";
  if (any_simd) {
    EXPECT_STRNE(gemm_f32_kernel().name, "scalar");
  }

  size_t packed_count = 0;
  const GemmF32PackedKernel* pv = gemm_f32_packed_variants(&packed_count);
  ASSERT_GE(packed_count, 1u);
  EXPECT_STREQ(pv[0].name, "scalar");
  for (size_t i = 0; i < packed_count; ++i) {
    EXPECT_TRUE(runnable(pv[i].name, f)) << "packed gemm variant " << pv[i].name;
    packed_names += std::string(i ? "," : "") + pv[i].name;
  }
  EXPECT_EQ(&gemm_f32_packed_kernel(), &pv[packed_count - 1]);

  const char* act = activation_f32_kernel().name;
  EXPECT_TRUE(runnable(act, f)) << "activation " << act;
  if (isa_cap() == "scalar") {
    EXPECT_STREQ(gemm_f32_kernel().name, "scalar");
    EXPECT_STREQ(gemm_f32_packed_kernel().name, "scalar");
    EXPECT_STREQ(act, "scalar");
  }
  std::printf("dispatch: elementwise=%s reduce=%s gemm=%s [%s] gemm_packed=%s [%s] activation=%s (POCKET_ISA=%s)\n",
              elementwise_variants().back().isa, reduce_variants().back().isa, gemm_f32_kernel().name,
              gemm_names.c_str(), gemm_f32_packed_kernel().name, packed_names.c_str(), act,
              isa_cap().empty() ? "unset" : isa_cap().c_str());
}

}  // namespace
}  // namespace pocket::kernels
