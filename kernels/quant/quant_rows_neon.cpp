// NEON row kernels: 16 elements per step, bitwise equal to the scalar references (the same
// division; fmaxnm/fminnm clamps map NaN to the bound like the scalar helper; fcvtns rounds to
// nearest even).
#include <arm_neon.h>

#include "kernels/quant/quant_ops_impl.h"

namespace pocket::kernels::quant_detail {

namespace {

struct Consts {
  float32x4_t scale, lo, hi;
  int32x4_t zp;
  explicit Consts(QParams p)
      : scale(vdupq_n_f32(p.scale)),
        lo(vdupq_n_f32(static_cast<float>(-128 - p.zero_point))),
        hi(vdupq_n_f32(static_cast<float>(127 - p.zero_point))),
        zp(vdupq_n_s32(p.zero_point)) {}
};

// v already divided by the scale: clamp, round to nearest even, add the zero point.
inline int32x4_t round_add_zp(float32x4_t v, const Consts& k) {
  v = vminnmq_f32(vmaxnmq_f32(v, k.lo), k.hi);
  return vaddq_s32(vcvtnq_s32_f32(v), k.zp);
}

inline int8x16_t pack4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  const int16x8_t ab = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
  const int16x8_t cd = vcombine_s16(vqmovn_s32(c), vqmovn_s32(d));
  return vcombine_s8(vqmovn_s16(ab), vqmovn_s16(cd));
}

// 16 int8 minus the zero point, as four float vectors.
inline void widen(int8x16_t q, int32x4_t zp, float32x4_t* f) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_high_s8(q);
  f[0] = vcvtq_f32_s32(vsubq_s32(vmovl_s16(vget_low_s16(lo)), zp));
  f[1] = vcvtq_f32_s32(vsubq_s32(vmovl_high_s16(lo), zp));
  f[2] = vcvtq_f32_s32(vsubq_s32(vmovl_s16(vget_low_s16(hi)), zp));
  f[3] = vcvtq_f32_s32(vsubq_s32(vmovl_high_s16(hi), zp));
}

}  // namespace

void quantize_f32_s8_neon(const float* x, int64_t n, QParams p, int8_t* y) {
  const Consts k(p);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int32x4_t a = round_add_zp(vdivq_f32(vld1q_f32(x + i), k.scale), k);
    const int32x4_t b = round_add_zp(vdivq_f32(vld1q_f32(x + i + 4), k.scale), k);
    const int32x4_t c = round_add_zp(vdivq_f32(vld1q_f32(x + i + 8), k.scale), k);
    const int32x4_t d = round_add_zp(vdivq_f32(vld1q_f32(x + i + 12), k.scale), k);
    vst1q_s8(y + i, pack4(a, b, c, d));
  }
  for (; i < n; ++i) y[i] = quantize_value(x[i] / p.scale, p.zero_point);
}

void dequantize_s8_f32_neon(const int8_t* x, int64_t n, QParams p, float* y) {
  const float32x4_t scale = vdupq_n_f32(p.scale);
  const int32x4_t zp = vdupq_n_s32(p.zero_point);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    float32x4_t f[4];
    widen(vld1q_s8(x + i), zp, f);
    vst1q_f32(y + i, vmulq_f32(scale, f[0]));
    vst1q_f32(y + i + 4, vmulq_f32(scale, f[1]));
    vst1q_f32(y + i + 8, vmulq_f32(scale, f[2]));
    vst1q_f32(y + i + 12, vmulq_f32(scale, f[3]));
  }
  for (; i < n; ++i) y[i] = p.scale * static_cast<float>(static_cast<int32_t>(x[i]) - p.zero_point);
}

QParams quantize_row_dynamic_f32_s8_neon(const float* x, int64_t n, int8_t* y) {
  // fminnm / fmaxnm skip NaN like the scalar comparisons do.
  float32x4_t lo0 = vdupq_n_f32(0.f), lo1 = lo0, hi0 = lo0, hi1 = lo0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
    lo0 = vminnmq_f32(lo0, a), hi0 = vmaxnmq_f32(hi0, a);
    lo1 = vminnmq_f32(lo1, b), hi1 = vmaxnmq_f32(hi1, b);
  }
  float lo = vminnmvq_f32(vminnmq_f32(lo0, lo1)), hi = vmaxnmvq_f32(vmaxnmq_f32(hi0, hi1));
  for (; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  const QParams p = dynamic_params(lo, hi);
  quantize_f32_s8_neon(x, n, p, y);
  return p;
}

void requantize_s8_neon(const int8_t* x, QParams px, int64_t n, int8_t* y, QParams py) {
  const Consts k(py);
  const float32x4_t sx = vdupq_n_f32(px.scale);
  const int32x4_t zx = vdupq_n_s32(px.zero_point);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    float32x4_t f[4];
    widen(vld1q_s8(x + i), zx, f);
    int32x4_t q[4];
    for (int j = 0; j < 4; ++j) q[j] = round_add_zp(vdivq_f32(vmulq_f32(f[j], sx), k.scale), k);
    vst1q_s8(y + i, pack4(q[0], q[1], q[2], q[3]));
  }
  for (; i < n; ++i) {
    const float v = static_cast<float>(static_cast<int32_t>(x[i]) - px.zero_point) * px.scale / py.scale;
    y[i] = quantize_value(v, py.zero_point);
  }
}

}  // namespace pocket::kernels::quant_detail
