#include "kernels/conv/winograd_conv.h"

#include <algorithm>

namespace pocket::kernels {

namespace {

// Transformed input + products of one block should stay inside a 512 KiB L2...
constexpr int64_t kBlockBudgetBytes = 384 * 1024;
// ...but when the transformed weights do not fit in L2 either, they are streamed once per block,
// and a block needs enough tiles (GEMM rows) to amortise that: at least this many.
constexpr int64_t kMinTilesStreamingWeights = 24;
constexpr int64_t kL2WeightBytes = 256 * 1024;

struct Geometry {
  int alpha, r;
  int64_t ldc, ldm, panels, tiles_y, tiles_x, tiles_per_image;
};

Geometry geometry(const WinogradConvArgs& a) {
  Geometry g;
  g.r = a.tile;
  g.alpha = a.tile + 2;
  g.ldc = winograd_round16(a.c);
  g.ldm = winograd_round16(a.m);
  g.panels = g.ldm / 16;
  g.tiles_y = (a.out_h + g.r - 1) / g.r;
  g.tiles_x = (a.out_w + g.r - 1) / g.r;
  g.tiles_per_image = g.tiles_y * g.tiles_x;
  return g;
}

struct RunCtx {
  const WinogradF32Kernel* kernel;
  const WinogradConvArgs* args;
  Geometry g;
  int64_t first_tile, block_tiles;  // current block
  float* v;                         // [alpha^2][block_tiles][ldc]
  float* mo;                        // [alpha^2][block_tiles][ldm]
};

void input_task(void* p, size_t t) {
  const auto* c = static_cast<const RunCtx*>(p);
  const WinogradConvArgs& a = *c->args;
  const int64_t tile = c->first_tile + static_cast<int64_t>(t);
  const int64_t b = tile / c->g.tiles_per_image, rem = tile % c->g.tiles_per_image;
  const int64_t ty = rem / c->g.tiles_x, tx = rem % c->g.tiles_x;
  const float* x = a.x + b * a.in_h * a.in_w * a.c;
  const auto fn = a.tile == 4 ? c->kernel->input_f43 : c->kernel->input_f23;
  fn(x, a.in_h, a.in_w, a.c, ty * c->g.r - a.pad_top, tx * c->g.r - a.pad_left,
     c->v + static_cast<int64_t>(t) * c->g.ldc, c->block_tiles * c->g.ldc);
}

void gemm_task(void* p, size_t i) {
  const auto* c = static_cast<const RunCtx*>(p);
  const int64_t k = static_cast<int64_t>(i) / c->g.panels, panel = static_cast<int64_t>(i) % c->g.panels;
  const int64_t rows = c->block_tiles;
  const float* u = c->args->packed + (k * c->g.panels + panel) * c->args->c * 16;
  c->kernel->gemm_panel(rows, c->args->c, c->v + k * rows * c->g.ldc, c->g.ldc, u,
                        c->mo + k * rows * c->g.ldm + panel * 16, c->g.ldm);
}

void output_task(void* p, size_t t) {
  const auto* c = static_cast<const RunCtx*>(p);
  const WinogradConvArgs& a = *c->args;
  const int64_t tile = c->first_tile + static_cast<int64_t>(t);
  const int64_t b = tile / c->g.tiles_per_image, rem = tile % c->g.tiles_per_image;
  const int64_t ty = rem / c->g.tiles_x, tx = rem % c->g.tiles_x;
  const int64_t image = b * a.out_h * a.out_w * a.m;
  const auto fn = a.tile == 4 ? c->kernel->output_f43 : c->kernel->output_f23;
  fn(c->mo + static_cast<int64_t>(t) * c->g.ldm, c->block_tiles * c->g.ldm, a.m, a.bias,
     a.residual ? a.residual + image : nullptr, a.y + image, a.out_h, a.out_w, ty * c->g.r, tx * c->g.r, a.out_min,
     a.out_max);
}

}  // namespace

size_t winograd_packed_floats(int tile, int64_t c, int64_t m) {
  const int64_t alpha = tile + 2;
  return static_cast<size_t>(alpha * alpha * c * winograd_round16(m));
}

void winograd_pack_weights(int tile, int64_t c, int64_t m, const float* w_ohwi, float* packed) {
  const int alpha = tile + 2;
  const int64_t panels = winograd_round16(m) / 16;
  std::fill(packed, packed + winograd_packed_floats(tile, c, m), 0.f);
  for (int64_t o = 0; o < m; ++o) {
    const int64_t panel = o / 16, lane = o % 16;
    for (int64_t ch = 0; ch < c; ++ch) {
      double g[3][3];
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) g[ky][kx] = w_ohwi[((o * 3 + ky) * 3 + kx) * c + ch];
      // t = G g (alpha x 3), U = t G^T (alpha x alpha).
      double t[6][3];
      for (int i = 0; i < alpha; ++i)
        for (int j = 0; j < 3; ++j) {
          double s = 0;
          for (int q = 0; q < 3; ++q) s += (tile == 4 ? kWinogradG43[i][q] : kWinogradG23[i][q]) * g[q][j];
          t[i][j] = s;
        }
      for (int i = 0; i < alpha; ++i)
        for (int j = 0; j < alpha; ++j) {
          double s = 0;
          for (int q = 0; q < 3; ++q) s += t[i][q] * (tile == 4 ? kWinogradG43[j][q] : kWinogradG23[j][q]);
          const int64_t k = i * alpha + j;
          packed[((k * panels + panel) * c + ch) * 16 + lane] = static_cast<float>(s);
        }
    }
  }
}

int64_t winograd_total_tiles(int tile, int64_t batch, int64_t out_h, int64_t out_w) {
  return batch * ((out_h + tile - 1) / tile) * ((out_w + tile - 1) / tile);
}

int64_t winograd_block_tiles(int tile, int64_t c, int64_t m, int64_t total_tiles, int64_t rows) {
  const int64_t alpha = tile + 2;
  const int64_t per_tile = alpha * alpha * (winograd_round16(c) + winograd_round16(m)) * 4;
  int64_t t = std::max<int64_t>(rows, kBlockBudgetBytes / per_tile / rows * rows);
  if (static_cast<int64_t>(winograd_packed_floats(tile, c, m)) * 4 > kL2WeightBytes)
    t = std::max<int64_t>(t, (kMinTilesStreamingWeights + rows - 1) / rows * rows);
  t = std::min<int64_t>(t, 16 * rows);
  if (t >= total_tiles) return std::max<int64_t>(total_tiles, 1);
  // Even blocks: the same number of blocks, each as small as they can be.
  const int64_t blocks = (total_tiles + t - 1) / t;
  int64_t even = (total_tiles + blocks - 1) / blocks;
  even = (even + rows - 1) / rows * rows;
  return std::min(t, even);
}

size_t winograd_scratch_floats(int tile, int64_t c, int64_t m, int64_t block_tiles) {
  const int64_t alpha = tile + 2;
  return static_cast<size_t>(alpha * alpha * block_tiles * (winograd_round16(c) + winograd_round16(m)));
}

void winograd_conv_f32(const WinogradF32Kernel& kernel, const WinogradConvArgs& args, pthreadpool_t pool) {
  RunCtx c;
  c.kernel = &kernel;
  c.args = &args;
  c.g = geometry(args);
  const int64_t total = c.g.tiles_per_image * args.batch;
  const int64_t bt = args.block_tiles;
  const int64_t kk = static_cast<int64_t>(c.g.alpha) * c.g.alpha;
  c.v = args.scratch;
  c.mo = args.scratch + kk * bt * c.g.ldc;
  for (int64_t first = 0; first < total; first += bt) {
    c.first_tile = first;
    c.block_tiles = std::min(bt, total - first);
    const size_t n = static_cast<size_t>(c.block_tiles);
    pthreadpool_parallelize_1d(pool, input_task, &c, n, 0);
    pthreadpool_parallelize_1d(pool, gemm_task, &c, static_cast<size_t>(kk * c.g.panels), 0);
    pthreadpool_parallelize_1d(pool, output_task, &c, n, 0);
  }
}

}  // namespace pocket::kernels
