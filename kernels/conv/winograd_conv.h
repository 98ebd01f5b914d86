// Winograd 3x3 stride-1 convolution driver (NHWC, f32, group 1) on top of the kernels of
// winograd_f32.h: weight packing (once), and the blocked run over tiles. It never allocates: the
// caller provides the packed weights and scratch sized by the functions below.
//
// Per block of `block_tiles` output tiles (across the batch): input transform per tile, then
// alpha^2 x ceil(m / 16) GEMM panels, then output transform per tile with bias, residual and
// clamp. Each phase is split over the pool (tiles, then (k, panel) pairs, then tiles); the block
// is sized so its transformed input and products stay in L2.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

#include "kernels/conv/winograd_f32.h"

namespace pocket::kernels {

struct WinogradConvArgs {
  int tile = 4;  // output tile edge: 4 = F(4x4, 3x3), 2 = F(2x2, 3x3)
  int64_t batch = 0, in_h = 0, in_w = 0, c = 0;
  int64_t out_h = 0, out_w = 0, m = 0;
  int64_t pad_top = 0, pad_left = 0;  // bottom/right padding is implied by out_h/out_w
  const float* x = nullptr;           // [batch][in_h][in_w][c]
  float* y = nullptr;                 // [batch][out_h][out_w][m]
  const float* residual = nullptr;    // like y, or nullptr
  const float* packed = nullptr;      // winograd_pack_weights
  const float* bias = nullptr;        // round_up(m, 16) floats, zero-padded (never nullptr)
  float out_min = -__builtin_inff(), out_max = __builtin_inff();
  int64_t block_tiles = 0;   // winograd_block_tiles
  float* scratch = nullptr;  // winograd_scratch_floats, 64-byte aligned preferred
};

inline int64_t winograd_round16(int64_t v) { return (v + 15) / 16 * 16; }

// Floats of the packed transformed weights: alpha^2 * c * round_up(m, 16).
size_t winograd_packed_floats(int tile, int64_t c, int64_t m);
// U = G g G^T (in double) from weights [m][3][3][c] (OHWI), laid out per winograd_f32.h.
void winograd_pack_weights(int tile, int64_t c, int64_t m, const float* w_ohwi, float* packed);
// Tiles per block for this shape (a multiple of rows when possible, at most total_tiles).
int64_t winograd_block_tiles(int tile, int64_t c, int64_t m, int64_t total_tiles, int64_t rows);
// Scratch floats for blocks of block_tiles tiles.
size_t winograd_scratch_floats(int tile, int64_t c, int64_t m, int64_t block_tiles);
// Output tiles of the whole batch.
int64_t winograd_total_tiles(int tile, int64_t batch, int64_t out_h, int64_t out_w);

void winograd_conv_f32(const WinogradF32Kernel& kernel, const WinogradConvArgs& args, pthreadpool_t pool);

}  // namespace pocket::kernels
