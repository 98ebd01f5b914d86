// AVX2+FMA unary kernels. Ops not here (Log, Softplus) stay on the scalar reference.
#include <immintrin.h>

#include "kernels/elementwise/elementwise.h"
#include "kernels/elementwise/math_f32_avx2.h"

namespace pocket::kernels {

namespace {

using namespace avx2;

void relu(const float* x, float* y, size_t n, const UnaryParams&) {
  const __m256 zero = _mm256_setzero_ps();
  map_ps(x, y, n, [zero](__m256 v) { return _mm256_max_ps(v, zero); });
}
void leaky_relu(const float* x, float* y, size_t n, const UnaryParams& p) {
  const __m256 a = _mm256_set1_ps(p.alpha), zero = _mm256_setzero_ps();
  map_ps(x, y, n, [=](__m256 v) {
    return _mm256_blendv_ps(_mm256_mul_ps(a, v), v, _mm256_cmp_ps(v, zero, _CMP_GE_OQ));
  });
}
void elu(const float* x, float* y, size_t n, const UnaryParams& p) {
  const __m256 a = _mm256_set1_ps(p.alpha), zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
  map_ps(x, y, n, [=](__m256 v) {
    const __m256 neg = _mm256_mul_ps(a, _mm256_sub_ps(exp_ps(_mm256_min_ps(v, zero)), one));
    return _mm256_blendv_ps(neg, v, _mm256_cmp_ps(v, zero, _CMP_GE_OQ));
  });
}
void selu(const float* x, float* y, size_t n, const UnaryParams& p) {
  const __m256 ga = _mm256_set1_ps(p.alpha * p.beta), g = _mm256_set1_ps(p.beta);
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
  map_ps(x, y, n, [=](__m256 v) {
    const __m256 neg = _mm256_mul_ps(ga, _mm256_sub_ps(exp_ps(_mm256_min_ps(v, zero)), one));
    return _mm256_blendv_ps(neg, _mm256_mul_ps(g, v), _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
  });
}
void sigmoid(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, sigmoid_ps); }
void hard_sigmoid(const float* x, float* y, size_t n, const UnaryParams& p) {
  const __m256 a = _mm256_set1_ps(p.alpha), b = _mm256_set1_ps(p.beta);
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
  map_ps(x, y, n, [=](__m256 v) { return _mm256_min_ps(one, _mm256_max_ps(zero, _mm256_fmadd_ps(a, v, b))); });
}
void hard_swish(const float* x, float* y, size_t n, const UnaryParams&) {
  const __m256 sixth = _mm256_set1_ps(1.f / 6.f), half = _mm256_set1_ps(0.5f);
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
  map_ps(x, y, n, [=](__m256 v) {
    return _mm256_mul_ps(v, _mm256_min_ps(one, _mm256_max_ps(zero, _mm256_fmadd_ps(v, sixth, half))));
  });
}
void tanh_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, tanh_ps); }
void softsign(const float* x, float* y, size_t n, const UnaryParams&) {
  const __m256 one = _mm256_set1_ps(1.f);
  map_ps(x, y, n, [one](__m256 v) { return _mm256_div_ps(v, _mm256_add_ps(one, abs_ps(v))); });
}
void clip(const float* x, float* y, size_t n, const UnaryParams& p) {
  const __m256 lo = _mm256_set1_ps(p.alpha), hi = _mm256_set1_ps(p.beta);
  map_ps(x, y, n, [=](__m256 v) { return _mm256_min_ps(hi, _mm256_max_ps(lo, v)); });
}
void exp_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, exp_ps); }
void sqrt_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, _mm256_sqrt_ps); }
void neg(const float* x, float* y, size_t n, const UnaryParams&) {
  const __m256 s = _mm256_set1_ps(-0.f);
  map_ps(x, y, n, [s](__m256 v) { return _mm256_xor_ps(v, s); });
}
void abs_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, abs_ps); }
void erf_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, erf_ps); }
void reciprocal(const float* x, float* y, size_t n, const UnaryParams&) {
  const __m256 one = _mm256_set1_ps(1.f);
  map_ps(x, y, n, [one](__m256 v) { return _mm256_div_ps(one, v); });
}
void floor_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map_ps(x, y, n, [](__m256 v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); });
}
void ceil_row(const float* x, float* y, size_t n, const UnaryParams&) {
  map_ps(x, y, n, [](__m256 v) { return _mm256_round_ps(v, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC); });
}
void silu(const float* x, float* y, size_t n, const UnaryParams&) {
  map_ps(x, y, n, [](__m256 v) { return _mm256_mul_ps(v, sigmoid_ps(v)); });
}
void affine(const float* x, float* y, size_t n, float scale, float shift) {
  const __m256 a = _mm256_set1_ps(scale), b = _mm256_set1_ps(shift);
  map_ps(x, y, n, [=](__m256 v) { return _mm256_fmadd_ps(v, a, b); });
}

}  // namespace

void fill_unary_f32_avx2(ElementwiseKernels& t) {
  auto set = [&t](UnaryOp op, UnaryF32Fn f) {
    t.unary_f32[static_cast<int>(op)] = f;
    t.unary_f32_isa[static_cast<int>(op)] = "avx2";
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
  t.affine_f32_isa = "avx2";
}

}  // namespace pocket::kernels
