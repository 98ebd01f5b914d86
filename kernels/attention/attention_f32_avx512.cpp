// AVX-512 attention pieces: keys packed in 32-wide panels (8x8 transposes), a 6x32 score
// micro-kernel, a 16-lane online-softmax step with mask registers for tails, and a 6x32 P.V
// micro-kernel. Same structure as the AVX2 file. Not run on a machine without AVX-512.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/attention/attention_f32.h"

namespace pocket::kernels {

namespace {

constexpr int64_t kMr = 6;
constexpr int64_t kNr = 32;

// e^x with the same range reduction and polynomial as math_f32_avx2.h's exp_ps.
inline __m512 exp512(__m512 x) {
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
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), y, _mm512_setzero_ps());
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), y, _mm512_set1_ps(__builtin_inff()));
  return y;
}

inline __mmask16 lanes_below(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << std::max<int64_t>(n, 0)) - 1u);
}

inline void transpose8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5, __m256& r6,
                       __m256& r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
  r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
  r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
  r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
  r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
}

void pack8(const float* const* src, int64_t d, float* dst) {
  alignas(32) static const float kZeros[8] = {};
  int64_t c = 0;
  for (; c + 8 <= d; c += 8) {
    auto row = [&](int i) { return src[i] ? _mm256_loadu_ps(src[i] + c) : _mm256_load_ps(kZeros); };
    __m256 r[8] = {row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7)};
    transpose8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (c + i) * kNr, r[i]);
  }
  for (; c < d; ++c)
    for (int i = 0; i < 8; ++i) dst[c * kNr + i] = src[i] ? src[i][c] : 0.f;
}

void pack_k_avx512(const float* k, int64_t k_stride, int64_t nk, int64_t d, float* packed) {
  const int64_t panels = (nk + kNr - 1) / kNr;
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t part = 0; part < kNr / 8; ++part) {
      const float* src[8];
      for (int i = 0; i < 8; ++i) {
        const int64_t j = p * kNr + part * 8 + i;
        src[i] = j < nk ? k + j * k_stride : nullptr;
      }
      pack8(src, d, packed + p * d * kNr + part * 8);
    }
}

// ROWS x 32 scores of one panel. One or two rows add a second accumulator chain over c.
template <int ROWS>
inline void scores_block(const float* q, int64_t q_stride, const float* b, int64_t d, float* s, int64_t ld_s) {
  constexpr bool kTwoChains = ROWS <= 2;
  __m512 lo[ROWS], hi[ROWS], lo2[ROWS], hi2[ROWS];
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r) lo[r] = hi[r] = lo2[r] = hi2[r] = _mm512_setzero_ps();
  int64_t c = 0;
  if constexpr (kTwoChains) {
    for (; c + 2 <= d; c += 2) {
      const __m512 b0 = _mm512_loadu_ps(b + c * kNr), b1 = _mm512_loadu_ps(b + c * kNr + 16);
      const __m512 b2 = _mm512_loadu_ps(b + c * kNr + 32), b3 = _mm512_loadu_ps(b + c * kNr + 48);
#pragma GCC unroll 2
      for (int r = 0; r < ROWS; ++r) {
        const __m512 a0 = _mm512_set1_ps(q[r * q_stride + c]), a1 = _mm512_set1_ps(q[r * q_stride + c + 1]);
        lo[r] = _mm512_fmadd_ps(a0, b0, lo[r]);
        hi[r] = _mm512_fmadd_ps(a0, b1, hi[r]);
        lo2[r] = _mm512_fmadd_ps(a1, b2, lo2[r]);
        hi2[r] = _mm512_fmadd_ps(a1, b3, hi2[r]);
      }
    }
  }
  for (; c < d; ++c) {
    const __m512 b0 = _mm512_loadu_ps(b + c * kNr), b1 = _mm512_loadu_ps(b + c * kNr + 16);
#pragma GCC unroll 6
    for (int r = 0; r < ROWS; ++r) {
      const __m512 a = _mm512_set1_ps(q[r * q_stride + c]);
      lo[r] = _mm512_fmadd_ps(a, b0, lo[r]);
      hi[r] = _mm512_fmadd_ps(a, b1, hi[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r) {
    if constexpr (kTwoChains) {
      lo[r] = _mm512_add_ps(lo[r], lo2[r]);
      hi[r] = _mm512_add_ps(hi[r], hi2[r]);
    }
    _mm512_storeu_ps(s + r * ld_s, lo[r]);
    _mm512_storeu_ps(s + r * ld_s + 16, hi[r]);
  }
}

template <int ROWS>
void scores_rows(const float* q, int64_t q_stride, const float* packed, int64_t panels, int64_t d, float* s,
                 int64_t ld_s) {
  for (int64_t p = 0; p < panels; ++p) scores_block<ROWS>(q, q_stride, packed + p * d * kNr, d, s + p * kNr, ld_s);
}

void scores_avx512(const float* q, int64_t q_stride, int64_t rows, const float* packed, int64_t nk, int64_t d,
                   float* s, int64_t ld_s) {
  const int64_t panels = (nk + kNr - 1) / kNr;
  int64_t r = 0;
  for (; r + kMr <= rows; r += kMr) scores_rows<6>(q + r * q_stride, q_stride, packed, panels, d, s + r * ld_s, ld_s);
  const float* qr = q + r * q_stride;
  float* sr = s + r * ld_s;
  switch (rows - r) {
    case 5: scores_rows<5>(qr, q_stride, packed, panels, d, sr, ld_s); break;
    case 4: scores_rows<4>(qr, q_stride, packed, panels, d, sr, ld_s); break;
    case 3: scores_rows<3>(qr, q_stride, packed, panels, d, sr, ld_s); break;
    case 2: scores_rows<2>(qr, q_stride, packed, panels, d, sr, ld_s); break;
    case 1: scores_rows<1>(qr, q_stride, packed, panels, d, sr, ld_s); break;
    default: break;
  }
}

float softmax_step_avx512(float* s, int64_t nk, int64_t n_valid, float scale, const AttentionRowMask& mask, float* m,
                          float* l) {
  const float ninf = -std::numeric_limits<float>::infinity();
  const __m512 vninf = _mm512_set1_ps(ninf), vscale = _mm512_set1_ps(scale), vfill = _mm512_set1_ps(mask.fill);
  const int64_t valid = std::min(n_valid, nk);
  bool row_masked = false;
  float row_add = 0.f;
  if (mask.kind != AttentionMask::None && mask.stride == 0) {
    if (mask.kind == AttentionMask::Bool) row_masked = *static_cast<const uint8_t*>(mask.ptr) != 0;
    else row_add = *static_cast<const float*>(mask.ptr);
  }
  __m512 vmax = vninf;
  for (int64_t j = 0; j < nk; j += 16) {
    const __mmask16 in = lanes_below(nk - j);
    __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(in, s + j), vscale);
    if (mask.kind == AttentionMask::Bool) {
      if (mask.stride == 0) {
        if (row_masked) x = vfill;
      } else {
        const __m128i bytes = _mm_maskz_loadu_epi8(in, static_cast<const uint8_t*>(mask.ptr) + j);
        x = _mm512_mask_blend_ps(_mm512_test_epi32_mask(_mm512_cvtepu8_epi32(bytes), _mm512_set1_epi32(0xFF)), x,
                                 vfill);
      }
    } else if (mask.kind == AttentionMask::Additive) {
      x = _mm512_add_ps(x, mask.stride == 0 ? _mm512_set1_ps(row_add)
                                            : _mm512_maskz_loadu_ps(in, static_cast<const float*>(mask.ptr) + j));
    }
    x = _mm512_mask_blend_ps(lanes_below(valid - j), vninf, x);
    _mm512_mask_storeu_ps(s + j, in, x);
    vmax = _mm512_max_ps(vmax, x);
  }
  const float m_new = std::max(*m, _mm512_reduce_max_ps(vmax));
  if (m_new == ninf) {
    std::fill(s, s + nk, 0.f);
    return 1.f;
  }
  const float alpha = *m == ninf ? 0.f : std::exp(*m - m_new);
  const __m512 vm = _mm512_set1_ps(m_new);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < nk; j += 16) {
    const __mmask16 in = lanes_below(nk - j);
    const __m512 e = _mm512_maskz_mov_ps(in, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(in, s + j), vm)));
    _mm512_mask_storeu_ps(s + j, in, e);
    sum = _mm512_add_ps(sum, e);
  }
  *l = *l * alpha + _mm512_reduce_add_ps(sum);
  *m = m_new;
  return alpha;
}

// acc (ROWS x NV*16 columns) = alpha * acc + P . V; `last` masks V's last vector. One or two rows
// add a second accumulator chain over j.
template <int ROWS, int NV>
inline void pv_block(const float* p, int64_t ld_p, int64_t nk, const float* v, int64_t v_stride, const float* alpha,
                     float* acc, int64_t ld_acc, __mmask16 last) {
  constexpr bool kTwoChains = ROWS <= 2;
  __m512 a[ROWS][NV], a2[ROWS][NV];
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r) {
    const __m512 al = _mm512_set1_ps(alpha[r]);
#pragma GCC unroll 2
    for (int x = 0; x < NV; ++x) {
      a[r][x] = _mm512_mul_ps(_mm512_loadu_ps(acc + r * ld_acc + x * 16), al);
      a2[r][x] = _mm512_setzero_ps();
    }
  }
  auto load_v = [&](int64_t j, int x) {
    return x == NV - 1 ? _mm512_maskz_loadu_ps(last, v + j * v_stride + x * 16) : _mm512_loadu_ps(v + j * v_stride + x * 16);
  };
  int64_t j = 0;
  if constexpr (kTwoChains) {
    for (; j + 2 <= nk; j += 2) {
      __m512 v0[NV], v1[NV];
#pragma GCC unroll 2
      for (int x = 0; x < NV; ++x) v0[x] = load_v(j, x), v1[x] = load_v(j + 1, x);
#pragma GCC unroll 2
      for (int r = 0; r < ROWS; ++r) {
        const __m512 w0 = _mm512_set1_ps(p[r * ld_p + j]), w1 = _mm512_set1_ps(p[r * ld_p + j + 1]);
#pragma GCC unroll 2
        for (int x = 0; x < NV; ++x) {
          a[r][x] = _mm512_fmadd_ps(w0, v0[x], a[r][x]);
          a2[r][x] = _mm512_fmadd_ps(w1, v1[x], a2[r][x]);
        }
      }
    }
  }
  for (; j < nk; ++j) {
    __m512 vv[NV];
#pragma GCC unroll 2
    for (int x = 0; x < NV; ++x) vv[x] = load_v(j, x);
#pragma GCC unroll 6
    for (int r = 0; r < ROWS; ++r) {
      const __m512 w = _mm512_set1_ps(p[r * ld_p + j]);
#pragma GCC unroll 2
      for (int x = 0; x < NV; ++x) a[r][x] = _mm512_fmadd_ps(w, vv[x], a[r][x]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 2
    for (int x = 0; x < NV; ++x) {
      __m512 t = a[r][x];
      if constexpr (kTwoChains) t = _mm512_add_ps(t, a2[r][x]);
      _mm512_storeu_ps(acc + r * ld_acc + x * 16, t);
    }
}

template <int ROWS>
void pv_rows(const float* p, int64_t ld_p, int64_t nk, const float* v, int64_t v_stride, int64_t dv,
             const float* alpha, float* acc, int64_t ld_acc) {
  int64_t c = 0;
  for (; c + 32 <= dv; c += 32)
    pv_block<ROWS, 2>(p, ld_p, nk, v + c, v_stride, alpha, acc + c, ld_acc, static_cast<__mmask16>(0xFFFF));
  for (; c < dv; c += 16)
    pv_block<ROWS, 1>(p, ld_p, nk, v + c, v_stride, alpha, acc + c, ld_acc, lanes_below(dv - c));
}

void pv_avx512(const float* p, int64_t ld_p, int64_t rows, int64_t nk, const float* v, int64_t v_stride, int64_t dv,
               const float* alpha, float* acc, int64_t ld_acc) {
  int64_t r = 0;
  for (; r + kMr <= rows; r += kMr)
    pv_rows<6>(p + r * ld_p, ld_p, nk, v, v_stride, dv, alpha + r, acc + r * ld_acc, ld_acc);
  const float* pr = p + r * ld_p;
  float* ar = acc + r * ld_acc;
  switch (rows - r) {
    case 5: pv_rows<5>(pr, ld_p, nk, v, v_stride, dv, alpha + r, ar, ld_acc); break;
    case 4: pv_rows<4>(pr, ld_p, nk, v, v_stride, dv, alpha + r, ar, ld_acc); break;
    case 3: pv_rows<3>(pr, ld_p, nk, v, v_stride, dv, alpha + r, ar, ld_acc); break;
    case 2: pv_rows<2>(pr, ld_p, nk, v, v_stride, dv, alpha + r, ar, ld_acc); break;
    case 1: pv_rows<1>(pr, ld_p, nk, v, v_stride, dv, alpha + r, ar, ld_acc); break;
    default: break;
  }
}

}  // namespace

AttentionF32Kernel attention_f32_avx512() {
  return {"avx512", kMr, kNr, &pack_k_avx512, &scores_avx512, &softmax_step_avx512, &pv_avx512};
}

}  // namespace pocket::kernels
