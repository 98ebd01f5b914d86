// Reference softmax and log-softmax along one axis (strided columns).
#include <cmath>
#include <limits>

#include "kernels/reduce/reduce.h"

namespace pocket::kernels {

namespace {

template <bool Log>
void softmax(const float* x, float* y, size_t n, size_t stride, size_t cols) {
  for (size_t c = 0; c < cols; ++c) {
    const float* xc = x + c;
    float* yc = y + c;
    float m = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < n; ++i) m = xc[i * stride] > m ? xc[i * stride] : m;
    float sum = 0.f;
    for (size_t i = 0; i < n; ++i) {
      const float e = std::exp(xc[i * stride] - m);
      if (!Log) yc[i * stride] = e;
      sum += e;
    }
    if (Log) {
      const float shift = m + std::log(sum);
      for (size_t i = 0; i < n; ++i) yc[i * stride] = xc[i * stride] - shift;
    } else {
      const float inv = 1.f / sum;
      for (size_t i = 0; i < n; ++i) yc[i * stride] *= inv;
    }
  }
}

}  // namespace

void fill_softmax_f32_scalar(ReduceKernels& t) {
  t.softmax_f32 = softmax<false>;
  t.log_softmax_f32 = softmax<true>;
  t.softmax_isa = "scalar";
}

}  // namespace pocket::kernels
