// NEON dot-product int8 GEMM (ARMv8.2 sdot), 4x16 tile: sdot sums four K values of raw int8 A and
// B per 32-bit lane, 16 accumulators; the driver removes A's zero point with the column sums
// (acc -= za * colsum, exact modulo 2^32).
// Packed A: int8 a[kgroups][4][4] (row r's four K values at 4r; rows past `rows` and K past kc
// zero), one 16-byte load per group feeds sdot by lane. Packed B (kr 4): per group 64 bytes,
// column c's four K values at 4c: four q registers.
#include <arm_neon.h>

#include "kernels/quant/qgemm_impl.h"

namespace pocket::kernels {

namespace {

constexpr int64_t kMr = 4;

template <int R>
void micro_rows(int64_t kgroups, const int8_t* a, const int8_t* b, int32_t* acc, int64_t ld_acc, bool accumulate) {
  int32x4_t c[kMr][4];
  for (int r = 0; r < kMr; ++r)
    for (int q = 0; q < 4; ++q) c[r][q] = vdupq_n_s32(0);
  for (int64_t g = 0; g < kgroups; ++g) {
    const int8x16_t av = vld1q_s8(a + g * 16);
    const int8x16_t b0 = vld1q_s8(b + g * 64), b1 = vld1q_s8(b + g * 64 + 16);
    const int8x16_t b2 = vld1q_s8(b + g * 64 + 32), b3 = vld1q_s8(b + g * 64 + 48);
#define POCKET_QGEMM_ROW(r)                        \
  if constexpr (R > r) {                           \
    c[r][0] = vdotq_laneq_s32(c[r][0], b0, av, r); \
    c[r][1] = vdotq_laneq_s32(c[r][1], b1, av, r); \
    c[r][2] = vdotq_laneq_s32(c[r][2], b2, av, r); \
    c[r][3] = vdotq_laneq_s32(c[r][3], b3, av, r); \
  }
    POCKET_QGEMM_ROW(0)
    POCKET_QGEMM_ROW(1)
    POCKET_QGEMM_ROW(2)
    POCKET_QGEMM_ROW(3)
#undef POCKET_QGEMM_ROW
  }
  for (int r = 0; r < R; ++r) {
    int32_t* o = acc + r * ld_acc;
    for (int q = 0; q < 4; ++q) {
      int32x4_t v = c[r][q];
      if (accumulate) v = vaddq_s32(v, vld1q_s32(o + 4 * q));
      vst1q_s32(o + 4 * q, v);
    }
  }
}

}  // namespace

void qgemm_pack_a_neondot(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t*, void* dst) {
  const int64_t groups = (kc + 3) / 4;
  auto* d = static_cast<int8_t*>(dst);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t r = 0; r < kMr; ++r) {
      for (int64_t t = 0; t < 4; ++t) {
        const int64_t p = g * 4 + t;
        d[g * 16 + r * 4 + t] = r < rows && p < kc ? a[r * lda + p] : 0;
      }
    }
  }
}

void qgemm_micro_neondot(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc, int64_t ld_acc,
                         bool accumulate) {
  const auto* ap = static_cast<const int8_t*>(a);
  switch (rows) {
    case 1: micro_rows<1>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 2: micro_rows<2>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    case 3: micro_rows<3>(kgroups, ap, b, acc, ld_acc, accumulate); break;
    default: micro_rows<kMr>(kgroups, ap, b, acc, ld_acc, accumulate); break;
  }
}

void qgemm_epilogue_neondot(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols, const int32_t* acc,
                            int64_t ld_acc) {
  qgemm_epilogue_generic(g, i, rows, j, cols, acc, ld_acc);
}

}  // namespace pocket::kernels
