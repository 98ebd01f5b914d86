// The int8 GEMM variants' shared internals: the kernel table entry, the packed layouts and the
// f32 epilogue (compiled into each ISA file, so it vectorizes with that file's flags).
//
// Packed B (one layout for every variant, shaped by its nr and kr): N is cut into panels of nr
// columns (the last one zero-padded). Panel q starts at q * panel_bytes(k) and holds
//   int32 colsum[nr]                      sum over p of B(p, j) (0 for padded columns)
//   int8  b[kgroups][nr][kr]              b[g][c][t] = B(g * kr + t, q * nr + c), 0 past K or N
// with kgroups = ceil(K / kr); panel_bytes is rounded up to 64, the buffer is 64-byte aligned.
// The column sums let the variants that multiply raw (or +128 offset) A bytes remove A's zero
// point afterwards (acc -= (za + a_offset) * colsum); the others subtract it while packing A.
//
// Packed A (one mr-row block, one K block, on the driver's stack): pack_a writes kgroups groups;
// each variant documents its own element type and order next to its pack function:
//   scalar  int16 a[kc][rows]        (A - za)
//   avx2    int16 a[rows][kpad]      (A - za) row-major, kpad = 2 * kpairs: vpbroadcastd of one
//                                    row's K pair feeds vpmaddwd (packing is a plain widening copy)
//   neon    int16 a[kc][8]           (A - za), vmlal_laneq_s16 by row
//   neondot int8  a[kgroups][4][4]   raw A, sdot by lane (colsum correction, a_offset 0)
//   vnni    uint8 a[rows][kpad]      A + 128 row-major, kpad = 4 * kgroups: vpdpbusd (colsum
//                                    correction, a_offset 128)
// Rows past `rows` are never read (the micro-kernels are specialized per row count).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/activation/activation_f32.h"
#include "kernels/activation/gelu_f32.h"
#include "kernels/quant/qgemm.h"

namespace pocket::kernels {

// Packs rows [0, rows) x K values [0, kc) of A (A(r, p) = a[r * lda + p]) into dst; za[r] is row
// r's zero point. The last K group is zero-padded.
using QGemmPackAFn = void (*)(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t* za, void* dst);
// acc[r * ld_acc + c] (+)= sum over the kgroups of packed A row r times packed B column c, for
// r < rows (<= mr), c < nr (all nr columns are written: padded columns give 0).
using QGemmMicroFn = void (*)(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc,
                              int64_t ld_acc, bool accumulate);
// Turns acc rows [0, rows) x columns [0, cols) (C block at row i, column j) into C.
using QGemmEpilogueFn = void (*)(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols,
                                 const int32_t* acc, int64_t ld_acc);

struct QGemmKernel {
  const char* name;
  int64_t mr, nr, kr;       // register block; B panels nr wide, K in groups of kr
  int64_t a_bytes_per_kgroup;  // packed A bytes per K group for mr rows (<= kQGemmAPackBytes / kQGemmKc * kr)
  QGemmPackAFn pack_a;
  QGemmMicroFn micro;
  QGemmEpilogueFn epilogue;
  bool colsum_correction;   // acc -= (za + a_offset) * colsum after the last K block
  int32_t a_offset;
};

inline int64_t qgemm_kgroups(const QGemmKernel& k, int64_t kk) { return (kk + k.kr - 1) / k.kr; }
inline size_t qgemm_panel_bytes(const QGemmKernel& k, int64_t kk) {
  const size_t bytes = static_cast<size_t>(k.nr) * 4 + static_cast<size_t>(qgemm_kgroups(k, kk) * k.kr * k.nr);
  return (bytes + 63) / 64 * 64;
}

// Largest K block (a multiple of every kr), row block and tile width the driver uses; packed A
// and the int32 tile live on the driver's stack.
constexpr int64_t kQGemmKc = 512;
constexpr int64_t kQGemmMrMax = 8;
constexpr int64_t kQGemmNcMax = 256;
constexpr int64_t kQGemmAPackBytes = kQGemmMrMax * kQGemmKc * 2;

void qgemm_pack_a_scalar(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t* za, void* dst);
void qgemm_micro_scalar(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc, int64_t ld_acc,
                        bool accumulate);
void qgemm_epilogue_scalar(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols, const int32_t* acc,
                           int64_t ld_acc);
#if defined(__x86_64__) || defined(_M_X64)
void qgemm_pack_a_avx2(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t* za, void* dst);
void qgemm_micro_avx2(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc, int64_t ld_acc,
                      bool accumulate);
void qgemm_epilogue_avx2(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols, const int32_t* acc,
                         int64_t ld_acc);
void qgemm_pack_a_avx512vnni(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t* za, void* dst);
void qgemm_micro_avx512vnni(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc,
                            int64_t ld_acc, bool accumulate);
void qgemm_epilogue_avx512vnni(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols,
                               const int32_t* acc, int64_t ld_acc);
#endif
#if defined(__aarch64__)
void qgemm_pack_a_neon(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t* za, void* dst);
void qgemm_micro_neon(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc, int64_t ld_acc,
                      bool accumulate);
void qgemm_epilogue_neon(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols, const int32_t* acc,
                         int64_t ld_acc);
void qgemm_pack_a_neondot(int64_t rows, int64_t kc, const int8_t* a, int64_t lda, const int32_t* za, void* dst);
void qgemm_micro_neondot(int64_t rows, int64_t kgroups, const void* a, const int8_t* b, int32_t* acc, int64_t ld_acc,
                         bool accumulate);
void qgemm_epilogue_neondot(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols, const int32_t* acc,
                            int64_t ld_acc);
#endif

namespace {  // internal linkage: each ISA file gets its own copy, built with its flags

// v = acc * a_scale_i * b_scale_j + bias_j + residual; activation; clamp; store f32 or int8.
inline void qgemm_epilogue_generic(const QGemmArgs& g, int64_t i, int64_t rows, int64_t j, int64_t cols,
                                   const int32_t* acc, int64_t ld_acc) {
  const QGemmEpilogue& ep = g.ep;
  const float* bs = ep.b_scale + j;
  const float* bias = ep.bias ? ep.bias + j : nullptr;
  const float lo = ep.out_min, hi = ep.out_max;
  alignas(64) float v[kQGemmNcMax];
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* ar = acc + r * ld_acc;
    const float as = ep.a_scale[ep.a_scale_per_row ? i + r : 0];
    if (bias) {
      for (int64_t c = 0; c < cols; ++c) v[c] = static_cast<float>(ar[c]) * (as * bs[c]) + bias[c];
    } else {
      for (int64_t c = 0; c < cols; ++c) v[c] = static_cast<float>(ar[c]) * (as * bs[c]);
    }
    if (ep.residual_f32) {
      const float* res = ep.residual_f32 + (i + r) * ep.ld_residual + j;
      for (int64_t c = 0; c < cols; ++c) v[c] += res[c];
    } else if (ep.residual_i8) {
      const int8_t* res = ep.residual_i8 + (i + r) * ep.ld_residual + j;
      const float rs = ep.residual_scale;
      const int32_t rz = ep.residual_zero_point;
      for (int64_t c = 0; c < cols; ++c) v[c] += rs * static_cast<float>(static_cast<int32_t>(res[c]) - rz);
    }
    switch (ep.act) {
      case QAct::None:
        break;
      case QAct::Gelu:
      case QAct::GeluTanh:
        gelu_f32(v, v, static_cast<size_t>(cols), ep.act == QAct::GeluTanh);
        break;
      default: {
        ActivationParams p;
        p.kind = static_cast<Activation>(static_cast<int>(ep.act) + 2);  // HardSigmoid..LeakyRelu
        p.alpha = ep.act_alpha;
        p.beta = ep.act_beta;
        activation_f32_kernel().fn(p, v, static_cast<size_t>(cols));
        break;
      }
    }
    if (!ep.out_i8) {
      float* out = g.c_f32 + (i + r) * g.ldc + j;
      for (int64_t c = 0; c < cols; ++c) out[c] = std::min(std::max(v[c], lo), hi);
    } else {
      int8_t* out = g.c_i8 + (i + r) * g.ldc + j;
      const float os = ep.out_scale, oz = static_cast<float>(ep.out_zero_point);
      for (int64_t c = 0; c < cols; ++c) {
        const float x = std::min(std::max(v[c], lo), hi);
        float q = std::nearbyint(x / os) + oz;
        q = std::max(-128.f, q);  // NaN -> -128
        q = std::min(127.f, q);
        out[c] = static_cast<int8_t>(static_cast<int32_t>(q));
      }
    }
  }
}

}  // namespace

}  // namespace pocket::kernels
