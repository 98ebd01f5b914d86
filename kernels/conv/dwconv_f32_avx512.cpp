// AVX-512 depthwise conv: 16 channels per zmm, masked tails; the body is dwconv_f32_tile.h.
#include <immintrin.h>

#include "kernels/conv/dwconv_f32_tile.h"

namespace pocket::kernels {

namespace {

struct Avx512 {
  using reg = __m512;
  static constexpr int kWidth = 16;
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg load_part(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static void store_part(float* p, reg v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg set1(float v) { return _mm512_set1_ps(v); }
};

}  // namespace

void dwconv_f32_tile_avx512(const DwConvF32Params& p, const float* x, const float* residual, float* y, int64_t row,
                            int64_t ox0, int64_t ox1) {
  dwconv_detail::tile<Avx512>(p, x, residual, y, row, ox0, ox1);
}

}  // namespace pocket::kernels
