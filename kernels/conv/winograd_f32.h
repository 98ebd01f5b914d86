// Winograd convolution kernels for 3x3 stride-1 NHWC convolutions, f32: F(4x4, 3x3) (6x6 input
// tiles, 36 products per 16 outputs) and F(2x2, 3x3) (4x4 tiles, 16 products per 4 outputs).
// The engine (engine/ops/conv_winograd.cpp) transforms the weights once (U = G g G^T, in double)
// and runs, per block of tiles: input_* (V = B^T d B, vectorised over channels), alpha^2 GEMMs
// [tiles x C] x [C x M] through gemm_panel, and output_* (Y = A^T M A + bias + residual, clamped).
//
// Layouts
//   image x      [h][w][c] (one batch item), read through (iy0, ix0), zero outside the image.
//   V            v[k * ldv + ch], k = 0 .. alpha^2 - 1 (row-major over the tile), ch < c.
//   packed U     per k: ceil(m / 16) panels of [c][16] floats, columns past m are zero.
//   products     mo[k * ldm + j], j < round_up(m, 16) (the GEMM writes whole panels).
//   output y     [oh][ow][m] (one batch item); residual likewise; only pixels inside are written.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pocket::kernels {

inline constexpr int64_t kWinogradPanel = 16;  // GEMM column panel width (every variant)

// One input tile: v[k * ldv + ch] = (B^T d B)[k] for the alpha x alpha window of x at (iy0, ix0).
using WinogradInputFn = void (*)(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0,
                                 float* v, int64_t ldv);
// One 16-column panel of a product: out[i * ldo + j] = sum_p a[i * lda + p] * panel[p * 16 + j],
// for i < rows, j < 16 (overwrites out).
using WinogradGemmFn = void (*)(int64_t rows, int64_t k, const float* a, int64_t lda, const float* panel, float* out,
                                int64_t ldo);
// One output tile: the r x r pixels at (oy0, ox0) that lie inside [oh][ow] get
// clamp((A^T M A)[.] + bias + residual, lo, hi). bias has round_up(m, 16) entries (zero-padded);
// residual is nullptr or shaped like y.
using WinogradOutputFn = void (*)(const float* mo, int64_t ldm, int64_t m, const float* bias, const float* residual,
                                  float* y, int64_t oh, int64_t ow, int64_t oy0, int64_t ox0, float lo, float hi);

struct WinogradF32Kernel {
  const char* name;  // "scalar", "avx2", "avx512", "neon"
  WinogradInputFn input_f43, input_f23;
  WinogradOutputFn output_f43, output_f23;
  WinogradGemmFn gemm_panel;
  int64_t gemm_rows;  // rows the GEMM handles per register block (for splitting work)
};

#define POCKET_WINOGRAD_DECLARE(isa)                                                                        \
  void winograd_input_f43_##isa(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, \
                                float* v, int64_t ldv);                                                     \
  void winograd_input_f23_##isa(const float* x, int64_t h, int64_t w, int64_t c, int64_t iy0, int64_t ix0, \
                                float* v, int64_t ldv);                                                     \
  void winograd_output_f43_##isa(const float* mo, int64_t ldm, int64_t m, const float* bias,               \
                                 const float* residual, float* y, int64_t oh, int64_t ow, int64_t oy0,      \
                                 int64_t ox0, float lo, float hi);                                          \
  void winograd_output_f23_##isa(const float* mo, int64_t ldm, int64_t m, const float* bias,               \
                                 const float* residual, float* y, int64_t oh, int64_t ow, int64_t oy0,      \
                                 int64_t ox0, float lo, float hi);                                          \
  void winograd_gemm_panel_##isa(int64_t rows, int64_t k, const float* a, int64_t lda, const float* panel,  \
                                 float* out, int64_t ldo);

POCKET_WINOGRAD_DECLARE(scalar)
POCKET_WINOGRAD_DECLARE(avx2)
POCKET_WINOGRAD_DECLARE(avx512)
POCKET_WINOGRAD_DECLARE(neon)
#undef POCKET_WINOGRAD_DECLARE

// The best variant for this CPU, chosen once from cpu_features().
const WinogradF32Kernel& winograd_f32_kernel();
// Every variant this CPU can run, the scalar reference first (for tests and benchmarks).
const WinogradF32Kernel* winograd_f32_variants(size_t* count);

// The transform matrices (exact in double), for the weight transform and the references.
// F(4,3): G is 6x3, B^T 6x6, A^T 4x6. F(2,3): G 4x3, B^T 4x4, A^T 2x4.
extern const double kWinogradG43[6][3];
extern const double kWinogradG23[4][3];

}  // namespace pocket::kernels
