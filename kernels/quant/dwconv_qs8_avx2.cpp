// AVX2 depthwise int8 convolution: 16 channels per step. Taps go in pairs: the two taps' inputs
// (int16) interleave per channel and vpmaddwd multiplies them with the interleaved weight pair,
// giving x0*w0 + x1*w1 in int32 per channel (exact: |x*w| <= 2^14). The input zero point is not
// subtracted per tap: out-of-image taps read a row of zero points instead, and the constant
// zx * sum(w) comes off once per output. The epilogue runs on 16 channels in registers.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/activation/activation_f32.h"
#include "kernels/activation/gelu_f32.h"
#include "kernels/quant/quant_ops_impl.h"

namespace pocket::kernels::quant_detail {

namespace {

constexpr int64_t kMaxTaps = 126;  // larger kernels (odd sizes beyond 11x11) run the scalar rows

// One 16-channel block's constants: weight pairs in vpunpck{l,h}wd order (the low result holds
// channels 0-3 and 8-11, the high one 4-7 and 12-15), zx * sum(w) in the same order, the
// combined scale and the bias.
struct Block {
  __m256i w[kMaxTaps / 2 + 1][2];
  __m256i corr_lo, corr_hi;
  __m256 scale0, scale1, bias0, bias1;
};

inline __m256i widen16(const int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline __m256i widen_part(const int8_t* p, int64_t n) {
  alignas(16) int8_t t[16] = {};
  std::memcpy(t, p, static_cast<size_t>(n));
  return widen16(t);
}

void build_block(const DwConvQs8Args& a, int64_t c0, int64_t n, int64_t taps, Block* b) {
  const int64_t C = a.c;
  __m256i corr_lo = _mm256_setzero_si256(), corr_hi = corr_lo;
  const __m256i zx = _mm256_set1_epi16(static_cast<int16_t>(a.x_zero_point));
  for (int64_t t = 0; t < taps; t += 2) {
    const __m256i w0 = n == 16 ? widen16(a.weights + t * C + c0) : widen_part(a.weights + t * C + c0, n);
    const __m256i w1 = t + 1 >= taps ? _mm256_setzero_si256()
                       : n == 16     ? widen16(a.weights + (t + 1) * C + c0)
                                     : widen_part(a.weights + (t + 1) * C + c0, n);
    const __m256i lo = _mm256_unpacklo_epi16(w0, w1), hi = _mm256_unpackhi_epi16(w0, w1);
    b->w[t / 2][0] = lo;
    b->w[t / 2][1] = hi;
    corr_lo = _mm256_add_epi32(corr_lo, _mm256_madd_epi16(lo, zx));
    corr_hi = _mm256_add_epi32(corr_hi, _mm256_madd_epi16(hi, zx));
  }
  b->corr_lo = corr_lo;
  b->corr_hi = corr_hi;
  alignas(32) float s[16] = {}, bias[16] = {};
  const float as = a.ep.a_scale[0];
  for (int64_t j = 0; j < n; ++j) {
    s[j] = as * a.ep.b_scale[c0 + j];
    bias[j] = a.ep.bias ? a.ep.bias[c0 + j] : 0.f;
  }
  b->scale0 = _mm256_load_ps(s), b->scale1 = _mm256_load_ps(s + 8);
  b->bias0 = _mm256_load_ps(bias), b->bias1 = _mm256_load_ps(bias + 8);
}

// The epilogue's constants, loaded once per call (the stores to the output would otherwise make
// the compiler reload them from the arguments for every pixel).
struct Epi {
  ActivationF32Fn act_fn = nullptr;  // the kinds without an inline form
  GeluF32Fn gelu_fn = nullptr;
  ActivationParams act;
  QAct kind = QAct::None;
  __m256 alpha, beta, out_min, out_max, inv_out_scale, qlo, qhi, res_scale;
  __m256i out_zp, res_zp;
  bool has_residual = false, out_i8 = false;

  explicit Epi(const QGemmEpilogue& ep) {
    kind = ep.act;
    if (ep.act == QAct::Gelu || ep.act == QAct::GeluTanh) {
      gelu_fn = ep.act == QAct::GeluTanh ? gelu_f32_kernels().tanh_form : gelu_f32_kernels().erf_form;
    } else if (ep.act == QAct::Sigmoid || ep.act == QAct::SiLU || ep.act == QAct::Tanh) {
      act_fn = activation_f32_kernel().fn;
      act.kind = static_cast<Activation>(static_cast<int>(ep.act) + 2);  // QAct Sigmoid.. = Activation - 2
    }
    alpha = _mm256_set1_ps(ep.act_alpha), beta = _mm256_set1_ps(ep.act_beta);
    out_min = _mm256_set1_ps(ep.out_min), out_max = _mm256_set1_ps(ep.out_max);
    // Multiplying by the reciprocal instead of dividing: the int8 result can differ from the
    // scalar reference by one step, only where v / out_scale lies within float rounding of a tie.
    inv_out_scale = _mm256_set1_ps(1.f / ep.out_scale);
    qlo = _mm256_set1_ps(static_cast<float>(-128 - ep.out_zero_point));
    qhi = _mm256_set1_ps(static_cast<float>(127 - ep.out_zero_point));
    out_zp = _mm256_set1_epi32(ep.out_zero_point);
    res_scale = _mm256_set1_ps(ep.residual_scale);
    res_zp = _mm256_set1_epi32(ep.residual_zero_point);
    has_residual = ep.residual_f32 || ep.residual_i8;
    out_i8 = ep.out_i8;
  }
};

inline __m256 residual8(const QGemmEpilogue& ep, const Epi& e, int64_t off, int64_t n) {
  alignas(32) float t[8] = {};
  if (ep.residual_f32) {
    if (n == 8) return _mm256_loadu_ps(ep.residual_f32 + off);
    std::memcpy(t, ep.residual_f32 + off, static_cast<size_t>(n) * sizeof(float));
    return _mm256_load_ps(t);
  }
  __m256i q;
  if (n == 8) {
    q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(ep.residual_i8 + off)));
  } else {
    alignas(16) int8_t b[16] = {};
    std::memcpy(b, ep.residual_i8 + off, static_cast<size_t>(n));
    q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b)));
  }
  return _mm256_mul_ps(e.res_scale, _mm256_cvtepi32_ps(_mm256_sub_epi32(q, e.res_zp)));
}

inline __m256 activate(const Epi& e, __m256 v) {
  switch (e.kind) {
    case QAct::None:
      return v;
    case QAct::HardSigmoid: {
      const __m256 t = _mm256_add_ps(_mm256_mul_ps(e.alpha, v), e.beta);
      return _mm256_min_ps(_mm256_max_ps(t, _mm256_setzero_ps()), _mm256_set1_ps(1.f));
    }
    case QAct::HardSwish: {
      const __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, _mm256_set1_ps(3.f)), _mm256_setzero_ps()),
                                     _mm256_set1_ps(6.f));
      return _mm256_mul_ps(_mm256_mul_ps(v, t), _mm256_set1_ps(1.f / 6.f));
    }
    case QAct::LeakyRelu:
      return _mm256_blendv_ps(v, _mm256_mul_ps(v, e.alpha), _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ));
    default: {
      alignas(32) float t[8];
      _mm256_store_ps(t, v);
      if (e.gelu_fn) e.gelu_fn(t, t, 8);
      else e.act_fn(e.act, t, 8);
      return _mm256_load_ps(t);
    }
  }
}

// acc0 / acc1: channels c0..c0+7, c0+8..c0+15 of output pixel `pixel`; n of them are real.
inline void epilogue16(const DwConvQs8Args& a, const Block& b, const Epi& e, __m256i acc0, __m256i acc1,
                       int64_t pixel, int64_t c0, int64_t n) {
  __m256 v0 = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc0), b.scale0), b.bias0);
  __m256 v1 = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc1), b.scale1), b.bias1);
  if (e.has_residual) {
    const int64_t off = pixel * a.ep.ld_residual + c0;
    v0 = _mm256_add_ps(v0, residual8(a.ep, e, off, n >= 8 ? 8 : n));
    if (n > 8) v1 = _mm256_add_ps(v1, residual8(a.ep, e, off + 8, n - 8));
  }
  if (e.kind != QAct::None) {
    v0 = activate(e, v0);
    v1 = activate(e, v1);
  }
  v0 = _mm256_min_ps(_mm256_max_ps(v0, e.out_min), e.out_max);
  v1 = _mm256_min_ps(_mm256_max_ps(v1, e.out_min), e.out_max);
  const int64_t off = pixel * a.c + c0;
  if (!e.out_i8) {
    float* y = static_cast<float*>(a.out) + off;
    if (n == 16) {
      _mm256_storeu_ps(y, v0);
      _mm256_storeu_ps(y + 8, v1);
    } else {
      alignas(32) float t[16];
      _mm256_store_ps(t, v0);
      _mm256_store_ps(t + 8, v1);
      std::memcpy(y, t, static_cast<size_t>(n) * sizeof(float));
    }
    return;
  }
  const __m256 r0 = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v0, e.inv_out_scale), e.qlo), e.qhi);
  const __m256 r1 = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v1, e.inv_out_scale), e.qlo), e.qhi);
  const __m256i q0 = _mm256_add_epi32(_mm256_cvtps_epi32(r0), e.out_zp);
  const __m256i q1 = _mm256_add_epi32(_mm256_cvtps_epi32(r1), e.out_zp);
  const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);  // q0 0-7, q1 0-7 (int16)
  const __m128i bytes = _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
  int8_t* y = static_cast<int8_t*>(a.out) + off;
  if (n == 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), bytes);
  } else {
    alignas(16) int8_t t[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(t), bytes);
    std::memcpy(y, t, static_cast<size_t>(n));
  }
}

// The int32 sums of one output pixel: ptr[t] points at tap t's 16 input channels (the zero-point
// row for taps outside the image; ptr[taps] is that row too, the odd tap's partner). A partial
// block (n < 16) still loads 16 bytes where they lie inside the input (lanes past n meet zero
// weights), and copies only at the very end of the input.
template <bool kFull>
inline __m256i load_x(const int8_t* p, int64_t n, uintptr_t safe_end) {
  if (kFull || reinterpret_cast<uintptr_t>(p) + 16 <= safe_end) return widen16(p);
  return widen_part(p, n);
}

template <bool kFull>
inline void sums16(const Block& b, const int8_t* const* ptr, int64_t pairs, int64_t n, uintptr_t safe_end,
                   __m256i* acc0, __m256i* acc1) {
  __m256i lo = _mm256_setzero_si256(), hi = lo;
  for (int64_t p = 0; p < pairs; ++p) {
    const __m256i xa = load_x<kFull>(ptr[2 * p], n, safe_end);
    const __m256i xb = load_x<kFull>(ptr[2 * p + 1], n, safe_end);
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(xa, xb), b.w[p][0]));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(xa, xb), b.w[p][1]));
  }
  lo = _mm256_sub_epi32(lo, b.corr_lo);
  hi = _mm256_sub_epi32(hi, b.corr_hi);
  *acc0 = _mm256_permute2x128_si256(lo, hi, 0x20);
  *acc1 = _mm256_permute2x128_si256(lo, hi, 0x31);
}

}  // namespace

void dwconv_qs8_rows_avx2(const DwConvQs8Args& a, int64_t row0, int64_t rows) {
  const int64_t taps = a.kh * a.kw;
  if (taps > kMaxTaps) {
    dwconv_qs8_rows_scalar(a, row0, rows);
    return;
  }
  const int64_t C = a.c, pairs = (taps + 1) / 2;
  const Epi e(a.ep);
  // The zero-point row sits at the start of a 32-byte buffer so that 16-byte loads from it are
  // always in bounds.
  alignas(32) int8_t zbuf[32];
  std::memset(zbuf, static_cast<int8_t>(a.x_zero_point), sizeof(zbuf));
  const int8_t* zrow = zbuf;
  alignas(32) Block blk;
  const int8_t* ptr[kMaxTaps + 2];
  int64_t off[kMaxTaps];  // tap offsets from the window's corner, inside the image
  for (int64_t ky = 0; ky < a.kh; ++ky)
    for (int64_t kx = 0; kx < a.kw; ++kx) off[ky * a.kw + kx] = (ky * a.dilation_h * a.w + kx * a.dilation_w) * C;
  const int64_t span_h = (a.kh - 1) * a.dilation_h, span_w = (a.kw - 1) * a.dilation_w;
  // A last partial block moves back to end at C, overlapping the previous one (those channels are
  // computed and stored twice, with the same values), unless the residual is the output itself.
  const bool residual_in_place = (a.ep.residual_f32 && static_cast<const void*>(a.ep.residual_f32) == a.out) ||
                                 (a.ep.residual_i8 && static_cast<const void*>(a.ep.residual_i8) == a.out);
  const bool overlap_tail = C >= 16 && !residual_in_place;
  for (int64_t cb = 0; cb < C; cb += 16) {
    int64_t c0 = cb, n = std::min<int64_t>(16, C - cb);
    if (n < 16 && overlap_tail) c0 = C - 16, n = 16;
    // Partial blocks load 16 bytes directly while that stays inside the input.
    const uintptr_t safe_end = reinterpret_cast<uintptr_t>(a.x + a.n * a.h * a.w * C);
    build_block(a, c0, n, taps, &blk);
    for (int64_t row = row0; row < row0 + rows; ++row) {
      const int64_t b = row / a.oh, oy = row % a.oh;
      const int8_t* xb = a.x + b * a.h * a.w * C + c0;
      const int64_t iy0 = oy * a.stride_h - a.pad_top;
      const bool rows_in = iy0 >= 0 && iy0 + span_h < a.h;
      ptr[taps] = zrow;
      for (int64_t ox = 0; ox < a.ow; ++ox) {
        const int64_t ix0 = ox * a.stride_w - a.pad_left;
        if (rows_in && ix0 >= 0 && ix0 + span_w < a.w) {
          const int8_t* corner = xb + (iy0 * a.w + ix0) * C;
          for (int64_t t = 0; t < taps; ++t) ptr[t] = corner + off[t];
        } else {
          for (int64_t ky = 0; ky < a.kh; ++ky) {
            const int64_t iy = iy0 + ky * a.dilation_h;
            const bool row_in = iy >= 0 && iy < a.h;
            for (int64_t kx = 0; kx < a.kw; ++kx) {
              const int64_t ix = ix0 + kx * a.dilation_w;
              ptr[ky * a.kw + kx] = row_in && ix >= 0 && ix < a.w ? xb + (iy * a.w + ix) * C : zrow;
            }
          }
        }
        __m256i acc0, acc1;
        if (n == 16) sums16<true>(blk, ptr, pairs, n, safe_end, &acc0, &acc1);
        else sums16<false>(blk, ptr, pairs, n, safe_end, &acc0, &acc1);
        epilogue16(a, blk, e, acc0, acc1, row * a.ow + ox, c0, n);
      }
    }
  }
}

}  // namespace pocket::kernels::quant_detail
