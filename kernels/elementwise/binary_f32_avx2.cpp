// AVX2 binary rows for f32: Add Sub Mul Div Max Min PRelu in the VV, VS and SV forms (Pow stays
// on the scalar reference). Max/Min keep the scalar reference's NaN behaviour (a < b ? b : a).
#include <immintrin.h>

#include <cstring>

#include "kernels/elementwise/elementwise.h"

namespace pocket::kernels {

namespace {

struct AddV { static __m256 f(__m256 a, __m256 b) { return _mm256_add_ps(a, b); } };
struct SubV { static __m256 f(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); } };
struct MulV { static __m256 f(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); } };
struct DivV { static __m256 f(__m256 a, __m256 b) { return _mm256_div_ps(a, b); } };
struct MaxV { static __m256 f(__m256 a, __m256 b) { return _mm256_max_ps(b, a); } };
struct MinV { static __m256 f(__m256 a, __m256 b) { return _mm256_min_ps(b, a); } };
struct PReluV {
  static __m256 f(__m256 a, __m256 b) {
    return _mm256_blendv_ps(a, _mm256_mul_ps(a, b), _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_LT_OQ));
  }
};

// Loads 8 lanes, or a broadcast scalar when the operand stays (Stride 0).
template <int Stride>
inline __m256 load(const float* p) {
  if constexpr (Stride == 0) return _mm256_broadcast_ss(p);
  else return _mm256_loadu_ps(p);
}

template <class Op, int SA, int SB>
void row(const float* a, const float* b, float* y, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 r0 = Op::f(load<SA>(a + i * SA), load<SB>(b + i * SB));
    const __m256 r1 = Op::f(load<SA>(a + (i + 8) * SA), load<SB>(b + (i + 8) * SB));
    _mm256_storeu_ps(y + i, r0);
    _mm256_storeu_ps(y + i + 8, r1);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, Op::f(load<SA>(a + i * SA), load<SB>(b + i * SB)));
  if (i < n) {
    const size_t k = n - i;
    float ba[8] = {}, bb[8] = {}, by[8];
    if (SA) std::memcpy(ba, a + i, k * sizeof(float));
    else ba[0] = a[0];
    if (SB) std::memcpy(bb, b + i, k * sizeof(float));
    else bb[0] = b[0];
    _mm256_storeu_ps(by, Op::f(load<SA>(ba), load<SB>(bb)));
    std::memcpy(y + i, by, k * sizeof(float));
  }
}

template <class Op>
void set(ElementwiseKernels& t, BinaryOp op) {
  auto& r = t.binary_f32[static_cast<int>(op)];
  r[static_cast<int>(RowForm::VV)] = row<Op, 1, 1>;
  r[static_cast<int>(RowForm::VS)] = row<Op, 1, 0>;
  r[static_cast<int>(RowForm::SV)] = row<Op, 0, 1>;
  t.binary_f32_isa[static_cast<int>(op)] = "avx2";
}

}  // namespace

void fill_binary_f32_avx2(ElementwiseKernels& t) {
  set<AddV>(t, BinaryOp::Add);
  set<SubV>(t, BinaryOp::Sub);
  set<MulV>(t, BinaryOp::Mul);
  set<DivV>(t, BinaryOp::Div);
  set<MaxV>(t, BinaryOp::Max);
  set<MinV>(t, BinaryOp::Min);
  set<PReluV>(t, BinaryOp::PRelu);
}

}  // namespace pocket::kernels
