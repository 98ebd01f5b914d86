// Elementwise kernels: unary activations and math, binary arithmetic on rows, affine rows.
// Every kernel works on one contiguous row; broadcasting is a walk over rows (broadcast.h).
// The table is filled once (dispatch.cpp): the scalar variant first, then each ISA variant this
// CPU can run overrides the entries it implements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pocket::kernels {

enum class UnaryOp : uint8_t {
  Relu, LeakyRelu, Elu, Selu, Sigmoid, HardSigmoid, HardSwish, Tanh, Softplus, Softsign,
  Clip, Exp, Log, Sqrt, Neg, Abs, Erf, Reciprocal, Floor, Ceil, SiLU,
};
inline constexpr int kUnaryOpCount = static_cast<int>(UnaryOp::SiLU) + 1;

// alpha/beta: LeakyRelu alpha; Elu alpha; Selu alpha, gamma (= beta); HardSigmoid alpha, beta;
// Clip min (= alpha), max (= beta).
struct UnaryParams {
  float alpha = 0.f;
  float beta = 0.f;
};
using UnaryF32Fn = void (*)(const float* x, float* y, size_t n, const UnaryParams& p);

// PRelu: y = a < 0 ? a * b : a (b is the slope).
enum class BinaryOp : uint8_t { Add, Sub, Mul, Div, Pow, Max, Min, PRelu };
inline constexpr int kBinaryOpCount = static_cast<int>(BinaryOp::PRelu) + 1;

// How a row's operands advance: VV y[i] = a[i] op b[i]; VS a[i] op b[0]; SV a[0] op b[i].
enum class RowForm : uint8_t { VV, VS, SV };
inline constexpr int kRowFormCount = 3;

template <class T>
using BinaryFn = void (*)(const T* a, const T* b, T* y, size_t n);

struct ElementwiseKernels {
  UnaryF32Fn unary_f32[kUnaryOpCount] = {};
  const char* unary_f32_isa[kUnaryOpCount] = {};
  BinaryFn<float> binary_f32[kBinaryOpCount][kRowFormCount] = {};
  const char* binary_f32_isa[kBinaryOpCount] = {};
  // Integer arithmetic (scalar only); Pow and PRelu are absent (nullptr). Division by zero gives 0.
  BinaryFn<int32_t> binary_i32[kBinaryOpCount][kRowFormCount] = {};
  BinaryFn<int64_t> binary_i64[kBinaryOpCount][kRowFormCount] = {};
  // float64 arithmetic (scalar only): Add, Sub, Mul, Div, Max, Min; Pow and PRelu are absent.
  BinaryFn<double> binary_f64[kBinaryOpCount][kRowFormCount] = {};
  // y[i] = x[i] * scale + shift
  void (*affine_f32)(const float* x, float* y, size_t n, float scale, float shift) = nullptr;
  const char* affine_f32_isa = nullptr;
};

// The table for this CPU (POCKET_ISA caps it), built on first use.
const ElementwiseKernels& elementwise_kernels();

// Every variant this CPU can run, scalar first, for tests and benchmarks. Each entry is the full
// table as that ISA would fill it.
struct ElementwiseVariant {
  const char* isa;
  ElementwiseKernels table;
};
std::vector<ElementwiseVariant> elementwise_variants();

// Fillers, one per kernel file. The scalar ones fill every entry; the ISA ones override the
// entries they implement and leave the rest to the scalar reference.
void fill_unary_f32_scalar(ElementwiseKernels& t);
void fill_binary_scalar(ElementwiseKernels& t);
#if defined(__x86_64__) || defined(__i386__)
void fill_unary_f32_avx2(ElementwiseKernels& t);
void fill_binary_f32_avx2(ElementwiseKernels& t);
void fill_unary_f32_avx512(ElementwiseKernels& t);
#endif
#if defined(__aarch64__)
void fill_unary_f32_neon(ElementwiseKernels& t);
void fill_binary_f32_neon(ElementwiseKernels& t);
#endif

}  // namespace pocket::kernels
