// AVX2 row kernels: 32 elements per step, bitwise equal to the scalar references (the same
// division, clamps that map NaN to the lower bound like the scalar helper, vcvtps2dq rounding to
// nearest even in the default MXCSR mode).
#include <immintrin.h>

#include "kernels/quant/quant_ops_impl.h"

namespace pocket::kernels::quant_detail {

namespace {

struct QuantizeConsts {
  __m256 scale, lo, hi;
  __m256i zp;
  explicit QuantizeConsts(QParams p)
      : scale(_mm256_set1_ps(p.scale)),
        lo(_mm256_set1_ps(static_cast<float>(-128 - p.zero_point))),
        hi(_mm256_set1_ps(static_cast<float>(127 - p.zero_point))),
        zp(_mm256_set1_epi32(p.zero_point)) {}
};

// v already divided by the scale: clamp, round, add the zero point (int32 lanes).
inline __m256i round_add_zp(__m256 v, const QuantizeConsts& k) {
  v = _mm256_min_ps(_mm256_max_ps(v, k.lo), k.hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), k.zp);
}

// Four vectors of 8 int32 (values in [-128, 127]) to 32 int8 in order.
inline __m256i pack4(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b);  // a0-3 b0-3 | a4-7 b4-7
  const __m256i cd = _mm256_packs_epi32(c, d);
  const __m256i abcd = _mm256_packs_epi16(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
  return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline __m256 widen(const int8_t* x, __m256i zp) {
  const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x)));
  return _mm256_cvtepi32_ps(_mm256_sub_epi32(q, zp));
}

}  // namespace

void quantize_f32_s8_avx2(const float* x, int64_t n, QParams p, int8_t* y) {
  const QuantizeConsts k(p);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i a = round_add_zp(_mm256_div_ps(_mm256_loadu_ps(x + i), k.scale), k);
    const __m256i b = round_add_zp(_mm256_div_ps(_mm256_loadu_ps(x + i + 8), k.scale), k);
    const __m256i c = round_add_zp(_mm256_div_ps(_mm256_loadu_ps(x + i + 16), k.scale), k);
    const __m256i d = round_add_zp(_mm256_div_ps(_mm256_loadu_ps(x + i + 24), k.scale), k);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), pack4(a, b, c, d));
  }
  for (; i + 8 <= n; i += 8) {
    const __m256i a = round_add_zp(_mm256_div_ps(_mm256_loadu_ps(x + i), k.scale), k);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), _mm_packs_epi16(w, w));
  }
  for (; i < n; ++i) y[i] = quantize_value(x[i] / p.scale, p.zero_point);
}

void dequantize_s8_f32_avx2(const int8_t* x, int64_t n, QParams p, float* y) {
  const __m256 scale = _mm256_set1_ps(p.scale);
  const __m256i zp = _mm256_set1_epi32(p.zero_point);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    _mm256_storeu_ps(y + i, _mm256_mul_ps(scale, widen(x + i, zp)));
    _mm256_storeu_ps(y + i + 8, _mm256_mul_ps(scale, widen(x + i + 8, zp)));
    _mm256_storeu_ps(y + i + 16, _mm256_mul_ps(scale, widen(x + i + 16, zp)));
    _mm256_storeu_ps(y + i + 24, _mm256_mul_ps(scale, widen(x + i + 24, zp)));
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(scale, widen(x + i, zp)));
  for (; i < n; ++i) y[i] = p.scale * static_cast<float>(static_cast<int32_t>(x[i]) - p.zero_point);
}

QParams quantize_row_dynamic_f32_s8_avx2(const float* x, int64_t n, int8_t* y) {
  // min / max over the row start from 0 (the range always holds 0); four accumulators each.
  __m256 lo0 = _mm256_setzero_ps(), lo1 = lo0, lo2 = lo0, lo3 = lo0;
  __m256 hi0 = lo0, hi1 = lo0, hi2 = lo0, hi3 = lo0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    const __m256 c = _mm256_loadu_ps(x + i + 16), d = _mm256_loadu_ps(x + i + 24);
    lo0 = _mm256_min_ps(a, lo0), hi0 = _mm256_max_ps(a, hi0);
    lo1 = _mm256_min_ps(b, lo1), hi1 = _mm256_max_ps(b, hi1);
    lo2 = _mm256_min_ps(c, lo2), hi2 = _mm256_max_ps(c, hi2);
    lo3 = _mm256_min_ps(d, lo3), hi3 = _mm256_max_ps(d, hi3);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 a = _mm256_loadu_ps(x + i);
    lo0 = _mm256_min_ps(a, lo0), hi0 = _mm256_max_ps(a, hi0);
  }
  lo0 = _mm256_min_ps(_mm256_min_ps(lo0, lo1), _mm256_min_ps(lo2, lo3));
  hi0 = _mm256_max_ps(_mm256_max_ps(hi0, hi1), _mm256_max_ps(hi2, hi3));
  __m128 l = _mm_min_ps(_mm256_castps256_ps128(lo0), _mm256_extractf128_ps(lo0, 1));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(hi0), _mm256_extractf128_ps(hi0, 1));
  l = _mm_min_ps(l, _mm_movehl_ps(l, l));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  l = _mm_min_ss(l, _mm_movehdup_ps(l));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  float lo = _mm_cvtss_f32(l), hi = _mm_cvtss_f32(h);
  for (; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  const QParams p = dynamic_params(lo, hi);
  quantize_f32_s8_avx2(x, n, p, y);
  return p;
}

void requantize_s8_avx2(const int8_t* x, QParams px, int64_t n, int8_t* y, QParams py) {
  const QuantizeConsts k(py);
  const __m256 sx = _mm256_set1_ps(px.scale);
  const __m256i zx = _mm256_set1_epi32(px.zero_point);
  auto one = [&](const int8_t* s) { return round_add_zp(_mm256_div_ps(_mm256_mul_ps(widen(s, zx), sx), k.scale), k); };
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), pack4(one(x + i), one(x + i + 8), one(x + i + 16), one(x + i + 24)));
  }
  for (; i < n; ++i) {
    const float v = static_cast<float>(static_cast<int32_t>(x[i]) - px.zero_point) * px.scale / py.scale;
    y[i] = quantize_value(v, py.zero_point);
  }
}

}  // namespace pocket::kernels::quant_detail
