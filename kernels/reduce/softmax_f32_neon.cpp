// NEON softmax / log-softmax (AArch64): rows vectorised along the row, an inner axis across four
// adjacent columns at a time (leftover columns one by one).
#include <arm_neon.h>

#include <cmath>
#include <limits>

#include "kernels/elementwise/math_f32_neon.h"
#include "kernels/reduce/reduce.h"

namespace pocket::kernels {

namespace {

using namespace neon;

float row_max(const float* x, size_t n) {
  float32x4_t m = vdupq_n_f32(-std::numeric_limits<float>::infinity());
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t v = vld1q_f32(x + i);
    m = vbslq_f32(vcgtq_f32(v, m), v, m);
  }
  float r = vmaxvq_f32(m);
  for (; i < n; ++i) r = x[i] > r ? x[i] : r;
  return r;
}

template <bool Log>
void softmax_row(const float* x, float* y, size_t n) {
  const float m = row_max(x, n);
  const float32x4_t mv = vdupq_n_f32(m);
  float32x4_t s = vdupq_n_f32(0.f);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t e = exp_ps(vsubq_f32(vld1q_f32(x + i), mv));
    if (!Log) vst1q_f32(y + i, e);
    s = vaddq_f32(s, e);
  }
  float sum = vaddvq_f32(s);
  for (; i < n; ++i) {
    const float e = std::exp(x[i] - m);
    if (!Log) y[i] = e;
    sum += e;
  }
  if (Log) {
    const float32x4_t shift = vdupq_n_f32(m + std::log(sum));
    map_ps(x, y, n, [shift](float32x4_t v) { return vsubq_f32(v, shift); });
  } else {
    const float32x4_t inv = vdupq_n_f32(1.f / sum);
    map_ps(y, y, n, [inv](float32x4_t v) { return vmulq_f32(v, inv); });
  }
}

template <bool Log>
void softmax_cols4(const float* x, float* y, size_t n, size_t stride) {
  float32x4_t m = vdupq_n_f32(-std::numeric_limits<float>::infinity());
  for (size_t i = 0; i < n; ++i) {
    const float32x4_t v = vld1q_f32(x + i * stride);
    m = vbslq_f32(vcgtq_f32(v, m), v, m);
  }
  float32x4_t s = vdupq_n_f32(0.f);
  for (size_t i = 0; i < n; ++i) {
    const float32x4_t e = exp_ps(vsubq_f32(vld1q_f32(x + i * stride), m));
    if (!Log) vst1q_f32(y + i * stride, e);
    s = vaddq_f32(s, e);
  }
  if (Log) {
    float b[4];
    vst1q_f32(b, s);
    for (float& v : b) v = std::log(v);
    const float32x4_t shift = vaddq_f32(m, vld1q_f32(b));
    for (size_t i = 0; i < n; ++i) vst1q_f32(y + i * stride, vsubq_f32(vld1q_f32(x + i * stride), shift));
  } else {
    const float32x4_t inv = vdivq_f32(vdupq_n_f32(1.f), s);
    for (size_t i = 0; i < n; ++i) vst1q_f32(y + i * stride, vmulq_f32(vld1q_f32(y + i * stride), inv));
  }
}

template <bool Log>
void softmax_col1(const float* x, float* y, size_t n, size_t stride) {
  float m = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i) m = x[i * stride] > m ? x[i * stride] : m;
  float sum = 0.f;
  for (size_t i = 0; i < n; ++i) {
    const float e = std::exp(x[i * stride] - m);
    if (!Log) y[i * stride] = e;
    sum += e;
  }
  if (Log) {
    const float shift = m + std::log(sum);
    for (size_t i = 0; i < n; ++i) y[i * stride] = x[i * stride] - shift;
  } else {
    const float inv = 1.f / sum;
    for (size_t i = 0; i < n; ++i) y[i * stride] *= inv;
  }
}

template <bool Log>
void softmax(const float* x, float* y, size_t n, size_t stride, size_t cols) {
  if (stride == 1) {
    for (size_t c = 0; c < cols; ++c) softmax_row<Log>(x + c, y + c, n);
    return;
  }
  size_t c = 0;
  for (; c + 4 <= cols; c += 4) softmax_cols4<Log>(x + c, y + c, n, stride);
  for (; c < cols; ++c) softmax_col1<Log>(x + c, y + c, n, stride);
}

}  // namespace

void fill_softmax_f32_neon(ReduceKernels& t) {
  t.softmax_f32 = softmax<false>;
  t.log_softmax_f32 = softmax<true>;
  t.softmax_isa = "neon";
}

}  // namespace pocket::kernels
