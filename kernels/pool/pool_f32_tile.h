// The body of the vector pooling variants, written once over a vector-traits type V (reg, kWidth,
// load, load_part, store, store_part, add, max, mul, set1) and included by pool_f32_avx2.cpp and
// pool_f32_neon.cpp. Per output pixel: the window's row and column ranges are clipped to the image
// once, then channel blocks of 4 vectors, then one block of 3, 2 or 1 vectors and a partial vector
// are reduced in registers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/pool/pool_f32.h"

namespace pocket::kernels::pool_detail {

// First k in [0, kernel) with start + k * dilation >= 0, and one past the last with < size.
inline void clip(int64_t start, int64_t kernel, int64_t dilation, int64_t size, int64_t* k0, int64_t* k1) {
  *k0 = start < 0 ? (-start + dilation - 1) / dilation : 0;
  *k1 = size - 1 - start < 0 ? 0 : std::min(kernel, (size - 1 - start) / dilation + 1);
  if (*k1 < *k0) *k1 = *k0;
}

struct Window {
  const float* base;  // x at (iy0, ix0, channel 0)
  int64_t rows, cols, row_step, col_step;
};

template <class V, bool kMax, int U>
inline void reduce(const Window& w, float* out, int64_t c, typename V::reg init, typename V::reg scale) {
  using R = typename V::reg;
  constexpr int T = V::kWidth;
  R acc[U];
#pragma GCC unroll 4
  for (int u = 0; u < U; ++u) acc[u] = init;
  for (int64_t r = 0; r < w.rows; ++r) {
    const float* in = w.base + r * w.row_step + c;
    for (int64_t q = 0; q < w.cols; ++q, in += w.col_step) {
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) acc[u] = kMax ? V::max(acc[u], V::load(in + u * T)) : V::add(acc[u], V::load(in + u * T));
    }
  }
#pragma GCC unroll 4
  for (int u = 0; u < U; ++u) V::store(out + c + u * T, kMax ? acc[u] : V::mul(acc[u], scale));
}

template <class V, bool kMax>
inline void reduce_part(const Window& w, float* out, int64_t c, int n, typename V::reg init, typename V::reg scale) {
  typename V::reg acc = init;
  for (int64_t r = 0; r < w.rows; ++r) {
    const float* in = w.base + r * w.row_step + c;
    for (int64_t q = 0; q < w.cols; ++q, in += w.col_step)
      acc = kMax ? V::max(acc, V::load_part(in, n)) : V::add(acc, V::load_part(in, n));
  }
  V::store_part(out + c, kMax ? acc : V::mul(acc, scale), n);
}

template <class V, bool kMax>
inline void reduce_channels(const Window& w, float* out, int64_t C, float scale_f) {
  constexpr int T = V::kWidth;
  const typename V::reg init = V::set1(kMax ? -std::numeric_limits<float>::infinity() : 0.f);
  const typename V::reg scale = V::set1(scale_f);
  int64_t c = 0;
  for (; c + 4 * T <= C; c += 4 * T) reduce<V, kMax, 4>(w, out, c, init, scale);
  if (c + 3 * T <= C) reduce<V, kMax, 3>(w, out, c, init, scale), c += 3 * T;
  else if (c + 2 * T <= C) reduce<V, kMax, 2>(w, out, c, init, scale), c += 2 * T;
  else if (c + T <= C) reduce<V, kMax, 1>(w, out, c, init, scale), c += T;
  if (c < C) reduce_part<V, kMax>(w, out, c, static_cast<int>(C - c), init, scale);
}

template <class V, bool kMax>
void pool_row(const Pool2dF32Params& p, const float* x, float* y, int64_t row) {
  const int64_t C = p.channels;
  const int64_t b = row / p.out_h, oy = row % p.out_h;
  const int64_t dh = kMax ? p.dilation_h : 1, dw = kMax ? p.dilation_w : 1;
  const int64_t hs = oy * p.stride_h - p.pad_top;
  int64_t ky0, ky1;
  clip(hs, p.kernel_h, dh, p.in_h, &ky0, &ky1);
  const int64_t he = std::min(hs + p.kernel_h, p.in_h + p.pad_bottom);
  const float* xb = x + b * p.in_h * p.in_w * C;
  float* yrow = y + row * p.out_w * C;
  for (int64_t ox = 0; ox < p.out_w; ++ox) {
    const int64_t ws = ox * p.stride_w - p.pad_left;
    int64_t kx0, kx1;
    clip(ws, p.kernel_w, dw, p.in_w, &kx0, &kx1);
    Window w{xb + ((hs + ky0 * dh) * p.in_w + ws + kx0 * dw) * C, ky1 - ky0, kx1 - kx0, dh * p.in_w * C, dw * C};
    if (w.rows == 0 || w.cols == 0) w.rows = w.cols = 0, w.base = xb;
    float scale = 0.f;
    if constexpr (!kMax) {
      const int64_t we = std::min(ws + p.kernel_w, p.in_w + p.pad_right);
      const int64_t count = p.count_include_pad ? (he - hs) * (we - ws) : w.rows * w.cols;
      scale = count > 0 ? 1.f / static_cast<float>(count) : 0.f;
    }
    reduce_channels<V, kMax>(w, yrow + ox * C, C, scale);
  }
}

template <class V, bool kMax>
void global_pool(int64_t pixels, int64_t channels, const float* x, float* y, int64_t n, float scale) {
  const Window w{x, pixels, 1, channels, 0};
  reduce_channels<V, kMax>(w, y, n, scale);
}

}  // namespace pocket::kernels::pool_detail
