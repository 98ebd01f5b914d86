// NEON depthwise int8 convolution: 16 channels per step, (x - zx) widened to int16 by ssubl,
// multiplied with the int16 weights and accumulated in int32 by smlal / smlal2. Out-of-image taps
// read a row of zero points (they add 0). The epilogue runs on 16 channels in registers.
#include <arm_neon.h>

#include <cstring>

#include "kernels/activation/activation_f32.h"
#include "kernels/activation/gelu_f32.h"
#include "kernels/quant/quant_ops_impl.h"

namespace pocket::kernels::quant_detail {

namespace {

constexpr int64_t kMaxTaps = 126;  // larger kernels run the scalar rows

struct Block {
  int16x8_t w[kMaxTaps][2];
  float32x4_t scale[4], bias[4];
};

inline int8x16_t load16(const int8_t* p, int64_t n) {
  if (n == 16) return vld1q_s8(p);
  int8_t t[16] = {};
  std::memcpy(t, p, static_cast<size_t>(n));
  return vld1q_s8(t);
}

void build_block(const DwConvQs8Args& a, int64_t c0, int64_t n, int64_t taps, Block* b) {
  for (int64_t t = 0; t < taps; ++t) {
    const int8x16_t w = load16(a.weights + t * a.c + c0, n);
    b->w[t][0] = vmovl_s8(vget_low_s8(w));
    b->w[t][1] = vmovl_high_s8(w);
  }
  float s[16] = {}, bias[16] = {};
  const float as = a.ep.a_scale[0];
  for (int64_t j = 0; j < n; ++j) {
    s[j] = as * a.ep.b_scale[c0 + j];
    bias[j] = a.ep.bias ? a.ep.bias[c0 + j] : 0.f;
  }
  for (int j = 0; j < 4; ++j) b->scale[j] = vld1q_f32(s + 4 * j), b->bias[j] = vld1q_f32(bias + 4 * j);
}

struct Epi {
  ActivationF32Fn act_fn = nullptr;
  GeluF32Fn gelu_fn = nullptr;
  ActivationParams act;
};

inline float32x4_t activate(const QGemmEpilogue& ep, const Epi& e, float32x4_t v) {
  switch (ep.act) {
    case QAct::None:
      return v;
    case QAct::HardSigmoid: {
      const float32x4_t t = vaddq_f32(vmulq_f32(vdupq_n_f32(ep.act_alpha), v), vdupq_n_f32(ep.act_beta));
      return vminq_f32(vmaxq_f32(t, vdupq_n_f32(0.f)), vdupq_n_f32(1.f));
    }
    case QAct::HardSwish: {
      const float32x4_t t = vminq_f32(vmaxq_f32(vaddq_f32(v, vdupq_n_f32(3.f)), vdupq_n_f32(0.f)), vdupq_n_f32(6.f));
      return vmulq_f32(vmulq_f32(v, t), vdupq_n_f32(1.f / 6.f));
    }
    case QAct::LeakyRelu:
      return vbslq_f32(vcltq_f32(v, vdupq_n_f32(0.f)), vmulq_f32(v, vdupq_n_f32(ep.act_alpha)), v);
    default: {
      float t[4];
      vst1q_f32(t, v);
      if (e.gelu_fn) e.gelu_fn(t, t, 4);
      else e.act_fn(e.act, t, 4);
      return vld1q_f32(t);
    }
  }
}

void epilogue16(const DwConvQs8Args& a, const Block& b, const Epi& e, const int32x4_t* acc, int64_t pixel, int64_t c0,
                int64_t n) {
  const QGemmEpilogue& ep = a.ep;
  float32x4_t v[4];
  for (int j = 0; j < 4; ++j) v[j] = vaddq_f32(vmulq_f32(vcvtq_f32_s32(acc[j]), b.scale[j]), b.bias[j]);
  if (ep.residual_f32 || ep.residual_i8) {
    float r[16] = {};
    const int64_t off = pixel * ep.ld_residual + c0;
    if (ep.residual_f32) {
      std::memcpy(r, ep.residual_f32 + off, static_cast<size_t>(n) * sizeof(float));
    } else {
      for (int64_t j = 0; j < n; ++j) {
        r[j] = ep.residual_scale * static_cast<float>(static_cast<int32_t>(ep.residual_i8[off + j]) - ep.residual_zero_point);
      }
    }
    for (int j = 0; j < 4; ++j) v[j] = vaddq_f32(v[j], vld1q_f32(r + 4 * j));
  }
  const float32x4_t lo = vdupq_n_f32(ep.out_min), hi = vdupq_n_f32(ep.out_max);
  for (int j = 0; j < 4; ++j) v[j] = vminq_f32(vmaxq_f32(activate(ep, e, v[j]), lo), hi);
  const int64_t off = pixel * a.c + c0;
  if (!ep.out_i8) {
    float* y = static_cast<float*>(a.out) + off;
    if (n == 16) {
      for (int j = 0; j < 4; ++j) vst1q_f32(y + 4 * j, v[j]);
    } else {
      float t[16];
      for (int j = 0; j < 4; ++j) vst1q_f32(t + 4 * j, v[j]);
      std::memcpy(y, t, static_cast<size_t>(n) * sizeof(float));
    }
    return;
  }
  const float32x4_t os = vdupq_n_f32(ep.out_scale);
  const float32x4_t qlo = vdupq_n_f32(static_cast<float>(-128 - ep.out_zero_point));
  const float32x4_t qhi = vdupq_n_f32(static_cast<float>(127 - ep.out_zero_point));
  const int32x4_t zp = vdupq_n_s32(ep.out_zero_point);
  int32x4_t q[4];
  for (int j = 0; j < 4; ++j) q[j] = vaddq_s32(vcvtnq_s32_f32(vminnmq_f32(vmaxnmq_f32(vdivq_f32(v[j], os), qlo), qhi)), zp);
  const int8x16_t bytes = vcombine_s8(vqmovn_s16(vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]))),
                                      vqmovn_s16(vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]))));
  int8_t* y = static_cast<int8_t*>(a.out) + off;
  if (n == 16) {
    vst1q_s8(y, bytes);
  } else {
    int8_t t[16];
    vst1q_s8(t, bytes);
    std::memcpy(y, t, static_cast<size_t>(n));
  }
}

template <bool kFull>
inline void sums16(const Block& b, const int8_t* const* ptr, int64_t taps, int64_t n, int8x16_t zx, int32x4_t* acc) {
  int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t t = 0; t < taps; ++t) {
    const int8x16_t x = kFull ? vld1q_s8(ptr[t]) : load16(ptr[t], n);
    const int16x8_t lo = vsubl_s8(vget_low_s8(x), vget_low_s8(zx)), hi = vsubl_high_s8(x, zx);
    a0 = vmlal_s16(a0, vget_low_s16(lo), vget_low_s16(b.w[t][0]));
    a1 = vmlal_high_s16(a1, lo, b.w[t][0]);
    a2 = vmlal_s16(a2, vget_low_s16(hi), vget_low_s16(b.w[t][1]));
    a3 = vmlal_high_s16(a3, hi, b.w[t][1]);
  }
  acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

}  // namespace

void dwconv_qs8_rows_neon(const DwConvQs8Args& a, int64_t row0, int64_t rows) {
  const int64_t taps = a.kh * a.kw;
  if (taps > kMaxTaps) {
    dwconv_qs8_rows_scalar(a, row0, rows);
    return;
  }
  const int64_t C = a.c;
  Epi e;
  if (a.ep.act == QAct::Gelu || a.ep.act == QAct::GeluTanh) {
    e.gelu_fn = a.ep.act == QAct::GeluTanh ? gelu_f32_kernels().tanh_form : gelu_f32_kernels().erf_form;
  } else if (a.ep.act == QAct::Sigmoid || a.ep.act == QAct::SiLU || a.ep.act == QAct::Tanh) {
    e.act_fn = activation_f32_kernel().fn;
    e.act.kind = static_cast<Activation>(static_cast<int>(a.ep.act) + 2);
  }
  int8_t zrow[16];
  std::memset(zrow, static_cast<int8_t>(a.x_zero_point), sizeof(zrow));
  const int8x16_t zx = vdupq_n_s8(static_cast<int8_t>(a.x_zero_point));
  Block blk;
  const int8_t* ptr[kMaxTaps];
  // A last partial block moves back to end at C, overlapping the previous one (those channels are
  // computed and stored twice, with the same values), unless the residual is the output itself.
  const bool residual_in_place = (a.ep.residual_f32 && static_cast<const void*>(a.ep.residual_f32) == a.out) ||
                                 (a.ep.residual_i8 && static_cast<const void*>(a.ep.residual_i8) == a.out);
  const bool overlap_tail = C >= 16 && !residual_in_place;
  for (int64_t cb = 0; cb < C; cb += 16) {
    int64_t c0 = cb, n = std::min<int64_t>(16, C - cb);
    if (n < 16 && overlap_tail) c0 = C - 16, n = 16;
    build_block(a, c0, n, taps, &blk);
    for (int64_t row = row0; row < row0 + rows; ++row) {
      const int64_t b = row / a.oh, oy = row % a.oh;
      const int8_t* xb = a.x + b * a.h * a.w * C + c0;
      const int64_t iy0 = oy * a.stride_h - a.pad_top;
      for (int64_t ox = 0; ox < a.ow; ++ox) {
        const int64_t ix0 = ox * a.stride_w - a.pad_left;
        for (int64_t ky = 0; ky < a.kh; ++ky) {
          const int64_t iy = iy0 + ky * a.dilation_h;
          const bool row_in = iy >= 0 && iy < a.h;
          for (int64_t kx = 0; kx < a.kw; ++kx) {
            const int64_t ix = ix0 + kx * a.dilation_w;
            ptr[ky * a.kw + kx] = row_in && ix >= 0 && ix < a.w ? xb + (iy * a.w + ix) * C : zrow;
          }
        }
        int32x4_t acc[4];
        if (n == 16) sums16<true>(blk, ptr, taps, n, zx, acc);
        else sums16<false>(blk, ptr, taps, n, zx, acc);
        epilogue16(a, blk, e, acc, row * a.ow + ox, c0, n);
      }
    }
  }
}

}  // namespace pocket::kernels::quant_detail
