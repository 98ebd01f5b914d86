// The reference int8 GEMM: plain loops, nr 8, kr 1, A packed as int16 (A - za) so the zero point
// never needs a correction.
#include "kernels/quant/qgemm_impl.h"

namespace pocket::kernels {

namespace {
constexpr int64_t kNr = 8;
}

// dst: int16 a[kc][rows] = A(r, p) - za[r].
void qgemm_pack_a_scalar(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t* za, void* dst) {
  auto* d = static_cast<int16_t*>(dst);
  for (int64_t p = 0; p < kc; ++p)
    for (int64_t r = 0; r < rows; ++r) d[p * rows + r] = static_cast<int16_t>(a[r * lda + p] - za[r]);
}

void qgemm_micro_scalar(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc, int64_t ld_acc,
                        bool accumulate) {
  const auto* ap = static_cast<const int16_t*>(a);
  for (int64_t r = 0; r < rows; ++r) {
    int32_t sum[kNr];
    for (int64_t c = 0; c < kNr; ++c) sum[c] = accumulate ? acc[r * ld_acc + c] : 0;
    for (int64_t p = 0; p < kgroups; ++p) {
      const int32_t x = ap[p * rows + r];
      for (int64_t c = 0; c < kNr; ++c) sum[c] += x * static_cast<int32_t>(b[p * kNr + c]);
    }
    for (int64_t c = 0; c < kNr; ++c) acc[r * ld_acc + c] = sum[c];
  }
}

void qgemm_epilogue_scalar(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols, const int32_t* acc,
                           int64_t ld_acc) {
  qgemm_epilogue_generic(g, i, rows, j, cols, acc, ld_acc);
}

}  // namespace pocket::kernels
