// Reduction kernels: row reductions and row accumulations (the pieces every Reduce* op is made
// of), centred sums of squares (normalisation), softmax and log-softmax along one axis, and
// arg-max/min. Filled once in dispatch.cpp: scalar first, then the ISA files override.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pocket::kernels {

enum class ReduceOp : uint8_t { Sum, SumSquares, Max, Min, Prod };
inline constexpr int kReduceOpCount = static_cast<int>(ReduceOp::Prod) + 1;

// Softmax over blocks: n elements along the axis, `stride` apart; `cols` adjacent columns
// (cols <= stride; a plain row is stride = cols = 1). Numerically stable (max subtracted); a
// column with at least one finite value never produces NaN.
using SoftmaxF32Fn = void (*)(const float* x, float* y, size_t n, size_t stride, size_t cols);

struct ReduceKernels {
  // The reduction of x[0..n) (n may be 0: the identity). Max and Min propagate NaN: a NaN
  // anywhere in the row (or in acc) gives NaN, as numpy, PyTorch and ONNX Runtime do.
  float (*reduce_row_f32[kReduceOpCount])(const float* x, size_t n) = {};
  // acc[i] = acc[i] op x[i] (SumSquares: acc[i] += x[i]^2).
  void (*accumulate_row_f32[kReduceOpCount])(const float* x, float* acc, size_t n) = {};
  const char* reduce_isa[kReduceOpCount] = {};
  // sum over i of (x[i] - mean)^2
  float (*sum_sq_dev_f32)(const float* x, size_t n, float mean) = nullptr;
  const char* sum_sq_dev_isa = nullptr;
  SoftmaxF32Fn softmax_f32 = nullptr;
  SoftmaxF32Fn log_softmax_f32 = nullptr;
  const char* softmax_isa = nullptr;
  // Index of the max (or min) along n elements `inner` apart, for outer x inner positions;
  // ties go to the first index, or the last when `last`. A float NaN is the extreme of both
  // (the first NaN, or the last when `last`), as in numpy and PyTorch.
  void (*argmax_f32)(const float* x, int64_t* y, size_t outer, size_t n, size_t inner, bool is_min, bool last) = nullptr;
  void (*argmax_i32)(const int32_t* x, int64_t* y, size_t outer, size_t n, size_t inner, bool is_min, bool last) = nullptr;
  void (*argmax_i64)(const int64_t* x, int64_t* y, size_t outer, size_t n, size_t inner, bool is_min, bool last) = nullptr;
};

// Identity of each reduction (0, 0, -inf, +inf, 1).
float reduce_identity(ReduceOp op);
// a op b, for combining partial results.
float reduce_combine(ReduceOp op, float a, float b);

const ReduceKernels& reduce_kernels();

struct ReduceVariant {
  const char* isa;
  ReduceKernels table;
};
std::vector<ReduceVariant> reduce_variants();

void fill_reduce_f32_scalar(ReduceKernels& t);
void fill_softmax_f32_scalar(ReduceKernels& t);
void fill_argmax_scalar(ReduceKernels& t);
#if defined(__x86_64__) || defined(__i386__)
void fill_reduce_f32_avx2(ReduceKernels& t);
void fill_softmax_f32_avx2(ReduceKernels& t);
#endif
#if defined(__aarch64__)
void fill_reduce_f32_neon(ReduceKernels& t);
void fill_softmax_f32_neon(ReduceKernels& t);
#endif

}  // namespace pocket::kernels
