// NEON binary rows for f32 (AArch64): Add Sub Mul Div Max Min PRelu in VV, VS and SV forms.
// Max/Min select like the scalar reference (a < b ? b : a), not with FMAX, so NaN behaves alike.
#include <arm_neon.h>

#include <cstring>

#include "kernels/elementwise/elementwise.h"

namespace pocket::kernels {

namespace {

struct AddV { static float32x4_t f(float32x4_t a, float32x4_t b) { return vaddq_f32(a, b); } };
struct SubV { static float32x4_t f(float32x4_t a, float32x4_t b) { return vsubq_f32(a, b); } };
struct MulV { static float32x4_t f(float32x4_t a, float32x4_t b) { return vmulq_f32(a, b); } };
struct DivV { static float32x4_t f(float32x4_t a, float32x4_t b) { return vdivq_f32(a, b); } };
struct MaxV { static float32x4_t f(float32x4_t a, float32x4_t b) { return vbslq_f32(vcltq_f32(a, b), b, a); } };
struct MinV { static float32x4_t f(float32x4_t a, float32x4_t b) { return vbslq_f32(vcltq_f32(b, a), b, a); } };
struct PReluV {
  static float32x4_t f(float32x4_t a, float32x4_t b) { return vbslq_f32(vcltq_f32(a, vdupq_n_f32(0.f)), vmulq_f32(a, b), a); }
};

template <int Stride>
inline float32x4_t load(const float* p) {
  if constexpr (Stride == 0) return vld1q_dup_f32(p);
  else return vld1q_f32(p);
}

template <class Op, int SA, int SB>
void row(const float* a, const float* b, float* y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t r0 = Op::f(load<SA>(a + i * SA), load<SB>(b + i * SB));
    const float32x4_t r1 = Op::f(load<SA>(a + (i + 4) * SA), load<SB>(b + (i + 4) * SB));
    vst1q_f32(y + i, r0);
    vst1q_f32(y + i + 4, r1);
  }
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, Op::f(load<SA>(a + i * SA), load<SB>(b + i * SB)));
  if (i < n) {
    const size_t k = n - i;
    float ba[4] = {}, bb[4] = {}, by[4];
    if (SA) std::memcpy(ba, a + i, k * sizeof(float));
    else ba[0] = a[0];
    if (SB) std::memcpy(bb, b + i, k * sizeof(float));
    else bb[0] = b[0];
    vst1q_f32(by, Op::f(load<SA>(ba), load<SB>(bb)));
    std::memcpy(y + i, by, k * sizeof(float));
  }
}

template <class Op>
void set(ElementwiseKernels& t, BinaryOp op) {
  auto& r = t.binary_f32[static_cast<int>(op)];
  r[static_cast<int>(RowForm::VV)] = row<Op, 1, 1>;
  r[static_cast<int>(RowForm::VS)] = row<Op, 1, 0>;
  r[static_cast<int>(RowForm::SV)] = row<Op, 0, 1>;
  t.binary_f32_isa[static_cast<int>(op)] = "neon";
}

}  // namespace

void fill_binary_f32_neon(ElementwiseKernels& t) {
  set<AddV>(t, BinaryOp::Add);
  set<SubV>(t, BinaryOp::Sub);
  set<MulV>(t, BinaryOp::Mul);
  set<DivV>(t, BinaryOp::Div);
  set<MaxV>(t, BinaryOp::Max);
  set<MinV>(t, BinaryOp::Min);
  set<PReluV>(t, BinaryOp::PRelu);
}

}  // namespace pocket::kernels
