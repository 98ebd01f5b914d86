// The Winograd tile transforms and the GEMM panel, written once over a small vector interface and
// instantiated by each ISA file (winograd_f32_{scalar,avx2,avx512,neon}.cpp) with its own Ops,
// declared in that file's anonymous namespace so the instantiations stay local to it.
//
// Ops provides: using V; kLanes; zero(); load(p); load_n(p, n) (n < kLanes lanes, rest 0);
// store(p, v); store_n(p, v, n); add; sub; fmadd(a, s, b) = a * s + b with a float s;
// fma(a, b, c) = a * b + c; broadcast(s); clamp(v, lo, hi).
// Internal header of kernels/conv: include only from those files.
#pragma once

#include <algorithm>
#include <cstdint>

namespace pocket::kernels::winograd_impl {

// 1-D B^T of F(4,3) (points 0, +-1, +-2, inf): 6 -> 6.
template <class O, class V = typename O::V>
inline void bt6(V d0, V d1, V d2, V d3, V d4, V d5, V* r) {
  r[0] = O::fmadd(d0, 4.f, O::fmadd(d2, -5.f, d4));
  r[1] = O::fmadd(O::add(d1, d2), -4.f, O::add(d3, d4));
  r[2] = O::fmadd(O::sub(d1, d2), 4.f, O::sub(d4, d3));
  r[3] = O::fmadd(O::sub(d3, d1), 2.f, O::sub(d4, d2));
  r[4] = O::fmadd(O::sub(d1, d3), 2.f, O::sub(d4, d2));
  r[5] = O::fmadd(d1, 4.f, O::fmadd(d3, -5.f, d5));
}

// 1-D A^T of F(4,3): 6 -> 4.
template <class O, class V = typename O::V>
inline void at6(V m0, V m1, V m2, V m3, V m4, V m5, V* o) {
  const V s12 = O::add(m1, m2), d12 = O::sub(m1, m2), s34 = O::add(m3, m4), d34 = O::sub(m3, m4);
  o[0] = O::add(O::add(m0, s12), s34);
  o[1] = O::fmadd(d34, 2.f, d12);
  o[2] = O::fmadd(s34, 4.f, s12);
  o[3] = O::add(O::fmadd(d34, 8.f, d12), m5);
}

// 1-D B^T of F(2,3): 4 -> 4.
template <class O, class V = typename O::V>
inline void bt4(V d0, V d1, V d2, V d3, V* r) {
  r[0] = O::sub(d0, d2);
  r[1] = O::add(d1, d2);
  r[2] = O::sub(d2, d1);
  r[3] = O::sub(d1, d3);
}

// 1-D A^T of F(2,3): 4 -> 2.
template <class O, class V = typename O::V>
inline void at4(V m0, V m1, V m2, V m3, V* o) {
  o[0] = O::add(O::add(m0, m1), m2);
  o[1] = O::sub(O::sub(m1, m2), m3);
}

// Input tile of size A (6 or 4): v[k * ldv + ch] for every channel, computed kLanes at a time.
// ldv >= round_up(c, kLanes): the last vector is stored whole (its extra lanes are zero).
template <class O, int A>
inline void input_tile(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, float* v,
                       int64_t ldv) {
  using V = typename O::V;
  bool row_in[A], col_in[A];
  bool all_in = true;
  for (int i = 0; i < A; ++i) {
    row_in[i] = iy0 + i >= 0 && iy0 + i < h;
    col_in[i] = ix0 + i >= 0 && ix0 + i < w;
    all_in = all_in && row_in[i] && col_in[i];
  }
  const int64_t pixel = c, row = w * c;
  const float* base = x + iy0 * row + ix0 * pixel;  // only dereferenced inside the image
  for (int64_t ch = 0; ch < c; ch += O::kLanes) {
    const int n = static_cast<int>(std::min<int64_t>(O::kLanes, c - ch));
    V d[A][A];
    if (all_in && n == O::kLanes) {
      for (int i = 0; i < A; ++i)
        for (int j = 0; j < A; ++j) d[i][j] = O::load(base + i * row + j * pixel + ch);
    } else {
      for (int i = 0; i < A; ++i)
        for (int j = 0; j < A; ++j) {
          if (!row_in[i] || !col_in[j])
            d[i][j] = O::zero();
          else if (n == O::kLanes)
            d[i][j] = O::load(base + i * row + j * pixel + ch);
          else
            d[i][j] = O::load_n(base + i * row + j * pixel + ch, n);
        }
    }
    V t[A][A];
    for (int j = 0; j < A; ++j) {
      V r[A];
      if constexpr (A == 6)
        bt6<O>(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j], r);
      else
        bt4<O>(d[0][j], d[1][j], d[2][j], d[3][j], r);
      for (int i = 0; i < A; ++i) t[i][j] = r[i];
    }
    for (int i = 0; i < A; ++i) {
      V r[A];
      if constexpr (A == 6)
        bt6<O>(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], r);
      else
        bt4<O>(t[i][0], t[i][1], t[i][2], t[i][3], r);
      for (int j = 0; j < A; ++j) O::store(v + (i * A + j) * ldv + ch, r[j]);
    }
  }
}

// Output tile: A = 6 (R = 4) or A = 4 (R = 2). mo rows hold round_up(m, 16) columns.
template <class O, int A>
inline void output_tile(const float* mo, int64_t ldm, int64_t m, const float* bias, const float* residual, float* y,
                        int64_t oh, int64_t ow, int64_t oy0, int64_t ox0, float lo, float hi) {
  using V = typename O::V;
  constexpr int R = A - 2;
  const int rows = static_cast<int>(std::min<int64_t>(R, oh - oy0));
  const int cols = static_cast<int>(std::min<int64_t>(R, ow - ox0));
  for (int64_t j0 = 0; j0 < m; j0 += O::kLanes) {
    const int n = static_cast<int>(std::min<int64_t>(O::kLanes, m - j0));
    V t[R][A];
    for (int b = 0; b < A; ++b) {
      V col[A];
      for (int a = 0; a < A; ++a) col[a] = O::load(mo + (a * A + b) * ldm + j0);
      V o[R];
      if constexpr (A == 6)
        at6<O>(col[0], col[1], col[2], col[3], col[4], col[5], o);
      else
        at4<O>(col[0], col[1], col[2], col[3], o);
      for (int i = 0; i < R; ++i) t[i][b] = o[i];
    }
    const V bv = O::load(bias + j0);
    for (int i = 0; i < rows; ++i) {
      V o[R];
      if constexpr (A == 6)
        at6<O>(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], o);
      else
        at4<O>(t[i][0], t[i][1], t[i][2], t[i][3], o);
      const int64_t off = ((oy0 + i) * ow + ox0) * m + j0;
      for (int j = 0; j < cols; ++j) {
        V r = O::add(o[j], bv);
        if (residual)
          r = O::add(r, n == O::kLanes ? O::load(residual + off + j * m) : O::load_n(residual + off + j * m, n));
        r = O::clamp(r, lo, hi);
        if (n == O::kLanes)
          O::store(y + off + j * m, r);
        else
          O::store_n(y + off + j * m, r, n);
      }
    }
  }
}

// ROWS x 16 block of a panel product, accumulators in registers.
template <class O, int ROWS>
inline void gemm_block(int64_t k, const float* a, int64_t lda, const float* panel, float* out, int64_t ldo) {
  using V = typename O::V;
  constexpr int NV = 16 / O::kLanes;
  V acc[ROWS][NV];
  for (int r = 0; r < ROWS; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = O::zero();
  for (int64_t p = 0; p < k; ++p) {
    V b[NV];
    for (int v = 0; v < NV; ++v) b[v] = O::load(panel + p * 16 + v * O::kLanes);
    for (int r = 0; r < ROWS; ++r) {
      const V ar = O::broadcast(a[r * lda + p]);
      for (int v = 0; v < NV; ++v) acc[r][v] = O::fma(ar, b[v], acc[r][v]);
    }
  }
  for (int r = 0; r < ROWS; ++r)
    for (int v = 0; v < NV; ++v) O::store(out + r * ldo + v * O::kLanes, acc[r][v]);
}

// The last rows < MAXR of a panel product, as one block of exactly that size.
template <class O, int R>
inline void gemm_rest(int64_t rest, int64_t k, const float* a, int64_t lda, const float* panel, float* out,
                      int64_t ldo) {
  if constexpr (R >= 1) {
    if (rest == R)
      gemm_block<O, R>(k, a, lda, panel, out, ldo);
    else
      gemm_rest<O, R - 1>(rest, k, a, lda, panel, out, ldo);
  }
}

template <class O, int MAXR>
inline void gemm_panel(int64_t rows, int64_t k, const float* a, int64_t lda, const float* panel, float* out,
                       int64_t ldo) {
  int64_t i = 0;
  for (; i + MAXR <= rows; i += MAXR) gemm_block<O, MAXR>(k, a + i * lda, lda, panel, out + i * ldo, ldo);
  if (i < rows) gemm_rest<O, MAXR - 1>(rows - i, k, a + i * lda, lda, panel, out + i * ldo, ldo);
}

}  // namespace pocket::kernels::winograd_impl
