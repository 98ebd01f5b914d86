// AVX2+FMA attention pieces: keys packed in 16-wide panels by 8x8 transposes, a 6x16 score
// micro-kernel (broadcast q, FMA over 16 keys), a vectorised online-softmax step and a 6x16 P.V
// micro-kernel over rows of V. One or two query rows (decode) split the reduction over two
// accumulator chains so the FMA latency does not bound them.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/attention/attention_f32.h"
#include "kernels/elementwise/math_f32_avx2.h"

namespace pocket::kernels {

namespace {

using namespace avx2;

constexpr int64_t kMr = 6;
constexpr int64_t kNr = 16;

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

// Eight keys (rows src[0..8), nullptr = zero key) into dst[c * kNr] for c < d.
void pack8(const float* const* src, int64_t d, float* dst) {
  alignas(32) static const float kZeros[8] = {};
  int64_t c = 0;
  for (; c + 8 <= d; c += 8) {
    auto row = [&](int i) { return src[i] ? _mm256_loadu_ps(src[i] + c) : _mm256_load_ps(kZeros); };
    __m256 r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5), r6 = row(6), r7 = row(7);
    transpose8(r0, r1, r2, r3, r4, r5, r6, r7);
    _mm256_storeu_ps(dst + (c + 0) * kNr, r0);
    _mm256_storeu_ps(dst + (c + 1) * kNr, r1);
    _mm256_storeu_ps(dst + (c + 2) * kNr, r2);
    _mm256_storeu_ps(dst + (c + 3) * kNr, r3);
    _mm256_storeu_ps(dst + (c + 4) * kNr, r4);
    _mm256_storeu_ps(dst + (c + 5) * kNr, r5);
    _mm256_storeu_ps(dst + (c + 6) * kNr, r6);
    _mm256_storeu_ps(dst + (c + 7) * kNr, r7);
  }
  for (; c < d; ++c)
    for (int i = 0; i < 8; ++i) dst[c * kNr + i] = src[i] ? src[i][c] : 0.f;
}

void pack_k_avx2(const float* k, int64_t k_stride, int64_t nk, int64_t d, float* packed) {
  const int64_t panels = (nk + kNr - 1) / kNr;
  for (int64_t p = 0; p < panels; ++p) {
    for (int64_t half = 0; half < 2; ++half) {
      const float* src[8];
      for (int i = 0; i < 8; ++i) {
        const int64_t j = p * kNr + half * 8 + i;
        src[i] = j < nk ? k + j * k_stride : nullptr;
      }
      pack8(src, d, packed + p * d * kNr + half * 8);
    }
  }
}

// ROWS x 16 scores of one panel. One or two rows add a second accumulator chain over c.
template <int ROWS>
inline void scores_block(const float* q, int64_t q_stride, const float* b, int64_t d, float* s, int64_t ld_s) {
  constexpr bool kTwoChains = ROWS <= 2;
  __m256 lo[ROWS], hi[ROWS], lo2[ROWS], hi2[ROWS];
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r) lo[r] = hi[r] = lo2[r] = hi2[r] = _mm256_setzero_ps();
  int64_t c = 0;
  if constexpr (kTwoChains) {
    for (; c + 2 <= d; c += 2) {
      const __m256 b0 = _mm256_loadu_ps(b + c * kNr), b1 = _mm256_loadu_ps(b + c * kNr + 8);
      const __m256 b2 = _mm256_loadu_ps(b + c * kNr + 16), b3 = _mm256_loadu_ps(b + c * kNr + 24);
#pragma GCC unroll 2
      for (int r = 0; r < ROWS; ++r) {
        const __m256 a0 = _mm256_broadcast_ss(q + r * q_stride + c);
        const __m256 a1 = _mm256_broadcast_ss(q + r * q_stride + c + 1);
        lo[r] = _mm256_fmadd_ps(a0, b0, lo[r]);
        hi[r] = _mm256_fmadd_ps(a0, b1, hi[r]);
        lo2[r] = _mm256_fmadd_ps(a1, b2, lo2[r]);
        hi2[r] = _mm256_fmadd_ps(a1, b3, hi2[r]);
      }
    }
  }
  for (; c < d; ++c) {
    const __m256 b0 = _mm256_loadu_ps(b + c * kNr), b1 = _mm256_loadu_ps(b + c * kNr + 8);
#pragma GCC unroll 6
    for (int r = 0; r < ROWS; ++r) {
      const __m256 a = _mm256_broadcast_ss(q + r * q_stride + c);
      lo[r] = _mm256_fmadd_ps(a, b0, lo[r]);
      hi[r] = _mm256_fmadd_ps(a, b1, hi[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r) {
    if constexpr (kTwoChains) {
      lo[r] = _mm256_add_ps(lo[r], lo2[r]);
      hi[r] = _mm256_add_ps(hi[r], hi2[r]);
    }
    _mm256_storeu_ps(s + r * ld_s, lo[r]);
    _mm256_storeu_ps(s + r * ld_s + 8, hi[r]);
  }
}

template <int ROWS>
void scores_rows(const float* q, int64_t q_stride, const float* packed, int64_t panels, int64_t d, float* s,
                 int64_t ld_s) {
  for (int64_t p = 0; p < panels; ++p) scores_block<ROWS>(q, q_stride, packed + p * d * kNr, d, s + p * kNr, ld_s);
}

void scores_avx2(const float* q, int64_t q_stride, int64_t rows, const float* packed, int64_t nk, int64_t d, float* s,
                 int64_t ld_s) {
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

// One or two query rows: four keys at a time straight from their rows, the four dot products
// reduced together by a horizontal-add tree.
void scores_direct_avx2(const float* q, int64_t q_stride, int64_t rows, const float* k, int64_t k_stride, int64_t nk,
                        int64_t d, float* s, int64_t ld_s) {
  const int64_t d8 = d / 8 * 8;
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(d - d8)),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int64_t r = 0; r < rows; ++r) {
    const float* qr = q + r * q_stride;
    float* sr = s + r * ld_s;
    int64_t j = 0;
    for (; j + 4 <= nk; j += 4) {
      const float* k0 = k + j * k_stride;
      const float* k1 = k0 + k_stride;
      const float* k2 = k1 + k_stride;
      const float* k3 = k2 + k_stride;
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t c = 0; c < d8; c += 8) {
        const __m256 qv = _mm256_loadu_ps(qr + c);
        a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + c), a0);
        a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + c), a1);
        a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + c), a2);
        a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + c), a3);
      }
      if (d8 < d) {
        const __m256 qv = _mm256_maskload_ps(qr + d8, tail);
        a0 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(k0 + d8, tail), a0);
        a1 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(k1 + d8, tail), a1);
        a2 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(k2 + d8, tail), a2);
        a3 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(k3 + d8, tail), a3);
      }
      const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
      _mm_storeu_ps(sr + j, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
    for (; j < nk; ++j) {
      const float* kj = k + j * k_stride;
      __m256 a = _mm256_setzero_ps();
      for (int64_t c = 0; c < d8; c += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(qr + c), _mm256_loadu_ps(kj + c), a);
      if (d8 < d) a = _mm256_fmadd_ps(_mm256_maskload_ps(qr + d8, tail), _mm256_maskload_ps(kj + d8, tail), a);
      sr[j] = hsum_ps(a);
    }
  }
}

// Masked (true) lanes of eight mask bytes.
inline __m256 bool_lanes(const uint8_t* m) {
  const __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(m)));
  return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(b, _mm256_setzero_si256()), _mm256_set1_epi32(-1)));
}

// The common unmasked row (whole vectors, scale > 0): max of the raw dots, then one exp pass of
// scale * s - m_new, without storing the scaled scores first.
float softmax_step_plain(float* s, int64_t nk, float scale, float* m, float* l) {
  const float ninf = -std::numeric_limits<float>::infinity();
  __m256 m0 = _mm256_set1_ps(ninf), m1 = m0;
  int64_t j = 0;
  for (; j + 16 <= nk; j += 16) {
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(s + j));
    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(s + j + 8));
  }
  for (; j < nk; j += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(s + j));
  const float m_new = std::max(*m, hmax_ps(_mm256_max_ps(m0, m1)) * scale);
  if (m_new == ninf || !std::isfinite(m_new)) return -1.f;  // let the general path decide
  const float alpha = *m == ninf ? 0.f : std::exp(*m - m_new);
  const __m256 vscale = _mm256_set1_ps(scale), vneg = _mm256_set1_ps(-m_new);
  __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
  j = 0;
  for (; j + 16 <= nk; j += 16) {
    const __m256 e0 = exp_ps(_mm256_fmadd_ps(_mm256_loadu_ps(s + j), vscale, vneg));
    const __m256 e1 = exp_ps(_mm256_fmadd_ps(_mm256_loadu_ps(s + j + 8), vscale, vneg));
    _mm256_storeu_ps(s + j, e0);
    _mm256_storeu_ps(s + j + 8, e1);
    sum0 = _mm256_add_ps(sum0, e0);
    sum1 = _mm256_add_ps(sum1, e1);
  }
  for (; j < nk; j += 8) {
    const __m256 e = exp_ps(_mm256_fmadd_ps(_mm256_loadu_ps(s + j), vscale, vneg));
    _mm256_storeu_ps(s + j, e);
    sum0 = _mm256_add_ps(sum0, e);
  }
  *l = *l * alpha + hsum_ps(_mm256_add_ps(sum0, sum1));
  *m = m_new;
  return alpha;
}

float softmax_step_avx2(float* s, int64_t nk, int64_t n_valid, float scale, const AttentionRowMask& mask, float* m,
                        float* l) {
  if (mask.kind == AttentionMask::None && n_valid >= nk && nk % 8 == 0 && scale > 0.f) {
    const float alpha = softmax_step_plain(s, nk, scale, m, l);
    if (alpha >= 0.f) return alpha;
  }
  const float ninf = -std::numeric_limits<float>::infinity();
  const __m256 vninf = _mm256_set1_ps(ninf), vscale = _mm256_set1_ps(scale), vfill = _mm256_set1_ps(mask.fill);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int64_t n8 = (nk + 7) / 8 * 8;  // s is padded: lanes in [nk, n8) are read and set to -inf
  const int64_t valid = std::min(n_valid, nk);
  // A mask broadcast along the keys is one value for the whole row.
  bool row_masked = false;
  float row_add = 0.f;
  if (mask.kind != AttentionMask::None && mask.stride == 0) {
    if (mask.kind == AttentionMask::Bool) row_masked = *static_cast<const uint8_t*>(mask.ptr) != 0;
    else row_add = *static_cast<const float*>(mask.ptr);
  }
  const __m256 vrow_add = _mm256_set1_ps(row_add);
  __m256 vmax = vninf;
  for (int64_t j = 0; j < n8; j += 8) {
    __m256 x = _mm256_mul_ps(_mm256_loadu_ps(s + j), vscale);
    if (mask.kind == AttentionMask::Bool) {
      if (mask.stride == 0) {
        if (row_masked) x = vfill;
      } else {
        const uint8_t* mp = static_cast<const uint8_t*>(mask.ptr) + j;
        __m256 hit;
        if (j + 8 <= nk) {
          hit = bool_lanes(mp);
        } else {
          alignas(8) uint8_t tmp[8] = {};
          std::memcpy(tmp, mp, static_cast<size_t>(nk - j));
          hit = bool_lanes(tmp);
        }
        x = _mm256_blendv_ps(x, vfill, hit);
      }
    } else if (mask.kind == AttentionMask::Additive) {
      if (mask.stride == 0) {
        x = _mm256_add_ps(x, vrow_add);
      } else {
        const float* mp = static_cast<const float*>(mask.ptr) + j;
        if (j + 8 <= nk) {
          x = _mm256_add_ps(x, _mm256_loadu_ps(mp));
        } else {
          alignas(32) float tmp[8] = {};
          std::memcpy(tmp, mp, static_cast<size_t>(nk - j) * sizeof(float));
          x = _mm256_add_ps(x, _mm256_load_ps(tmp));
        }
      }
    }
    if (j + 8 > valid) {
      const __m256 dead = _mm256_castsi256_ps(
          _mm256_cmpgt_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(static_cast<int>(j - valid))),
                             _mm256_set1_epi32(-1)));
      x = _mm256_blendv_ps(x, vninf, dead);
    }
    _mm256_storeu_ps(s + j, x);
    vmax = _mm256_max_ps(vmax, x);
  }
  const float m_new = std::max(*m, hmax_ps(vmax));
  if (m_new == ninf) {
    for (int64_t j = 0; j < n8; j += 8) _mm256_storeu_ps(s + j, _mm256_setzero_ps());
    return 1.f;
  }
  const float alpha = *m == ninf ? 0.f : std::exp(*m - m_new);
  const __m256 vm = _mm256_set1_ps(m_new);
  __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n8; j += 16) {
    const __m256 e0 = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
    const __m256 e1 = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(s + j + 8), vm));
    _mm256_storeu_ps(s + j, e0);
    _mm256_storeu_ps(s + j + 8, e1);
    sum0 = _mm256_add_ps(sum0, e0);
    sum1 = _mm256_add_ps(sum1, e1);
  }
  for (; j < n8; j += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
    _mm256_storeu_ps(s + j, e);
    sum0 = _mm256_add_ps(sum0, e);
  }
  *l = *l * alpha + hsum_ps(_mm256_add_ps(sum0, sum1));
  *m = m_new;
  return alpha;
}

// acc (ROWS x NV*8 columns at c) = alpha * acc + P . V. Tail: the last NV=1 chunk has fewer
// than 8 valid columns (V read with a masked load; acc is padded scratch). One or two rows add a
// second accumulator chain over j.
template <int ROWS, int NV, bool Tail>
inline void pv_block(const float* p, int64_t ld_p, int64_t nk, const float* v, int64_t v_stride, const float* alpha,
                     float* acc, int64_t ld_acc, __m256i tail) {
  constexpr bool kTwoChains = ROWS <= 2;
  __m256 a[ROWS][NV], a2[ROWS][NV];
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r) {
    const __m256 al = _mm256_broadcast_ss(alpha + r);
#pragma GCC unroll 2
    for (int x = 0; x < NV; ++x) {
      a[r][x] = _mm256_mul_ps(_mm256_loadu_ps(acc + r * ld_acc + x * 8), al);
      a2[r][x] = _mm256_setzero_ps();
    }
  }
  int64_t j = 0;
  if constexpr (kTwoChains) {
    for (; j + 2 <= nk; j += 2) {
      __m256 v0[NV], v1[NV];
#pragma GCC unroll 2
      for (int x = 0; x < NV; ++x) {
        if constexpr (Tail) {
          v0[x] = _mm256_maskload_ps(v + j * v_stride, tail);
          v1[x] = _mm256_maskload_ps(v + (j + 1) * v_stride, tail);
        } else {
          v0[x] = _mm256_loadu_ps(v + j * v_stride + x * 8);
          v1[x] = _mm256_loadu_ps(v + (j + 1) * v_stride + x * 8);
        }
      }
#pragma GCC unroll 2
      for (int r = 0; r < ROWS; ++r) {
        const __m256 w0 = _mm256_broadcast_ss(p + r * ld_p + j), w1 = _mm256_broadcast_ss(p + r * ld_p + j + 1);
#pragma GCC unroll 2
        for (int x = 0; x < NV; ++x) {
          a[r][x] = _mm256_fmadd_ps(w0, v0[x], a[r][x]);
          a2[r][x] = _mm256_fmadd_ps(w1, v1[x], a2[r][x]);
        }
      }
    }
  }
  for (; j < nk; ++j) {
    __m256 vv[NV];
#pragma GCC unroll 2
    for (int x = 0; x < NV; ++x) {
      if constexpr (Tail) vv[x] = _mm256_maskload_ps(v + j * v_stride, tail);
      else vv[x] = _mm256_loadu_ps(v + j * v_stride + x * 8);
    }
#pragma GCC unroll 6
    for (int r = 0; r < ROWS; ++r) {
      const __m256 w = _mm256_broadcast_ss(p + r * ld_p + j);
#pragma GCC unroll 2
      for (int x = 0; x < NV; ++x) a[r][x] = _mm256_fmadd_ps(w, vv[x], a[r][x]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 2
    for (int x = 0; x < NV; ++x) {
      __m256 t = a[r][x];
      if constexpr (kTwoChains) t = _mm256_add_ps(t, a2[r][x]);
      _mm256_storeu_ps(acc + r * ld_acc + x * 8, t);
    }
}

template <int ROWS>
void pv_rows(const float* p, int64_t ld_p, int64_t nk, const float* v, int64_t v_stride, int64_t dv,
             const float* alpha, float* acc, int64_t ld_acc) {
  int64_t c = 0;
  for (; c + 16 <= dv; c += 16) pv_block<ROWS, 2, false>(p, ld_p, nk, v + c, v_stride, alpha, acc + c, ld_acc, _mm256_setzero_si256());
  for (; c + 8 <= dv; c += 8) pv_block<ROWS, 1, false>(p, ld_p, nk, v + c, v_stride, alpha, acc + c, ld_acc, _mm256_setzero_si256());
  if (c < dv) {
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(dv - c)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    pv_block<ROWS, 1, true>(p, ld_p, nk, v + c, v_stride, alpha, acc + c, ld_acc, tail);
  }
}

void pv_avx2(const float* p, int64_t ld_p, int64_t rows, int64_t nk, const float* v, int64_t v_stride, int64_t dv,
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

AttentionF32Kernel attention_f32_avx2() {
  return {"avx2", kMr, kNr, &pack_k_avx2, &scores_avx2, &softmax_step_avx2, &pv_avx2, &scores_direct_avx2};
}

}  // namespace pocket::kernels
