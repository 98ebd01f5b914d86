// Reference unary kernels: plain C++ math, one element at a time. Every other variant is tested
// against these.
#include <algorithm>
#include <cmath>

#include "kernels/elementwise/elementwise.h"

namespace pocket::kernels {

namespace {

template <class F>
inline void map(const float* x, float* y, size_t n, F f) {
  for (size_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

float sigmoid(float v) {
  // Stable on both tails: exp of a non-positive number only.
  if (v >= 0.f) return 1.f / (1.f + std::exp(-v));
  float e = std::exp(v);
  return e / (1.f + e);
}

void relu(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return v > 0.f ? v : 0.f; });
}
void leaky_relu(const float* x, float* y, size_t n, const UnaryParams& p) {
  map(x, y, n, [a = p.alpha](float v) { return v >= 0.f ? v : a * v; });
}
void elu(const float* x, float* y, size_t n, const UnaryParams& p) {
  map(x, y, n, [a = p.alpha](float v) { return v >= 0.f ? v : a * std::expm1(v); });
}
void selu(const float* x, float* y, size_t n, const UnaryParams& p) {
  map(x, y, n, [a = p.alpha, g = p.beta](float v) { return v > 0.f ? g * v : g * a * std::expm1(v); });
}
void sigmoid_row(const float* x, float* y, size_t n, const UnaryParams&) { map(x, y, n, sigmoid); }
void hard_sigmoid(const float* x, float* y, size_t n, const UnaryParams& p) {
  map(x, y, n, [a = p.alpha, b = p.beta](float v) { return std::min(1.f, std::max(0.f, a * v + b)); });
}
void hard_swish(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return v * std::min(1.f, std::max(0.f, v / 6.f + 0.5f)); });
}
void tanh_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return std::tanh(v); });
}
void softplus(const float* x, float* y, size_t n, const UnaryParams&) {
  // log(1 + e^v) = max(v, 0) + log1p(e^-|v|)
  map(x, y, n, [](float v) { return std::max(v, 0.f) + std::log1p(std::exp(-std::abs(v))); });
}
void softsign(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return v / (1.f + std::abs(v)); });
}
void clip(const float* x, float* y, size_t n, const UnaryParams& p) {
  map(x, y, n, [lo = p.alpha, hi = p.beta](float v) { return v < lo ? lo : (v > hi ? hi : v); });
}
void exp_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return std::exp(v); });
}
void log_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return std::log(v); });
}
void sqrt_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return std::sqrt(v); });
}
void neg(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return -v; });
}
void abs_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return std::abs(v); });
}
void erf_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return std::erf(v); });
}
void reciprocal(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return 1.f / v; });
}
void floor_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return std::floor(v); });
}
void ceil_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return std::ceil(v); });
}
void silu(const float* x, float* y, size_t n, const UnaryParams&) {
  map(x, y, n, [](float v) { return v * sigmoid(v); });
}

void affine(const float* x, float* y, size_t n, float scale, float shift) {
  for (size_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

}  // namespace

void fill_unary_f32_scalar(ElementwiseKernels& t) {
  auto set = [&t](UnaryOp op, UnaryF32Fn f) {
    t.unary_f32[static_cast<int>(op)] = f;
    t.unary_f32_isa[static_cast<int>(op)] = "scalar";
  };
  set(UnaryOp::Relu, relu);
  set(UnaryOp::LeakyRelu, leaky_relu);
  set(UnaryOp::Elu, elu);
  set(UnaryOp::Selu, selu);
  set(UnaryOp::Sigmoid, sigmoid_row);
  set(UnaryOp::HardSigmoid, hard_sigmoid);
  set(UnaryOp::HardSwish, hard_swish);
  set(UnaryOp::Tanh, tanh_row);
  set(UnaryOp::Softplus, softplus);
  set(UnaryOp::Softsign, softsign);
  set(UnaryOp::Clip, clip);
  set(UnaryOp::Exp, exp_row);
  set(UnaryOp::Log, log_row);
  set(UnaryOp::Sqrt, sqrt_row);
  set(UnaryOp::Neg, neg);
  set(UnaryOp::Abs, abs_row);
  set(UnaryOp::Erf, erf_row);
  set(UnaryOp::Reciprocal, reciprocal);
  set(UnaryOp::Floor, floor_row);
  set(UnaryOp::Ceil, ceil_row);
  set(UnaryOp::SiLU, silu);
  t.affine_f32 = affine;
  t.affine_f32_isa = "scalar";
}

}  // namespace pocket::kernels
