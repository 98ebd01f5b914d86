// NEON unary kernels (AArch64). Ops not here (Log, Softplus) stay on the scalar reference.
#include <arm_neon.h>

#include "kernels/elementwise/elementwise.h"
#include "kernels/elementwise/math_f32_neon.h"

namespace pocket::kernels {

namespace {

using namespace neon;

void relu(const float* x, float* y, size_t n, const UnaryParams&) {
  const float32x4_t zero = vdupq_n_f32(0.f);
  map_ps(x, y, n, [zero](float32x4_t v) { return vbslq_f32(vcgtq_f32(v, zero), v, zero); });
}
void leaky_relu(const float* x, float* y, size_t n, const UnaryParams& p) {
  const float32x4_t a = vdupq_n_f32(p.alpha), zero = vdupq_n_f32(0.f);
  map_ps(x, y, n, [=](float32x4_t v) { return vbslq_f32(vcgeq_f32(v, zero), v, vmulq_f32(a, v)); });
}
void elu(const float* x, float* y, size_t n, const UnaryParams& p) {
  const float32x4_t a = vdupq_n_f32(p.alpha), zero = vdupq_n_f32(0.f), one = vdupq_n_f32(1.f);
  map_ps(x, y, n, [=](float32x4_t v) {
    const float32x4_t neg = vmulq_f32(a, vsubq_f32(exp_ps(vminq_f32(v, zero)), one));
    return vbslq_f32(vcgeq_f32(v, zero), v, neg);
  });
}
void selu(const float* x, float* y, size_t n, const UnaryParams& p) {
  const float32x4_t ga = vdupq_n_f32(p.alpha * p.beta), g = vdupq_n_f32(p.beta);
  const float32x4_t zero = vdupq_n_f32(0.f), one = vdupq_n_f32(1.f);
  map_ps(x, y, n, [=](float32x4_t v) {
    const float32x4_t neg = vmulq_f32(ga, vsubq_f32(exp_ps(vminq_f32(v, zero)), one));
    return vbslq_f32(vcgtq_f32(v, zero), vmulq_f32(g, v), neg);
  });
}
void sigmoid(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, sigmoid_ps); }
void hard_sigmoid(const float* x, float* y, size_t n, const UnaryParams& p) {
  const float32x4_t a = vdupq_n_f32(p.alpha), b = vdupq_n_f32(p.beta);
  const float32x4_t zero = vdupq_n_f32(0.f), one = vdupq_n_f32(1.f);
  map_ps(x, y, n, [=](float32x4_t v) { return vminq_f32(one, vmaxq_f32(zero, vfmaq_f32(b, a, v))); });
}
void hard_swish(const float* x, float* y, size_t n, const UnaryParams&) {
  const float32x4_t sixth = vdupq_n_f32(1.f / 6.f), half = vdupq_n_f32(0.5f);
  const float32x4_t zero = vdupq_n_f32(0.f), one = vdupq_n_f32(1.f);
  map_ps(x, y, n, [=](float32x4_t v) { return vmulq_f32(v, vminq_f32(one, vmaxq_f32(zero, vfmaq_f32(half, v, sixth)))); });
}
void tanh_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, tanh_ps); }
void softsign(const float* x, float* y, size_t n, const UnaryParams&) {
  const float32x4_t one = vdupq_n_f32(1.f);
  map_ps(x, y, n, [one](float32x4_t v) { return vdivq_f32(v, vaddq_f32(one, vabsq_f32(v))); });
}
void clip(const float* x, float* y, size_t n, const UnaryParams& p) {
  const float32x4_t lo = vdupq_n_f32(p.alpha), hi = vdupq_n_f32(p.beta);
  map_ps(x, y, n, [=](float32x4_t v) { return vminq_f32(hi, vmaxq_f32(lo, v)); });
}
void exp_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, exp_ps); }
void sqrt_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map_ps(x, y, n, [](float32x4_t v) { return vsqrtq_f32(v); });
}
void neg(const float* x, float* y, size_t n, const UnaryParams&) {
  map_ps(x, y, n, [](float32x4_t v) { return vnegq_f32(v); });
}
void abs_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map_ps(x, y, n, [](float32x4_t v) { return vabsq_f32(v); });
}
void erf_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, erf_ps); }
void reciprocal(const float* x, float* y, size_t n, const UnaryParams&) {
  const float32x4_t one = vdupq_n_f32(1.f);
  map_ps(x, y, n, [one](float32x4_t v) { return vdivq_f32(one, v); });
}
void floor_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map_ps(x, y, n, [](float32x4_t v) { return vrndmq_f32(v); });
}
void ceil_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map_ps(x, y, n, [](float32x4_t v) { return vrndpq_f32(v); });
}
void silu(const float* x, float* y, size_t n, const UnaryParams&) {
  map_ps(x, y, n, [](float32x4_t v) { return vmulq_f32(v, sigmoid_ps(v)); });
}
void affine(const float* x, float* y, size_t n, float scale, float shift) {
  const float32x4_t a = vdupq_n_f32(scale), b = vdupq_n_f32(shift);
  map_ps(x, y, n, [=](float32x4_t v) { return vfmaq_f32(b, v, a); });
}

}  // namespace

void fill_unary_f32_neon(ElementwiseKernels& t) {
  auto set = [&t](UnaryOp op, UnaryF32Fn f) {
    t.unary_f32[static_cast<int>(op)] = f;
    t.unary_f32_isa[static_cast<int>(op)] = "neon";
  };
  set(UnaryOp::Relu, relu);
  set(UnaryOp::LeakyRelu, leaky_relu);
  set(UnaryOp::Elu, elu);
  set(UnaryOp::Selu, selu);
  set(UnaryOp::Sigmoid, sigmoid);
  set(UnaryOp::HardSigmoid, hard_sigmoid);
  set(UnaryOp::HardSwish, hard_swish);
  set(UnaryOp::Tanh, tanh_row);
  set(UnaryOp::Softsign, softsign);
  set(UnaryOp::Clip, clip);
  set(UnaryOp::Exp, exp_row);
  set(UnaryOp::Sqrt, sqrt_row);
  set(UnaryOp::Neg, neg);
  set(UnaryOp::Abs, abs_row);
  set(UnaryOp::Erf, erf_row);
  set(UnaryOp::Reciprocal, reciprocal);
  set(UnaryOp::Floor, floor_row);
  set(UnaryOp::Ceil, ceil_row);
  set(UnaryOp::SiLU, silu);
  t.affine_f32 = affine;
  t.affine_f32_isa = "neon";
}

}  // namespace pocket::kernels
