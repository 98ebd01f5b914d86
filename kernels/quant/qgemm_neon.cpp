// NEON int8 GEMM (ARMv8.0), 8x8 tile: B's bytes widened to int16 (sxtl), smlal / smlal2 by a row
// of A (int16, A - za) into two int32x4 per row: 16 accumulators.
// Packed A: int16 a[kc][8] (A - za; rows past `rows` zero). Packed B (kr 1): 8 bytes per K.
#include <arm_neon.h>

#include "kernels/quant/qgemm_impl.h"

namespace pocket::kernels {

namespace {

constexpr int64_t kMr = 8;

template <int R>
void micro_rows(int64_t kc, const int16_t* a, const int8_t* b, int32_t* acc, int64_t ld_acc, bool accumulate) {
  int32x4_t lo[R], hi[R];
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = vdupq_n_s32(0);
  for (int64_t p = 0; p < kc; ++p) {
    const int16x8_t bv = vmovl_s8(vld1_s8(b + p * 8));
    const int16x4_t bl = vget_low_s16(bv);
    const int16_t* ap = a + p * kMr;
    for (int r = 0; r < R; ++r) {
      lo[r] = vmlal_n_s16(lo[r], bl, ap[r]);
      hi[r] = vmlal_high_n_s16(hi[r], bv, ap[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    int32_t* o = acc + r * ld_acc;
    if (accumulate) {
      lo[r] = vaddq_s32(lo[r], vld1q_s32(o));
      hi[r] = vaddq_s32(hi[r], vld1q_s32(o + 4));
    }
    vst1q_s32(o, lo[r]);
    vst1q_s32(o + 4, hi[r]);
  }
}

}  // namespace

void qgemm_pack_a_neon(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t* za, void* dst) {
  auto* d = static_cast<int16_t*>(dst);
  for (int64_t p = 0; p < kc; ++p) {
    for (int64_t r = 0; r < rows; ++r) d[p * kMr + r] = static_cast<int16_t>(a[r * lda + p] - za[r]);
    for (int64_t r = rows; r < kMr; ++r) d[p * kMr + r] = 0;
  }
}

void qgemm_micro_neon(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc, int64_t ld_acc,
                      bool accumulate) {
  const auto* ap = static_cast<const int16_t*>(a);
  switch (rows) {
    case 1: micro_rows<1>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 2: micro_rows<2>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 3: micro_rows<3>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 4: micro_rows<4>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 5: micro_rows<5>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 6: micro_rows<6>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 7: micro_rows<7>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    default: micro_rows<kMr>(kgroups, ap, b, acc, ld_acc, accumulate); break;
  }
}

void qgemm_epilogue_neon(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols, const int32_t* acc,
                         int64_t ld_acc) {
  qgemm_epilogue_generic(g, i, rows, j, cols, acc, ld_acc);
}

}  // namespace pocket::kernels
