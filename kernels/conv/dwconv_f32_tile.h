// The body of every vector depthwise-conv variant (kernels/conv/dwconv_f32.h), written once over a
// small vector-traits type V and included by dwconv_f32_{avx2,avx512,neon}.cpp, each compiled with
// its own ISA flags. V provides: reg, kWidth, load, load_part (n < kWidth lanes, rest 0), store,
// store_part, fma(a, b, c) = a * b + c, add, min, max, set1.
//
// One call covers output pixels [ox0, ox1) of one output row, for all channels. The row splits into
// a left border, an interior whose windows lie inside the image horizontally, and a right border;
// each pixel (or block of pixels) runs every channel group (kWidth channels) before moving on, so
// the input columns it reads stay in L1. 3x3 and 5x5 interiors (stride 1
// or 2) run register blocks of 8/4/2/1 output pixels: each input vector is loaded once per kernel
// row and feeds every (pixel, tap) pair that uses it. Borders and other kernel sizes go pixel by
// pixel with the column range of the window clipped to the image. Rows above and below the image
// point at a zero row, so no path checks rows.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/conv/dwconv_f32.h"

// The register blocks below rely on full unrolling (the accumulators must stay in registers).
// Sanitizer builds (POCKET_SANITIZER_BUILD, cmake/PocketSanitize.cmake) leave the loops rolled:
// instrumenting the fully unrolled blocks takes clang a minute per file, the rolled loops compute
// the same values, and those builds are for finding bugs, not for speed.
#if defined(POCKET_SANITIZER_BUILD)
#define POCKET_DW_UNROLL(n)
#else
#define POCKET_DW_PRAGMA(x) _Pragma(#x)
#define POCKET_DW_UNROLL(n) POCKET_DW_PRAGMA(GCC unroll n)
#endif

namespace pocket::kernels::dwconv_detail {

template <class V>
struct Row {
  const float* rows[kDwConvMaxKernel];  // input row per kernel row (zero row when outside)
  float* y;                             // output row
  const float* r;                       // residual row or nullptr
  int64_t C, KH, KW, SW, pad_left, in_w;
  typename V::reg lo, hi;
};

template <class V, bool P>
inline typename V::reg ld(const float* p, int n) {
  if constexpr (P) return V::load_part(p, n);
  else return V::load(p);
}

template <class V, bool P>
inline void finish(const Row<V>& c, typename V::reg acc, int64_t ox, int64_t c0, int n) {
  const int64_t off = ox * c.C + c0;
  if (c.r) acc = V::add(acc, ld<V, P>(c.r + off, n));
  acc = V::min(V::max(acc, c.lo), c.hi);
  if constexpr (P) V::store_part(c.y + off, acc, n);
  else V::store(c.y + off, acc);
}

// Any kernel size: one output pixel, the window's columns clipped to the image. Four accumulators
// (kernel row parity x column parity) keep the FMA chains short.
template <class V, bool P>
inline void pixel(const Row<V>& c, const float* wg, int64_t ox, int64_t c0, int n) {
  using R = typename V::reg;
  constexpr int T = V::kWidth;
  const int64_t ix = ox * c.SW - c.pad_left;
  const int64_t kx0 = std::max<int64_t>(0, -ix), kx1 = std::min<int64_t>(c.KW, c.in_w - ix);
  R a0 = V::load(wg + c.KH * c.KW * T), a1 = V::set1(0.f), a2 = a1, a3 = a1;
  auto kernel_row = [&](int64_t ky, R& A, R& B) {
    const float* r = c.rows[ky] + ix * c.C + c0;
    const float* w = wg + ky * c.KW * T;
    int64_t kx = kx0;
    for (; kx + 2 <= kx1; kx += 2) {
      A = V::fma(ld<V, P>(r + kx * c.C, n), V::load(w + kx * T), A);
      B = V::fma(ld<V, P>(r + (kx + 1) * c.C, n), V::load(w + (kx + 1) * T), B);
    }
    if (kx < kx1) A = V::fma(ld<V, P>(r + kx * c.C, n), V::load(w + kx * T), A);
  };
  int64_t ky = 0;
  for (; ky + 2 <= c.KH; ky += 2) {
    kernel_row(ky, a0, a1);
    kernel_row(ky + 1, a2, a3);
  }
  if (ky < c.KH) kernel_row(ky, a0, a1);
  finish<V, P>(c, V::add(V::add(a0, a1), V::add(a2, a3)), ox, c0, n);
}

// Every channel group of one output pixel.
template <class V>
inline void pixel_all(const Row<V>& c, const float* packed, int64_t group_floats, int64_t ox) {
  constexpr int T = V::kWidth;
  int64_t c0 = 0;
  for (; c0 + T <= c.C; c0 += T) pixel<V, false>(c, packed + (c0 / T) * group_floats, ox, c0, T);
  if (c0 < c.C) pixel<V, true>(c, packed + (c0 / T) * group_floats, ox, c0, static_cast<int>(c.C - c0));
}

// PX consecutive interior output pixels starting at ox, K x K kernel, stride S.
template <class V, bool P, int K, int S, int PX>
inline void block(const Row<V>& c, const float* wg, int64_t ox, int64_t c0, int n) {
  constexpr int T = V::kWidth;
  constexpr int NI = (PX - 1) * S + K;  // input columns the block reads per kernel row
  using R = typename V::reg;
  const R bias = V::load(wg + K * K * T);
  R acc[PX];
POCKET_DW_UNROLL(8)
  for (int p = 0; p < PX; ++p) acc[p] = bias;
  const int64_t ix = ox * S - c.pad_left;
  const int64_t C = c.C;
POCKET_DW_UNROLL(5)
  for (int ky = 0; ky < K; ++ky) {
    const float* r = c.rows[ky] + ix * C + c0;
    R w[K];
POCKET_DW_UNROLL(5)
    for (int kx = 0; kx < K; ++kx) w[kx] = V::load(wg + (ky * K + kx) * T);
POCKET_DW_UNROLL(24)
    for (int i = 0; i < NI; ++i) {
      const R v = ld<V, P>(r + i * C, n);
POCKET_DW_UNROLL(5)
      for (int kx = 0; kx < K; ++kx) {
        const int d = i - kx;
        if (d >= 0 && d % S == 0 && d / S < PX) acc[d / S] = V::fma(v, w[kx], acc[d / S]);
      }
    }
  }
POCKET_DW_UNROLL(8)
  for (int p = 0; p < PX; ++p) finish<V, P>(c, acc[p], ox + p, c0, n);
}

// PX pixels, every channel group: the block's input columns (all channels) stay in L1 while the
// groups walk across them.
template <class V, int K, int S, int PX>
inline void block_all(const Row<V>& c, const float* packed, int64_t group_floats, int64_t ox) {
  constexpr int T = V::kWidth;
  int64_t c0 = 0;
  for (; c0 + T <= c.C; c0 += T) block<V, false, K, S, PX>(c, packed + (c0 / T) * group_floats, ox, c0, T);
  if (c0 < c.C)
    block<V, true, K, S, PX>(c, packed + (c0 / T) * group_floats, ox, c0, static_cast<int>(c.C - c0));
}

template <class V, int K, int S>
inline void interior(const Row<V>& c, const float* packed, int64_t group_floats, int64_t ox, int64_t end) {
  for (; ox + 8 <= end; ox += 8) block_all<V, K, S, 8>(c, packed, group_floats, ox);
  if (ox + 4 <= end) block_all<V, K, S, 4>(c, packed, group_floats, ox), ox += 4;
  if (ox + 2 <= end) block_all<V, K, S, 2>(c, packed, group_floats, ox), ox += 2;
  if (ox < end) block_all<V, K, S, 1>(c, packed, group_floats, ox);
}

template <class V>
void tile(const DwConvF32Params& p, const float* x, const float* residual, float* y, int64_t row, int64_t ox0,
          int64_t ox1) {
  constexpr int T = V::kWidth;
  const int64_t C = p.channels;
  const int64_t b = row / p.out_h, oy = row % p.out_h;
  Row<V> c;
  const float* xb = x + b * p.in_h * p.in_w * C;
  for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
    const int64_t iy = oy * p.stride_h - p.pad_top + ky;
    c.rows[ky] = iy >= 0 && iy < p.in_h ? xb + iy * p.in_w * C : p.zeros;
  }
  c.y = y + row * p.out_w * C;
  c.r = residual ? residual + row * p.out_w * C : nullptr;
  c.C = C, c.KH = p.kernel_h, c.KW = p.kernel_w, c.SW = p.stride_w, c.pad_left = p.pad_left, c.in_w = p.in_w;
  c.lo = V::set1(p.out_min), c.hi = V::set1(p.out_max);
  // Interior: ox * SW - pad_left >= 0 and ox * SW - pad_left + KW <= in_w.
  const int64_t first = (p.pad_left + p.stride_w - 1) / p.stride_w;
  const int64_t span = p.in_w - p.kernel_w + p.pad_left;
  const int64_t lo = std::clamp(first, ox0, ox1);
  const int64_t hi = span < 0 ? lo : std::clamp(span / p.stride_w + 1, lo, ox1);
  const int64_t group_floats = (p.kernel_h * p.kernel_w + 1) * T;
  for (int64_t ox = ox0; ox < lo; ++ox) pixel_all<V>(c, p.packed, group_floats, ox);
  const int64_t k = c.KH == c.KW ? c.KH : 0;
  if (k == 3 && c.SW == 1) interior<V, 3, 1>(c, p.packed, group_floats, lo, hi);
  else if (k == 3 && c.SW == 2) interior<V, 3, 2>(c, p.packed, group_floats, lo, hi);
  else if (k == 5 && c.SW == 1) interior<V, 5, 1>(c, p.packed, group_floats, lo, hi);
  else if (k == 5 && c.SW == 2) interior<V, 5, 2>(c, p.packed, group_floats, lo, hi);
  else
    for (int64_t ox = lo; ox < hi; ++ox) pixel_all<V>(c, p.packed, group_floats, ox);
  for (int64_t ox = hi; ox < ox1; ++ox) pixel_all<V>(c, p.packed, group_floats, ox);
}

}  // namespace pocket::kernels::dwconv_detail
