// Row normalisation kernels (LayerNormalization, RMSNormalization) on contiguous f32 rows.
// LayerNorm takes one pass for mean and variance (Welford per lane on x - x[0], lanes merged with
// Chan's pairwise formula, so a large mean next to a small spread loses nothing to cancellation)
// and one scaling pass; RMSNorm takes one pass for the mean square and one scaling pass. The scalar
// variant is the reference (two passes in double). Filled once in dispatch.cpp.
#pragma once

#include <cstddef>
#include <vector>

namespace pocket::kernels {

// For each of `rows` rows of n elements (row r at x + r * n, y + r * n; y may equal x):
//   y = (x - mean) / sqrt(var + eps) * scale + bias   (population variance; bias may be nullptr)
using LayerNormF32Fn = void (*)(const float* x, float* y, size_t rows, size_t n, const float* scale,
                                const float* bias, float eps);
//   y = x / sqrt(mean(x^2) + eps) * scale             (scale may be nullptr: 1)
using RmsNormF32Fn = void (*)(const float* x, float* y, size_t rows, size_t n, const float* scale, float eps);

struct NormF32Kernels {
  const char* isa = "scalar";
  LayerNormF32Fn layernorm = nullptr;
  RmsNormF32Fn rmsnorm = nullptr;
};

// The best variant for this CPU (POCKET_ISA caps it), built on first use.
const NormF32Kernels& norm_f32_kernels();

// Every variant this CPU can run, scalar first (tests, benchmarks).
std::vector<NormF32Kernels> norm_f32_variants();

// One pair per kernel file; call only when cpu_features() allows.
void layernorm_f32_scalar(const float* x, float* y, size_t rows, size_t n, const float* scale,
                          const float* bias, float eps);
void rmsnorm_f32_scalar(const float* x, float* y, size_t rows, size_t n, const float* scale, float eps);
#if defined(__x86_64__) || defined(__i386__)
void layernorm_f32_avx2(const float* x, float* y, size_t rows, size_t n, const float* scale,
                        const float* bias, float eps);
void rmsnorm_f32_avx2(const float* x, float* y, size_t rows, size_t n, const float* scale, float eps);
void layernorm_f32_avx512(const float* x, float* y, size_t rows, size_t n, const float* scale,
                          const float* bias, float eps);
void rmsnorm_f32_avx512(const float* x, float* y, size_t rows, size_t n, const float* scale, float eps);
#endif
#if defined(__aarch64__)
void layernorm_f32_neon(const float* x, float* y, size_t rows, size_t n, const float* scale,
                        const float* bias, float eps);
void rmsnorm_f32_neon(const float* x, float* y, size_t rows, size_t n, const float* scale, float eps);
#endif

// Mean and M2 (sum of squared deviations) of a set, for merging partial Welford states.
struct MomentsF32 {
  float count = 0.f;
  float mean = 0.f;
  float m2 = 0.f;
};

// Chan et al.'s pairwise merge of two partial states.
inline MomentsF32 merge_moments(const MomentsF32& a, const MomentsF32& b) {
  const float n = a.count + b.count;
  if (n == 0.f) return a;
  const float d = b.mean - a.mean;
  const float wb = b.count / n;
  return {n, a.mean + d * wb, a.m2 + b.m2 + d * d * a.count * wb};
}

// Welford's update of a state with the elements x[0, n) - shift.
inline MomentsF32 welford_tail(MomentsF32 s, const float* x, size_t n, float shift) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i] - shift;
    s.count += 1.f;
    const float d = v - s.mean;
    s.mean += d / s.count;
    s.m2 += d * (v - s.mean);
  }
  return s;
}

}  // namespace pocket::kernels
