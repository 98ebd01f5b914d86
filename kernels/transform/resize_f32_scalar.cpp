// Linear resize (f32): a direct bilinear kernel over the last two axes, and a one-axis linear
// pass that the op chains for N-d linear resizes (multilinear interpolation is separable).
#include <algorithm>

#include "kernels/transform/transform.h"

namespace pocket::kernels {

namespace {

struct BilinearContext {
  const float* x;
  float* y;
  int64_t ih, iw, oh, ow;
  const LinearAxis* h;
  const LinearAxis* w;
};

// Rows [start, start + count) of the flattened [planes * oh] output rows.
void bilinear_rows(void* opaque, size_t start, size_t count) {
  const BilinearContext& c = *static_cast<const BilinearContext*>(opaque);
  for (size_t row = start; row < start + count; ++row) {
    const int64_t plane = static_cast<int64_t>(row) / c.oh;
    const int64_t oy = static_cast<int64_t>(row) % c.oh;
    const float* p = c.x + plane * c.ih * c.iw;
    const float* r0 = p + c.h->i0[oy] * c.iw;
    const float* r1 = p + c.h->i1[oy] * c.iw;
    const float wy = c.h->w[oy], wy0 = 1.f - wy;
    float* out = c.y + static_cast<int64_t>(row) * c.ow;
    for (int64_t ox = 0; ox < c.ow; ++ox) {
      const int64_t x0 = c.w->i0[ox], x1 = c.w->i1[ox];
      const float wx = c.w->w[ox], wx0 = 1.f - wx;
      out[ox] = wy0 * (wx0 * r0[x0] + wx * r0[x1]) + wy * (wx0 * r1[x0] + wx * r1[x1]);
    }
  }
}

struct AxisContext {
  const float* x;
  float* y;
  int64_t in_len, out_len, inner;
  const LinearAxis* a;
};

void axis_rows(void* opaque, size_t start, size_t count) {
  const AxisContext& c = *static_cast<const AxisContext*>(opaque);
  for (size_t row = start; row < start + count; ++row) {
    const int64_t outer = static_cast<int64_t>(row) / c.out_len;
    const int64_t o = static_cast<int64_t>(row) % c.out_len;
    const float* s0 = c.x + (outer * c.in_len + c.a->i0[o]) * c.inner;
    const float* s1 = c.x + (outer * c.in_len + c.a->i1[o]) * c.inner;
    const float w = c.a->w[o], w0 = 1.f - w;
    float* out = c.y + static_cast<int64_t>(row) * c.inner;
    for (int64_t k = 0; k < c.inner; ++k) out[k] = w0 * s0[k] + w * s1[k];
  }
}

}  // namespace

void resize_bilinear_f32(const float* x, float* y, int64_t planes, int64_t ih, int64_t iw, int64_t oh, int64_t ow,
                         const LinearAxis& h, const LinearAxis& w, pthreadpool_t pool) {
  const int64_t rows = planes * oh;
  if (rows == 0 || ow == 0 || ih == 0 || iw == 0) return;
  BilinearContext c{x, y, ih, iw, oh, ow, &h, &w};
  if (!pool || rows * ow < 32 * 1024) {
    bilinear_rows(&c, 0, static_cast<size_t>(rows));
    return;
  }
  pthreadpool_parallelize_1d_tile_1d(pool, bilinear_rows, &c, static_cast<size_t>(rows),
                                     static_cast<size_t>(std::max<int64_t>(1, 4096 / ow)), 0);
}

void resize_linear_axis_f32(const float* x, float* y, int64_t outer, int64_t in_len, int64_t out_len, int64_t inner,
                            const LinearAxis& axis, pthreadpool_t pool) {
  const int64_t rows = outer * out_len;
  if (rows == 0 || inner == 0 || in_len == 0) return;
  AxisContext c{x, y, in_len, out_len, inner, &axis};
  if (!pool || rows * inner < 32 * 1024) {
    axis_rows(&c, 0, static_cast<size_t>(rows));
    return;
  }
  pthreadpool_parallelize_1d_tile_1d(pool, axis_rows, &c, static_cast<size_t>(rows),
                                     static_cast<size_t>(std::max<int64_t>(1, 4096 / inner)), 0);
}

}  // namespace pocket::kernels
