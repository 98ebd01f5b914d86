// Scalar depthwise int8 convolution: the reference. int32 sums of (x - zx) * w per channel
// (padding reads the zero point, so out-of-image taps add nothing), then the GEMM epilogue.
#include "kernels/quant/quant_ops_impl.h"

namespace pocket::kernels::quant_detail {

void dwconv_qs8_rows_scalar(const DwConvQs8Args& a, int64_t row0, int64_t rows) {
  const int64_t C = a.c;
  for (int64_t row = row0; row < row0 + rows; ++row) {
    const int64_t b = row / a.oh, oy = row % a.oh;
    const int8_t* xb = a.x + b * a.h * a.w * C;
    for (int64_t ox = 0; ox < a.ow; ++ox) {
      const int64_t pixel = row * a.ow + ox;
      for (int64_t c = 0; c < C; ++c) {
        int32_t acc = 0;
        for (int64_t ky = 0; ky < a.kh; ++ky) {
          const int64_t iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
          if (iy < 0 || iy >= a.h) continue;
          for (int64_t kx = 0; kx < a.kw; ++kx) {
            const int64_t ix = ox * a.stride_w - a.pad_left + kx * a.dilation_w;
            if (ix < 0 || ix >= a.w) continue;
            acc += (static_cast<int32_t>(xb[(iy * a.w + ix) * C + c]) - a.x_zero_point) *
                   static_cast<int32_t>(a.weights[(ky * a.kw + kx) * C + c]);
          }
        }
        epilogue_store(a.ep, epilogue_real(a.ep, acc, pixel, c), a.out, pixel * C + c);
      }
    }
  }
}

}  // namespace pocket::kernels::quant_detail
