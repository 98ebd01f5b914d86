// NEON (AArch64) attention pieces: keys packed in 8-wide panels, a 6x8 score micro-kernel (four
// q elements per load, FMA by lane), a 4-lane online-softmax step and a 6x8 P.V micro-kernel
// (four probabilities per load, FMA by lane) over rows of V.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/attention/attention_f32.h"
#include "kernels/elementwise/math_f32_neon.h"

namespace pocket::kernels {

namespace {

constexpr int64_t kMr = 6;
constexpr int64_t kNr = 8;

void pack_k_neon(const float* k, int64_t k_stride, int64_t nk, int64_t d, float* packed) {
  const int64_t panels = (nk + kNr - 1) / kNr;
  for (int64_t p = 0; p < panels; ++p) {
    float* dst = packed + p * d * kNr;
    for (int64_t half = 0; half < 2; ++half) {
      const float* src[4];
      for (int i = 0; i < 4; ++i) {
        const int64_t j = p * kNr + half * 4 + i;
        src[i] = j < nk ? k + j * k_stride : nullptr;
      }
      int64_t c = 0;
      const float32x4_t zero = vdupq_n_f32(0.f);
      for (; c + 4 <= d; c += 4) {
        // Four keys x four elements, transposed by two zips.
        const float32x4_t r0 = src[0] ? vld1q_f32(src[0] + c) : zero, r1 = src[1] ? vld1q_f32(src[1] + c) : zero;
        const float32x4_t r2 = src[2] ? vld1q_f32(src[2] + c) : zero, r3 = src[3] ? vld1q_f32(src[3] + c) : zero;
        const float32x4_t t0 = vzip1q_f32(r0, r2), t1 = vzip2q_f32(r0, r2);
        const float32x4_t t2 = vzip1q_f32(r1, r3), t3 = vzip2q_f32(r1, r3);
        vst1q_f32(dst + (c + 0) * kNr + half * 4, vzip1q_f32(t0, t2));
        vst1q_f32(dst + (c + 1) * kNr + half * 4, vzip2q_f32(t0, t2));
        vst1q_f32(dst + (c + 2) * kNr + half * 4, vzip1q_f32(t1, t3));
        vst1q_f32(dst + (c + 3) * kNr + half * 4, vzip2q_f32(t1, t3));
      }
      for (; c < d; ++c)
        for (int i = 0; i < 4; ++i) dst[c * kNr + half * 4 + i] = src[i] ? src[i][c] : 0.f;
    }
  }
}

template <int ROWS>
inline void scores_block(const float* q, int64_t q_stride, const float* b, int64_t d, float* s, int64_t ld_s) {
  float32x4_t acc[ROWS][2];
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = vdupq_n_f32(0.f);
  int64_t c = 0;
  for (; c + 4 <= d; c += 4) {
    float32x4_t a[ROWS];
    for (int r = 0; r < ROWS; ++r) a[r] = vld1q_f32(q + r * q_stride + c);
#define POCKET_ATTN_LANE(L)                                                           \
  {                                                                                  \
    const float32x4_t b0 = vld1q_f32(b + (c + L) * kNr), b1 = vld1q_f32(b + (c + L) * kNr + 4); \
    for (int r = 0; r < ROWS; ++r) {                                                 \
      acc[r][0] = vfmaq_laneq_f32(acc[r][0], b0, a[r], L);                           \
      acc[r][1] = vfmaq_laneq_f32(acc[r][1], b1, a[r], L);                           \
    }                                                                                \
  }
    POCKET_ATTN_LANE(0)
    POCKET_ATTN_LANE(1)
    POCKET_ATTN_LANE(2)
    POCKET_ATTN_LANE(3)
#undef POCKET_ATTN_LANE
  }
  for (; c < d; ++c) {
    const float32x4_t b0 = vld1q_f32(b + c * kNr), b1 = vld1q_f32(b + c * kNr + 4);
    for (int r = 0; r < ROWS; ++r) {
      const float32x4_t a = vld1q_dup_f32(q + r * q_stride + c);
      acc[r][0] = vfmaq_f32(acc[r][0], a, b0);
      acc[r][1] = vfmaq_f32(acc[r][1], a, b1);
    }
  }
  for (int r = 0; r < ROWS; ++r) {
    vst1q_f32(s + r * ld_s, acc[r][0]);
    vst1q_f32(s + r * ld_s + 4, acc[r][1]);
  }
}

template <int ROWS>
void scores_rows(const float* q, int64_t q_stride, const float* packed, int64_t panels, int64_t d, float* s,
                 int64_t ld_s) {
  for (int64_t p = 0; p < panels; ++p) scores_block<ROWS>(q, q_stride, packed + p * d * kNr, d, s + p * kNr, ld_s);
}

void scores_neon(const float* q, int64_t q_stride, int64_t rows, const float* packed, int64_t nk, int64_t d, float* s,
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

inline uint32x4_t bool_lanes(const uint8_t* m) {
  uint8_t tmp[8] = {m[0], m[1], m[2], m[3], 0, 0, 0, 0};
  const uint32x4_t w = vmovl_u16(vget_low_u16(vmovl_u8(vld1_u8(tmp))));
  return vmvnq_u32(vceqq_u32(w, vdupq_n_u32(0)));
}

float softmax_step_neon(float* s, int64_t nk, int64_t n_valid, float scale, const AttentionRowMask& mask, float* m,
                        float* l) {
  const float ninf = -std::numeric_limits<float>::infinity();
  const float32x4_t vninf = vdupq_n_f32(ninf), vfill = vdupq_n_f32(mask.fill);
  const int64_t n4 = (nk + 3) / 4 * 4;  // s is padded to whole panels: lanes in [nk, n4) become -inf
  const int64_t valid = std::min(n_valid, nk);
  bool row_masked = false;
  float row_add = 0.f;
  if (mask.kind != AttentionMask::None && mask.stride == 0) {
    if (mask.kind == AttentionMask::Bool) row_masked = *static_cast<const uint8_t*>(mask.ptr) != 0;
    else row_add = *static_cast<const float*>(mask.ptr);
  }
  const int32x4_t lane = {0, 1, 2, 3};
  float32x4_t vmax = vninf;
  for (int64_t j = 0; j < n4; j += 4) {
    float32x4_t x = vmulq_n_f32(vld1q_f32(s + j), scale);
    if (mask.kind == AttentionMask::Bool) {
      if (mask.stride == 0) {
        if (row_masked) x = vfill;
      } else {
        uint8_t tmp[4] = {0, 0, 0, 0};
        std::memcpy(tmp, static_cast<const uint8_t*>(mask.ptr) + j, static_cast<size_t>(std::min<int64_t>(4, nk - j)));
        x = vbslq_f32(bool_lanes(tmp), vfill, x);
      }
    } else if (mask.kind == AttentionMask::Additive) {
      if (mask.stride == 0) {
        x = vaddq_f32(x, vdupq_n_f32(row_add));
      } else {
        float tmp[4] = {0.f, 0.f, 0.f, 0.f};
        std::memcpy(tmp, static_cast<const float*>(mask.ptr) + j, static_cast<size_t>(std::min<int64_t>(4, nk - j)) * 4);
        x = vaddq_f32(x, vld1q_f32(tmp));
      }
    }
    if (j + 4 > valid) {
      const uint32x4_t dead = vcgeq_s32(vaddq_s32(lane, vdupq_n_s32(static_cast<int32_t>(j - valid))), vdupq_n_s32(0));
      x = vbslq_f32(dead, vninf, x);
    }
    vst1q_f32(s + j, x);
    vmax = vmaxq_f32(vmax, x);
  }
  const float m_new = std::max(*m, vmaxvq_f32(vmax));
  if (m_new == ninf) {
    std::fill(s, s + n4, 0.f);
    return 1.f;
  }
  const float alpha = *m == ninf ? 0.f : std::exp(*m - m_new);
  const float32x4_t vm = vdupq_n_f32(m_new);
  float32x4_t sum = vdupq_n_f32(0.f);
  for (int64_t j = 0; j < n4; j += 4) {
    const float32x4_t e = neon::exp_ps(vsubq_f32(vld1q_f32(s + j), vm));
    vst1q_f32(s + j, e);
    sum = vaddq_f32(sum, e);
  }
  *l = *l * alpha + vaddvq_f32(sum);
  *m = m_new;
  return alpha;
}

// acc (ROWS x NV*4 columns) = alpha * acc + P . V.
template <int ROWS, int NV>
inline void pv_block(const float* p, int64_t ld_p, int64_t nk, const float* v, int64_t v_stride, const float* alpha,
                     float* acc, int64_t ld_acc) {
  float32x4_t a[ROWS][NV];
  for (int r = 0; r < ROWS; ++r)
    for (int x = 0; x < NV; ++x) a[r][x] = vmulq_n_f32(vld1q_f32(acc + r * ld_acc + x * 4), alpha[r]);
  int64_t j = 0;
  for (; j + 4 <= nk; j += 4) {
    float32x4_t w[ROWS];
    for (int r = 0; r < ROWS; ++r) w[r] = vld1q_f32(p + r * ld_p + j);
#define POCKET_ATTN_LANE(L)                                                            \
  {                                                                                   \
    float32x4_t vv[NV];                                                               \
    for (int x = 0; x < NV; ++x) vv[x] = vld1q_f32(v + (j + L) * v_stride + x * 4);   \
    for (int r = 0; r < ROWS; ++r)                                                    \
      for (int x = 0; x < NV; ++x) a[r][x] = vfmaq_laneq_f32(a[r][x], vv[x], w[r], L); \
  }
    POCKET_ATTN_LANE(0)
    POCKET_ATTN_LANE(1)
    POCKET_ATTN_LANE(2)
    POCKET_ATTN_LANE(3)
#undef POCKET_ATTN_LANE
  }
  for (; j < nk; ++j) {
    float32x4_t vv[NV];
    for (int x = 0; x < NV; ++x) vv[x] = vld1q_f32(v + j * v_stride + x * 4);
    for (int r = 0; r < ROWS; ++r) {
      const float32x4_t w = vld1q_dup_f32(p + r * ld_p + j);
      for (int x = 0; x < NV; ++x) a[r][x] = vfmaq_f32(a[r][x], w, vv[x]);
    }
  }
  for (int r = 0; r < ROWS; ++r)
    for (int x = 0; x < NV; ++x) vst1q_f32(acc + r * ld_acc + x * 4, a[r][x]);
}

template <int ROWS>
void pv_rows(const float* p, int64_t ld_p, int64_t nk, const float* v, int64_t v_stride, int64_t dv,
             const float* alpha, float* acc, int64_t ld_acc) {
  int64_t c = 0;
  for (; c + 8 <= dv; c += 8) pv_block<ROWS, 2>(p, ld_p, nk, v + c, v_stride, alpha, acc + c, ld_acc);
  for (; c + 4 <= dv; c += 4) pv_block<ROWS, 1>(p, ld_p, nk, v + c, v_stride, alpha, acc + c, ld_acc);
  for (; c < dv; ++c)  // fewer than four columns left
    for (int r = 0; r < ROWS; ++r) {
      float t = acc[r * ld_acc + c] * alpha[r];
      for (int64_t j = 0; j < nk; ++j) t += p[r * ld_p + j] * v[j * v_stride + c];
      acc[r * ld_acc + c] = t;
    }
}

void pv_neon(const float* p, int64_t ld_p, int64_t rows, int64_t nk, const float* v, int64_t v_stride, int64_t dv,
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

AttentionF32Kernel attention_f32_neon() {
  return {"neon", kMr, kNr, &pack_k_neon, &scores_neon, &softmax_step_neon, &pv_neon};
}

}  // namespace pocket::kernels
