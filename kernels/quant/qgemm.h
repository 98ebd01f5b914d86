// int8 GEMM (qs8): C = epilogue(sum_p (A(i,p) - za_i) * B(p,j)), A int8 rows with a zero point per
// row (dynamic quantization, the qd8 scheme) or one for all rows (static), B int8 weights
// (symmetric, per output column scale), sums exact in int32. The epilogue turns each int32 sum into
// a real  v = acc * a_scale_i * b_scale_j + bias_j (+ residual), applies the activation and the
// clamp, and stores f32 (dynamic) or requantizes to int8 (static: round to nearest even, add the
// output zero point, saturate). Variants: scalar (the reference), AVX2 (vpmaddwd on int16),
// AVX512-VNNI (vpdpbusd), NEON (smlal) and NEON dot product (sdot). Each packs B its own way:
// pack with the variant that multiplies.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace pocket::kernels {

// The fused activations of the epilogue (the format's ActivationKind, minus Relu/Clip which are
// the clamp): applied to v after bias and residual, before the clamp.
enum class QAct : int { None = 0, HardSigmoid, HardSwish, Sigmoid, SiLU, Tanh, LeakyRelu, Gelu, GeluTanh };

struct QGemmEpilogue {
  const float* a_scale = nullptr;     // [m] per row (a_scale_per_row) or [1]
  bool a_scale_per_row = false;
  const float* b_scale = nullptr;     // [n], per output column
  const float* bias = nullptr;        // [n] or nullptr
  // Residual added after bias (optional): f32 (residual_f32(i,j) = residual_f32[i*ld_residual+j])
  // or int8 (real = residual_scale * (q - residual_zero_point)).
  const float* residual_f32 = nullptr;
  const int8_t* residual_i8 = nullptr;
  int64_t ld_residual = 0;
  float residual_scale = 1.f;
  int32_t residual_zero_point = 0;
  QAct act = QAct::None;
  float act_alpha = 0.f, act_beta = 0.f;  // HardSigmoid alpha/beta, LeakyRelu alpha
  float out_min = -std::numeric_limits<float>::infinity();  // clamp (Relu, Clip), applied last
  float out_max = std::numeric_limits<float>::infinity();
  // Output: c_f32 when out_i8 is false; else c_i8 = saturate(round_even(v / out_scale) + out_zero_point).
  bool out_i8 = false;
  float out_scale = 1.f;
  int32_t out_zero_point = 0;
};

struct QGemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const int8_t* a = nullptr;          // A(i, p) = a[i * lda + p]
  int64_t lda = 0;
  const int32_t* a_zero_point = nullptr;  // [m] when a_zero_point_per_row, else [1]
  bool a_zero_point_per_row = false;
  const void* packed_b = nullptr;     // qgemm_pack_b's output for the same kernel
  float* c_f32 = nullptr;             // C(i, j) = c[i * ldc + j]
  int8_t* c_i8 = nullptr;
  int64_t ldc = 0;
  QGemmEpilogue ep;
};

struct QGemmKernel;  // defined in kernels/quant/qgemm_impl.h (the variants' shared internals)

// The best variant for this CPU (chosen once from cpu_features(); POCKET_ISA caps it), and every
// variant this CPU can run, the scalar reference first.
const QGemmKernel& qgemm_kernel();
const QGemmKernel* qgemm_variants(size_t* count);
const char* qgemm_kernel_name(const QGemmKernel& kernel);  // "qs8.scalar", "qs8.avx2", ...

// B(p, j) = b[p * b_row_stride + j * b_col_stride] (so B^T needs no copy), int8, symmetric.
// Packs once (weights, at session creation) into qgemm_packed_b_bytes bytes, 64-byte aligned; the
// packed form also holds what the kernel needs for A's zero points (column sums).
size_t qgemm_packed_b_bytes(const QGemmKernel& kernel, int64_t k, int64_t n);
void qgemm_pack_b(const QGemmKernel& kernel, int64_t k, int64_t n, const int8_t* b, int64_t b_row_stride,
                  int64_t b_col_stride, void* packed);

// Scratch the product needs (packed A blocks, int32 tiles), 64-byte aligned, for up to
// num_threads threads; the engine puts it in the arena. (Today every variant returns 0: the blocks
// live on the driver's stack, under 16 KiB per thread; keep asking, scratch may come back.)
size_t qgemm_scratch_bytes(const QGemmKernel& kernel, int64_t m, int64_t n, int64_t k, int num_threads);

// Requirements: zero points in [-128, 127] (then every int32 sum is exact for K < 65793);
// packed_b 64-byte aligned; c_i8 / c_f32 rows may be wider than n (ldc >= n; columns past n are
// never written). K == 0 gives the epilogue of zero sums (bias + residual).
// The whole product, split over the pool (nullptr: calling thread). Every variant gives
// bitwise the same int32 sums; the f32 epilogue may differ from the scalar one by float rounding
// (int8 outputs by at most 1).
void qgemm(const QGemmKernel& kernel, const QGemmArgs& args, void* scratch, pthreadpool_t pool);
inline void qgemm(const QGemmArgs& args, void* scratch, pthreadpool_t pool) {
  qgemm(qgemm_kernel(), args, scratch, pool);
}

}  // namespace pocket::kernels
