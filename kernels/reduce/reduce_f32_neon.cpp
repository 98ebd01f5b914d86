// NEON row reductions and accumulations (AArch64), four accumulators per row.
#include <arm_neon.h>

#include <cmath>

#include "kernels/reduce/reduce.h"

namespace pocket::kernels {

namespace {

template <ReduceOp Op>
inline float32x4_t combine(float32x4_t acc, float32x4_t v) {
  if constexpr (Op == ReduceOp::Sum) return vaddq_f32(acc, v);
  else if constexpr (Op == ReduceOp::SumSquares) return vfmaq_f32(acc, v, v);
  // FMAX/FMIN (not FMAXNM/FMINNM) return NaN when either operand is NaN.
  else if constexpr (Op == ReduceOp::Max) return vmaxq_f32(acc, v);
  else if constexpr (Op == ReduceOp::Min) return vminq_f32(acc, v);
  else return vmulq_f32(acc, v);
}

template <ReduceOp Op>
inline float horizontal(float32x4_t v) {
  if constexpr (Op == ReduceOp::Max) return vmaxvq_f32(v);
  else if constexpr (Op == ReduceOp::Min) return vminvq_f32(v);
  else if constexpr (Op == ReduceOp::Prod)
    return (vgetq_lane_f32(v, 0) * vgetq_lane_f32(v, 1)) * (vgetq_lane_f32(v, 2) * vgetq_lane_f32(v, 3));
  else return vaddvq_f32(v);
}

template <ReduceOp Op>
float reduce_row(const float* x, size_t n) {
  const float32x4_t id = vdupq_n_f32(reduce_identity(Op));
  float32x4_t a0 = id, a1 = id, a2 = id, a3 = id;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = combine<Op>(a0, vld1q_f32(x + i));
    a1 = combine<Op>(a1, vld1q_f32(x + i + 4));
    a2 = combine<Op>(a2, vld1q_f32(x + i + 8));
    a3 = combine<Op>(a3, vld1q_f32(x + i + 12));
  }
  for (; i + 4 <= n; i += 4) a0 = combine<Op>(a0, vld1q_f32(x + i));
  float tail = reduce_identity(Op);
  for (; i < n; ++i) tail = reduce_combine(Op == ReduceOp::SumSquares ? ReduceOp::Sum : Op, tail,
                                           Op == ReduceOp::SumSquares ? x[i] * x[i] : x[i]);
  float r;
  if constexpr (Op == ReduceOp::Sum || Op == ReduceOp::SumSquares) {
    r = horizontal<ReduceOp::Sum>(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    return r + tail;
  } else {
    r = horizontal<Op>(combine<Op>(combine<Op>(a0, a1), combine<Op>(a2, a3)));
    return reduce_combine(Op, r, tail);
  }
}

template <ReduceOp Op>
void accumulate_row(const float* x, float* acc, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(acc + i, combine<Op>(vld1q_f32(acc + i), vld1q_f32(x + i)));
  // The tail rounds like the vector part (one fused multiply-add for SumSquares), so a column's
  // result does not depend on where a thread's chunk of the row ends.
  for (; i < n; ++i) {
    if constexpr (Op == ReduceOp::SumSquares) acc[i] = std::fma(x[i], x[i], acc[i]);
    else acc[i] = reduce_combine(Op, acc[i], x[i]);
  }
}

float sum_sq_dev(const float* x, size_t n, float mean) {
  const float32x4_t m = vdupq_n_f32(mean);
  float32x4_t a0 = vdupq_n_f32(0.f), a1 = vdupq_n_f32(0.f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t d0 = vsubq_f32(vld1q_f32(x + i), m);
    const float32x4_t d1 = vsubq_f32(vld1q_f32(x + i + 4), m);
    a0 = vfmaq_f32(a0, d0, d0);
    a1 = vfmaq_f32(a1, d1, d1);
  }
  for (; i + 4 <= n; i += 4) {
    const float32x4_t d = vsubq_f32(vld1q_f32(x + i), m);
    a0 = vfmaq_f32(a0, d, d);
  }
  float tail = 0.f;
  for (; i < n; ++i) tail += (x[i] - mean) * (x[i] - mean);
  return vaddvq_f32(vaddq_f32(a0, a1)) + tail;
}

template <ReduceOp Op>
void set(ReduceKernels& t) {
  t.reduce_row_f32[static_cast<int>(Op)] = reduce_row<Op>;
  t.accumulate_row_f32[static_cast<int>(Op)] = accumulate_row<Op>;
  t.reduce_isa[static_cast<int>(Op)] = "neon";
}

}  // namespace

void fill_reduce_f32_neon(ReduceKernels& t) {
  set<ReduceOp::Sum>(t);
  set<ReduceOp::SumSquares>(t);
  set<ReduceOp::Max>(t);
  set<ReduceOp::Min>(t);
  set<ReduceOp::Prod>(t);
  t.sum_sq_dev_f32 = sum_sq_dev;
  t.sum_sq_dev_isa = "neon";
}

}  // namespace pocket::kernels
