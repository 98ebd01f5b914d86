// AVX-512 unary kernels: the activations that dominate networks (Relu, LeakyRelu, Clip,
// HardSigmoid, HardSwish, Sigmoid, SiLU, Tanh, Exp, Erf) and the affine row. Same polynomials as
// the AVX2 file, sixteen lanes, masked tails. The rest comes from the AVX2 table.
// GCC 12 warns falsely inside its own AVX-512 intrinsics (an "undefined" register source).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "kernels/elementwise/elementwise.h"

namespace pocket::kernels {

namespace {

inline __m512 exp_ps(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-104.0f), hi = _mm512_set1_ps(88.72283935546875f);
  const __m512 xc = _mm512_min_ps(hi, _mm512_max_ps(lo, x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.f / 720.f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  const __m512i ni = _mm512_cvtps_epi32(n);
  const __m512i n1 = _mm512_srai_epi32(ni, 1);
  const __m512i n2 = _mm512_sub_epi32(ni, n1);
  const __m512i bias = _mm512_set1_epi32(127);
  const __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, bias), 23));
  const __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, bias), 23));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
  y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), _mm512_setzero_ps());
  y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), _mm512_set1_ps(__builtin_inff()));
  return y;
}

inline __m512 abs_ps(__m512 x) { return _mm512_abs_ps(x); }
inline __m512 sign_of(__m512 x) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(int(0x80000000u))));
}
inline __m512 or_ps(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

inline __m512 sigmoid_ps(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

inline __m512 tanh_ps(__m512 x) {
  const __m512 sign = sign_of(x);
  const __m512 ax = abs_ps(x);
  const __m512 one = _mm512_set1_ps(1.f);
  const __m512 e = exp_ps(_mm512_add_ps(ax, ax));
  const __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.f), _mm512_add_ps(e, one)));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(62.f / 2835.f);
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-17.f / 315.f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.f / 15.f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-1.f / 3.f));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, x2), ax, ax);
  const __m512 r = _mm512_mask_mov_ps(big, _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.25f), _CMP_LT_OQ), small);
  return or_ps(r, sign);
}

inline __m512 erf_ps(__m512 x) {
  const __m512 sign = sign_of(x);
  const __m512 ax = abs_ps(x);
  const __m512 one = _mm512_set1_ps(1.f);
  const __m512 x2 = _mm512_mul_ps(x, x);
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, one));
  __m512 q = _mm512_set1_ps(1.061405429f);
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-1.453152027f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(1.421413741f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-0.284496736f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(0.254829592f));
  q = _mm512_mul_ps(q, t);
  const __m512 big = _mm512_fnmadd_ps(q, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), x2)), one);
  __m512 p = _mm512_set1_ps(-1.f / 1320.f);
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(1.f / 216.f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-1.f / 42.f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(1.f / 10.f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-1.f / 3.f));
  p = _mm512_fmadd_ps(p, x2, one);
  const __m512 small = _mm512_mul_ps(_mm512_mul_ps(p, ax), _mm512_set1_ps(1.12837916709551257f));
  const __m512 r = _mm512_mask_mov_ps(big, _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.5f), _CMP_LT_OQ), small);
  return or_ps(r, sign);
}

template <class F>
inline void map_ps(const float* x, float* y, size_t n, F f) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, m, f(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

void relu(const float* x, float* y, size_t n, const UnaryParams&) {
  const __m512 zero = _mm512_setzero_ps();
  map_ps(x, y, n, [zero](__m512 v) { return _mm512_max_ps(v, zero); });
}
void leaky_relu(const float* x, float* y, size_t n, const UnaryParams& p) {
  const __m512 a = _mm512_set1_ps(p.alpha), zero = _mm512_setzero_ps();
  map_ps(x, y, n, [=](__m512 v) {
    return _mm512_mask_mov_ps(_mm512_mul_ps(a, v), _mm512_cmp_ps_mask(v, zero, _CMP_GE_OQ), v);
  });
}
void hard_sigmoid(const float* x, float* y, size_t n, const UnaryParams& p) {
  const __m512 a = _mm512_set1_ps(p.alpha), b = _mm512_set1_ps(p.beta);
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.f);
  map_ps(x, y, n, [=](__m512 v) { return _mm512_min_ps(one, _mm512_max_ps(zero, _mm512_fmadd_ps(a, v, b))); });
}
void hard_swish(const float* x, float* y, size_t n, const UnaryParams&) {
  const __m512 sixth = _mm512_set1_ps(1.f / 6.f), half = _mm512_set1_ps(0.5f);
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.f);
  map_ps(x, y, n, [=](__m512 v) {
    return _mm512_mul_ps(v, _mm512_min_ps(one, _mm512_max_ps(zero, _mm512_fmadd_ps(v, sixth, half))));
  });
}
void clip(const float* x, float* y, size_t n, const UnaryParams& p) {
  const __m512 lo = _mm512_set1_ps(p.alpha), hi = _mm512_set1_ps(p.beta);
  map_ps(x, y, n, [=](__m512 v) { return _mm512_min_ps(hi, _mm512_max_ps(lo, v)); });
}
void sigmoid(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, sigmoid_ps); }
void silu(const float* x, float* y, size_t n, const UnaryParams&) {
  map_ps(x, y, n, [](__m512 v) { return _mm512_mul_ps(v, sigmoid_ps(v)); });
}
void tanh_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, tanh_ps); }
void exp_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, exp_ps); }
void erf_row(const float* x, float* y, size_t n, const UnaryParams&) { map_ps(x, y, n, erf_ps); }
void affine(const float* x, float* y, size_t n, float scale, float shift) {
  const __m512 a = _mm512_set1_ps(scale), b = _mm512_set1_ps(shift);
  map_ps(x, y, n, [=](__m512 v) { return _mm512_fmadd_ps(v, a, b); });
}

}  // namespace

void fill_unary_f32_avx512(ElementwiseKernels& t) {
  auto set = [&t](UnaryOp op, UnaryF32Fn f) {
    t.unary_f32[static_cast<int>(op)] = f;
    t.unary_f32_isa[static_cast<int>(op)] = "avx512";
  };
  set(UnaryOp::Relu, relu);
  set(UnaryOp::LeakyRelu, leaky_relu);
  set(UnaryOp::HardSigmoid, hard_sigmoid);
  set(UnaryOp::HardSwish, hard_swish);
  set(UnaryOp::Clip, clip);
  set(UnaryOp::Sigmoid, sigmoid);
  set(UnaryOp::SiLU, silu);
  set(UnaryOp::Tanh, tanh_row);
  set(UnaryOp::Exp, exp_row);
  set(UnaryOp::Erf, erf_row);
  t.affine_f32 = affine;
  t.affine_f32_isa = "avx512";
}

}  // namespace pocket::kernels
