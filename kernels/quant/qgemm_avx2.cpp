// AVX2 int8 GEMM, 5x16 tile: A and B sign-extended to int16, vpmaddwd sums two K values per
// 32-bit lane (exact: |A - za| <= 255, |B| <= 128), vpaddd accumulates 10 ymm sums (6x16 needs all 16 registers and GCC spills).
// Packed A: int16 a[rows][kpad] row-major (kpad = 2 * kpairs, A - za, zero-padded), so one row's
// K pair is one vpbroadcastd from memory. Packed B (kr 2): per K pair 32 bytes, columns 0..7 then
// 8..15, each column's two K values adjacent: vpmovsxbw of 16 bytes gives vpmaddwd's operand.
#include <immintrin.h>

// GCC's tree-PRE keeps a stack copy of every accumulator in the micro-kernel loops (a store and a
// move per vpaddd): the inner loop ran at half speed (measured 78 vs 146 GOP/s on L1-resident
// panels). Without it the loops keep the sums in registers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-pre")
#endif

#include <cstring>
#include <limits>

#include "kernels/quant/qgemm_impl.h"

namespace pocket::kernels {

namespace {

constexpr int64_t kMr = 5;

inline __m256i bcast_pair(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

inline void store_row(int32_t* o, __m256i c0, __m256i c1, bool accumulate) {
  auto* v = reinterpret_cast<__m256i*>(o);
  if (accumulate) {
    c0 = _mm256_add_epi32(c0, _mm256_loadu_si256(v));
    c1 = _mm256_add_epi32(c1, _mm256_loadu_si256(v + 1));
  }
  _mm256_storeu_si256(v, c0);
  _mm256_storeu_si256(v + 1, c1);
}

// Named accumulators (not arrays): GCC keeps all 12 in registers only this way.
template <int R>
void micro_rows(int64_t kpairs, const int16_t* a, const int8_t* b, int32_t* acc, int64_t ld_acc, bool accumulate) {
  const __m256i z = _mm256_setzero_si256();
  __m256i c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z;
  const int64_t as = kpairs * 2;
  const int16_t* a0 = a;
  const int16_t* a1 = a + as;
  const int16_t* a2 = a + 2 * as;
  const int16_t* a3 = a + 3 * as;
  const int16_t* a4 = a + 4 * as;
  for (int64_t p = 0; p < kpairs; ++p) {
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
    const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16)));
    b += 32;
#define POCKET_QGEMM_ROW(r)                                            \
  if constexpr (R > r) {                                               \
    const __m256i x = bcast_pair(a##r + 2 * p);                        \
    c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(x, b0));     \
    c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(x, b1));     \
  }
    POCKET_QGEMM_ROW(0)
    POCKET_QGEMM_ROW(1)
    POCKET_QGEMM_ROW(2)
    POCKET_QGEMM_ROW(3)
    POCKET_QGEMM_ROW(4)
#undef POCKET_QGEMM_ROW
  }
  store_row(acc, c00, c01, accumulate);
  if constexpr (R > 1) store_row(acc + ld_acc, c10, c11, accumulate);
  if constexpr (R > 2) store_row(acc + 2 * ld_acc, c20, c21, accumulate);
  if constexpr (R > 3) store_row(acc + 3 * ld_acc, c30, c31, accumulate);
  if constexpr (R > 4) store_row(acc + 4 * ld_acc, c40, c41, accumulate);
}

// One row (GEMV): K pairs two at a time into two sets of sums, so the adds do not wait on each other.
void micro_row1(int64_t kpairs, const int16_t* a, const int8_t* b, int32_t* acc, bool accumulate) {
  const __m256i z = _mm256_setzero_si256();
  __m256i c0 = z, c1 = z, d0 = z, d1 = z;
  int64_t p = 0;
  for (; p + 2 <= kpairs; p += 2) {
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
    const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16)));
    const __m256i b2 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 32)));
    const __m256i b3 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 48)));
    b += 64;
    const __m256i x = bcast_pair(a + 2 * p), y = bcast_pair(a + 2 * p + 2);
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(x, b0));
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(x, b1));
    d0 = _mm256_add_epi32(d0, _mm256_madd_epi16(y, b2));
    d1 = _mm256_add_epi32(d1, _mm256_madd_epi16(y, b3));
  }
  if (p < kpairs) {
    const __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
    const __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16)));
    const __m256i x = bcast_pair(a + 2 * p);
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(x, b0));
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(x, b1));
  }
  store_row(acc, _mm256_add_epi32(c0, d0), _mm256_add_epi32(c1, d1), accumulate);
}

}  // namespace

void qgemm_pack_a_avx2(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t* za, void* dst) {
  const int64_t kpad = (kc + 1) / 2 * 2;
  auto* d = static_cast<int16_t*>(dst);
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* ar = a + r * lda;
    int16_t* dr = d + r * kpad;
    const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(za[r]));
    int64_t p = 0;
    for (; p + 16 <= kc; p += 16) {
      const __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ar + p)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dr + p), _mm256_sub_epi16(x, z));
    }
    if (p + 8 <= kc) {
      const __m128i x = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(ar + p)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dr + p), _mm_sub_epi16(x, _mm256_castsi256_si128(z)));
      p += 8;
    }
    for (; p < kc; ++p) dr[p] = static_cast<int16_t>(ar[p] - za[r]);
    if (kpad > kc) dr[kc] = 0;
  }
}

void qgemm_micro_avx2(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc, int64_t ld_acc,
                      bool accumulate) {
  const auto* ap = static_cast<const int16_t*>(a);
  switch (rows) {
    case 1: micro_row1(kgroups, ap, b, acc, accumulate); break;
    case 2: micro_rows<2>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 3: micro_rows<3>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 4: micro_rows<4>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    default: micro_rows<kMr>(kgroups, ap, b, acc, ld_acc, accumulate); break;
  }
}

namespace {

struct EpConsts {
  __m256 lo, hi, inv_os, big, nbig, rs;
  __m256i oz, rz;
};

// v for 8 columns at c of one row: acc * a_scale * b_scale + bias + residual, clamped.
template <bool kBias, int kRes>
inline __m256 ep_value(const QGemmEpilogue& ep, const EpConsts& k, __m256 as, const int32_t* ar, const float* bs,
                       const float* bias, const float* res, const int8_t* res8, int64_t c) {
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ar + c))),
                           _mm256_mul_ps(as, _mm256_loadu_ps(bs + c)));
  if constexpr (kBias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
  if constexpr (kRes == 1) v = _mm256_add_ps(v, _mm256_loadu_ps(res + c));
  if constexpr (kRes == 2) {
    int64_t q8;
    std::memcpy(&q8, res8 + c, 8);
    const __m256i q = _mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(q8)), k.rz);
    v = _mm256_add_ps(v, _mm256_mul_ps(k.rs, _mm256_cvtepi32_ps(q)));
  }
  return _mm256_min_ps(_mm256_max_ps(v, k.lo), k.hi);
}

// v * (1 / out_scale) rounded to nearest even (the default MXCSR mode), + zero point: may differ
// from the division by one step at exact ties (the documented int8 tolerance). Bounded first so
// cvtps never sees a value out of int32 range (NaN -> -65536 -> -128, as the scalar epilogue).
inline __m256i ep_quantize(const EpConsts& k, __m256 v) {
  const __m256 x = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, k.inv_os), k.nbig), k.big);
  return _mm256_add_epi32(_mm256_cvtps_epi32(x), k.oz);
}

template <bool kBias, int kRes, bool kI8>
void ep_rows(const QGemmArgs& g, const EpConsts& k, int64_t i, int64_t rows, int64_t j, int64_t cv,
             const int32_t* acc, int64_t ld_acc) {
  const QGemmEpilogue& ep = g.ep;
  const float* bs = ep.b_scale + j;
  const float* bias = ep.bias ? ep.bias + j : nullptr;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* ar = acc + r * ld_acc;
    const __m256 as = _mm256_set1_ps(ep.a_scale[ep.a_scale_per_row ? i + r : 0]);
    const float* res = kRes == 1 ? ep.residual_f32 + (i + r) * ep.ld_residual + j : nullptr;
    const int8_t* res8 = kRes == 2 ? ep.residual_i8 + (i + r) * ep.ld_residual + j : nullptr;
    if constexpr (!kI8) {
      float* out = g.c_f32 + (i + r) * g.ldc + j;
      for (int64_t c = 0; c < cv; c += 8)
        _mm256_storeu_ps(out + c, ep_value<kBias, kRes>(ep, k, as, ar, bs, bias, res, res8, c));
    } else {
      int8_t* out = g.c_i8 + (i + r) * g.ldc + j;
      int64_t c = 0;
      for (; c + 16 <= cv; c += 16) {
        const __m256i q0 = ep_quantize(k, ep_value<kBias, kRes>(ep, k, as, ar, bs, bias, res, res8, c));
        const __m256i q1 = ep_quantize(k, ep_value<kBias, kRes>(ep, k, as, ar, bs, bias, res, res8, c + 8));
        // packs works per 128-bit lane: [q0 0-3, q1 0-3 | q0 4-7, q1 4-7] -> columns in order.
        const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c),
                         _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1)));
      }
      if (c < cv) {
        const __m256i q = ep_quantize(k, ep_value<kBias, kRes>(ep, k, as, ar, bs, bias, res, res8, c));
        const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + c), _mm_packs_epi16(w, w));
      }
    }
  }
}

template <bool kBias, int kRes>
void ep_rows_out(const QGemmArgs& g, const EpConsts& k, int64_t i, int64_t rows, int64_t j, int64_t cv,
                 const int32_t* acc, int64_t ld_acc) {
  if (g.ep.out_i8)
    ep_rows<kBias, kRes, true>(g, k, i, rows, j, cv, acc, ld_acc);
  else
    ep_rows<kBias, kRes, false>(g, k, i, rows, j, cv, acc, ld_acc);
}

template <bool kBias>
void ep_rows_res(const QGemmArgs& g, const EpConsts& k, int64_t i, int64_t rows, int64_t j, int64_t cv,
                 const int32_t* acc, int64_t ld_acc) {
  if (g.ep.residual_f32)
    ep_rows_out<kBias, 1>(g, k, i, rows, j, cv, acc, ld_acc);
  else if (g.ep.residual_i8)
    ep_rows_out<kBias, 2>(g, k, i, rows, j, cv, acc, ld_acc);
  else
    ep_rows_out<kBias, 0>(g, k, i, rows, j, cv, acc, ld_acc);
}

// With an activation: per row, the pre-activation values (k has no clamp) go to a buffer 8 at a
// time, the activation runs on the buffer (HardSwish / HardSigmoid inline, the others through the
// vector activation kernels), then the clamp and the store or quantization, all vectorized.
template <bool kBias, int kRes>
void ep_rows_act(const QGemmArgs& g, const EpConsts& k, int64_t i, int64_t rows, int64_t j, int64_t cv,
                 const int32_t* acc, int64_t ld_acc) {
  const QGemmEpilogue& ep = g.ep;
  const float* bs = ep.b_scale + j;
  const float* bias = ep.bias ? ep.bias + j : nullptr;
  const __m256 lo = _mm256_set1_ps(ep.out_min), hi = _mm256_set1_ps(ep.out_max);
  alignas(64) float v[kQGemmNcMax];
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* ar = acc + r * ld_acc;
    const __m256 as = _mm256_set1_ps(ep.a_scale[ep.a_scale_per_row ? i + r : 0]);
    const float* res = kRes == 1 ? ep.residual_f32 + (i + r) * ep.ld_residual + j : nullptr;
    const int8_t* res8 = kRes == 2 ? ep.residual_i8 + (i + r) * ep.ld_residual + j : nullptr;
    if (ep.act == QAct::HardSwish || ep.act == QAct::HardSigmoid) {
      const bool swish = ep.act == QAct::HardSwish;
      const __m256 alpha = _mm256_set1_ps(swish ? 1.f / 6.f : ep.act_alpha);
      const __m256 beta = _mm256_set1_ps(swish ? 0.5f : ep.act_beta);
      const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
      for (int64_t c = 0; c < cv; c += 8) {
        const __m256 x = ep_value<kBias, kRes>(ep, k, as, ar, bs, bias, res, res8, c);
        // HardSigmoid: clamp(alpha x + beta, 0, 1); HardSwish: x * clamp(x / 6 + 1/2, 0, 1).
        __m256 h = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(alpha, x, beta), zero), one);
        if (swish) h = _mm256_mul_ps(x, h);
        _mm256_store_ps(v + c, h);
      }
    } else {
      for (int64_t c = 0; c < cv; c += 8)
        _mm256_store_ps(v + c, ep_value<kBias, kRes>(ep, k, as, ar, bs, bias, res, res8, c));
      if (ep.act == QAct::Gelu || ep.act == QAct::GeluTanh) {
        gelu_f32(v, v, static_cast<size_t>(cv), ep.act == QAct::GeluTanh);
      } else {
        ActivationParams p;
        p.kind = static_cast<Activation>(static_cast<int>(ep.act) + 2);  // HardSigmoid..LeakyRelu
        p.alpha = ep.act_alpha;
        p.beta = ep.act_beta;
        activation_f32_kernel().fn(p, v, static_cast<size_t>(cv));
      }
    }
    if (!ep.out_i8) {
      float* out = g.c_f32 + (i + r) * g.ldc + j;
      for (int64_t c = 0; c < cv; c += 8)
        _mm256_storeu_ps(out + c, _mm256_min_ps(_mm256_max_ps(_mm256_load_ps(v + c), lo), hi));
    } else {
      int8_t* out = g.c_i8 + (i + r) * g.ldc + j;
      for (int64_t c = 0; c < cv; c += 8) {
        const __m256i q = ep_quantize(k, _mm256_min_ps(_mm256_max_ps(_mm256_load_ps(v + c), lo), hi));
        const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + c), _mm_packs_epi16(w, w));
      }
    }
  }
}

template <bool kBias>
void ep_rows_act_res(const QGemmArgs& g, const EpConsts& k, int64_t i, int64_t rows, int64_t j, int64_t cv,
                     const int32_t* acc, int64_t ld_acc) {
  if (g.ep.residual_f32)
    ep_rows_act<kBias, 1>(g, k, i, rows, j, cv, acc, ld_acc);
  else if (g.ep.residual_i8)
    ep_rows_act<kBias, 2>(g, k, i, rows, j, cv, acc, ld_acc);
  else
    ep_rows_act<kBias, 0>(g, k, i, rows, j, cv, acc, ld_acc);
}

}  // namespace

// Vector epilogue for whole groups of 8 columns, specialized on bias, residual kind and output
// type (and on having an activation); the generic one (compiled with AVX2 flags) handles the
// column tail.
void qgemm_epilogue_avx2(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols, const int32_t* acc,
                         int64_t ld_acc) {
  const QGemmEpilogue& ep = g.ep;
  const int64_t cv = cols / 8 * 8;
  if (cv > 0) {
    EpConsts k;
    const bool act = ep.act != QAct::None;
    // With an activation the clamp comes after it (ep_rows_act), so ep_value must not clamp.
    k.lo = _mm256_set1_ps(act ? -std::numeric_limits<float>::infinity() : ep.out_min);
    k.hi = _mm256_set1_ps(act ? std::numeric_limits<float>::infinity() : ep.out_max);
    k.inv_os = _mm256_set1_ps(1.f / ep.out_scale);
    k.big = _mm256_set1_ps(65536.f), k.nbig = _mm256_set1_ps(-65536.f);
    k.rs = _mm256_set1_ps(ep.residual_scale);
    k.oz = _mm256_set1_epi32(ep.out_zero_point);
    k.rz = _mm256_set1_epi32(ep.residual_zero_point);
    if (act) {
      if (ep.bias)
        ep_rows_act_res<true>(g, k, i, rows, j, cv, acc, ld_acc);
      else
        ep_rows_act_res<false>(g, k, i, rows, j, cv, acc, ld_acc);
    } else if (ep.bias) {
      ep_rows_res<true>(g, k, i, rows, j, cv, acc, ld_acc);
    } else {
      ep_rows_res<false>(g, k, i, rows, j, cv, acc, ld_acc);
    }
  }
  if (cv < cols) qgemm_epilogue_generic(g, i, rows, j + cv, cols - cv, acc + cv, ld_acc);
}

}  // namespace pocket::kernels
