// Packed f32 GEMM driver: B lives in NR-wide column panels (each K x NR, zero-padded past N), so a
// micro-kernel reads one panel slice as a contiguous stream. C is cut into MC x NC tiles (many
// per thread); inside a tile, K is cut into KC blocks so one KC x NR panel slice stays in L1 while
// every MR-row block of the tile passes over it, and the tile's A block (MC x KC) stays in L2.
// The first K block adds bias and residual, later ones accumulate into C, the last one clamps.
// M <= 3 (GEMV-like) streams each panel once over the whole K, split over N between threads.
#include <algorithm>

#include "kernels/activation/gelu_f32.h"
#include "kernels/gemm/gemm_f32.h"

namespace pocket::kernels {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Largest K block: KC x NR floats of B (16 KiB for NR = 16) plus MR x KC of A fit in L1.
constexpr int64_t kKcMax = 320;
// One thread's tile: 16 row blocks (A block of MC x KC in L2) by 8 panels (KC x NC of B in L2).
constexpr int64_t kMcBlocks = 16, kNcPanels = 8;

// Kernels that pack A (kernel.pack_a): K block and the A panel buffer on the stack (16 KiB: one
// mr x kc panel stays in L1 while the tile's panels of B stream past it from L2).
constexpr int64_t kKcPackedA = 128;
constexpr int64_t kAPanelFloats = 4096;
constexpr int64_t kMcPackedA = 256, kNcPackedA = 384;  // rows, columns of one tile

struct Plan {
  const GemmF32PackedKernel* kernel;
  const GemmF32PackedArgs* args;
  int64_t panels, kc, mc, nc_panels, m_tiles;
};

// GELU over rows [i0, i1) x columns [j0, j1) of C, in place (the block was just stored).
void apply_act(const GemmF32PackedArgs& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  if (g.ep.act == GemmF32Act::None) return;
  const bool tanh_form = g.ep.act == GemmF32Act::GeluTanh;
  for (int64_t i = i0; i < i1; ++i) {
    float* row = g.c + i * g.ldc + j0;
    gelu_f32(row, row, static_cast<size_t>(j1 - j0), tanh_form);
  }
}

// A-stationary tile for kernels that pack A: for every K block and mr-row block, pack that block
// of A once (L1) and run it against every B panel of the tile (the tile's kc x nc slab of B stays
// in L2). The activation runs on each row block once its last K block is stored.
void run_block_packed_a(const Plan& pl, int64_t i0, int64_t i1, int64_t p0, int64_t p1) {
  const GemmF32PackedArgs& g = *pl.args;
  const GemmF32PackedKernel& kr = *pl.kernel;
  const int64_t nr = kr.nr, mr = kr.mr;
  alignas(64) float apanel[kAPanelFloats];
  const int64_t j0 = p0 * nr, j1 = std::min(g.n, p1 * nr);
  for (int64_t pc = 0; pc < g.k || (pc == 0 && g.k == 0); pc += pl.kc) {
    const int64_t kcur = std::min(pl.kc, g.k - pc);
    const bool last = pc + kcur >= g.k;
    const unsigned flags = (pc > 0 ? kGemmAccumulate : 0u) | (last ? kGemmFinal : 0u) | kGemmPackedA;
    for (int64_t i = i0; i < i1; i += mr) {
      const int64_t rows = std::min(mr, i1 - i);
      kr.pack_a(rows, kcur, g.a + i * g.lda + pc, g.lda, apanel);
      for (int64_t panel = p0; panel < p1; ++panel) {
        const int64_t j = panel * nr;
        GemmF32Epilogue ep = g.ep;
        if (ep.bias) ep.bias += j;
        if (ep.residual) ep.residual += i * ep.ld_residual + j;
        kr.micro(rows, std::min(nr, g.n - j), kcur, apanel, 0, g.packed_b + panel * g.k * nr + pc * nr,
                 g.c + i * g.ldc + j, g.ldc, ep, flags);
      }
      if (last) apply_act(g, i, i + rows, j0, j1);
    }
    if (g.k == 0) break;
  }
}

void run_block(const Plan& pl, int64_t i0, int64_t i1, int64_t p0, int64_t p1, int64_t kc) {
  const GemmF32PackedArgs& g = *pl.args;
  const GemmF32PackedKernel& kr = *pl.kernel;
  const int64_t nr = kr.nr, mr = kr.mr;
  for (int64_t pc = 0; pc < g.k || (pc == 0 && g.k == 0); pc += kc) {
    const int64_t kcur = std::min(kc, g.k - pc);
    const unsigned split = g.m == 1 ? kGemmSplit4 : g.m <= 3 ? kGemmSplit2 : 0u;
    const unsigned flags = (pc > 0 ? kGemmAccumulate : 0u) | (pc + kcur >= g.k ? kGemmFinal : 0u) | split;
    for (int64_t panel = p0; panel < p1; ++panel) {
      const int64_t j = panel * nr;
      const int64_t cols = std::min(nr, g.n - j);
      const float* b = g.packed_b + panel * g.k * nr + pc * nr;
      for (int64_t i = i0; i < i1; i += mr) {
        GemmF32Epilogue ep = g.ep;
        if (ep.bias) ep.bias += j;
        if (ep.residual) ep.residual += i * ep.ld_residual + j;
        kr.micro(std::min(mr, i1 - i), cols, kcur, g.a + i * g.lda + pc, g.lda, b, g.c + i * g.ldc + j, g.ldc, ep,
                 flags);
      }
    }
    if (g.k == 0) break;
  }
}

void run_tile(void* ctx, size_t t) {
  const Plan& pl = *static_cast<const Plan*>(ctx);
  const int64_t it = static_cast<int64_t>(t) % pl.m_tiles, jt = static_cast<int64_t>(t) / pl.m_tiles;
  const int64_t i0 = it * pl.mc, i1 = std::min(pl.args->m, i0 + pl.mc);
  const int64_t p0 = jt * pl.nc_panels, p1 = std::min(pl.panels, p0 + pl.nc_panels);
  if (pl.kernel->pack_a) {
    run_block_packed_a(pl, i0, i1, p0, p1);
    return;
  }
  run_block(pl, i0, i1, p0, p1, pl.kc);
  apply_act(*pl.args, i0, i1, p0 * pl.kernel->nr, std::min(pl.args->n, p1 * pl.kernel->nr));
}

void run_gemv(void* ctx, size_t t) {
  const Plan& pl = *static_cast<const Plan*>(ctx);
  const int64_t p0 = static_cast<int64_t>(t) * pl.nc_panels, p1 = std::min(pl.panels, p0 + pl.nc_panels);
  run_block(pl, 0, pl.args->m, p0, p1, std::max<int64_t>(pl.args->k, 1));
  apply_act(*pl.args, 0, pl.args->m, p0 * pl.kernel->nr, std::min(pl.args->n, p1 * pl.kernel->nr));
}

}  // namespace

size_t gemm_f32_packed_b_floats(const GemmF32PackedKernel& kernel, int64_t k, int64_t n) {
  if (k <= 0 || n <= 0) return 0;
  return static_cast<size_t>(ceil_div(n, kernel.nr) * kernel.nr * k);
}

void gemm_f32_pack_b(const GemmF32PackedKernel& kernel, int64_t k, int64_t n, const float* b, int64_t b_row_stride,
                     int64_t b_col_stride, float* packed) {
  const int64_t nr = kernel.nr;
  if (b_row_stride == 1 && b_col_stride != 1) {
    // B^T stored [N][K] (ONNX Gemm transB, PyTorch Linear): read each column contiguously. The
    // row-by-row order below would touch one cache line (and often one page) per element.
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
      const int64_t cols = std::min(nr, n - j0);
      float* dst = packed + j0 * k;
      for (int64_t jj = 0; jj < cols; ++jj) {
        const float* src = b + (j0 + jj) * b_col_stride;
        for (int64_t p = 0; p < k; ++p) dst[p * nr + jj] = src[p];
      }
      for (int64_t jj = cols; jj < nr; ++jj)
        for (int64_t p = 0; p < k; ++p) dst[p * nr + jj] = 0.f;
    }
    return;
  }
  for (int64_t j0 = 0; j0 < n; j0 += nr) {
    const int64_t cols = std::min(nr, n - j0);
    for (int64_t p = 0; p < k; ++p) {
      const float* src = b + p * b_row_stride + j0 * b_col_stride;
      float* dst = packed + j0 * k + p * nr;
      for (int64_t jj = 0; jj < cols; ++jj) dst[jj] = src[jj * b_col_stride];
      for (int64_t jj = cols; jj < nr; ++jj) dst[jj] = 0.f;
    }
  }
}

void gemm_f32_packed(const GemmF32PackedKernel& kernel, const GemmF32PackedArgs& g, pthreadpool_t pool) {
  if (g.m <= 0 || g.n <= 0) return;
  const int64_t threads = pool ? static_cast<int64_t>(pthreadpool_get_threads_count(pool)) : 1;
  Plan pl{&kernel, &g, ceil_div(g.n, kernel.nr), 0, 0, 0, 0};
  const bool parallel = threads > 1 && g.m * g.n * std::max<int64_t>(g.k, 1) >= 65536;
  if (g.m <= 3) {
    // Memory-bound: every panel of B is read once; split N in >= 8 chunks per thread.
    pl.nc_panels = parallel ? std::max<int64_t>(1, pl.panels / (8 * threads)) : pl.panels;
    const int64_t tasks = ceil_div(pl.panels, pl.nc_panels);
    if (!parallel || tasks == 1) {
      run_gemv(&pl, 0);
      return;
    }
    pthreadpool_parallelize_1d(pool, &run_gemv, &pl, static_cast<size_t>(tasks), 0);
    return;
  }
  auto tiles = [&] { return ceil_div(g.m, pl.mc) * ceil_div(pl.panels, pl.nc_panels); };
  if (kernel.pack_a) {
    // A-stationary: K blocks of <= 128 (one packed A panel in L1), tiles of up to 256 rows x
    // ~384 columns (a kc x nc slab of B, <= 192 KiB, stays in L2 while every row block passes).
    const int64_t kc_max = std::min(kKcPackedA, kAPanelFloats / kernel.a_floats_per_k);
    pl.kc = g.k <= kc_max ? std::max<int64_t>(g.k, 1) : ceil_div(g.k, ceil_div(g.k, kc_max));
    pl.mc = ceil_div(std::min<int64_t>(g.m, kMcPackedA), kernel.mr) * kernel.mr;
    pl.nc_panels = std::max<int64_t>(1, kNcPackedA / kernel.nr);
    // Even column tiles: N = 768 in 24-wide panels is 2 x 16, not 16 + 16 + 0.
    pl.nc_panels = ceil_div(pl.panels, ceil_div(pl.panels, pl.nc_panels));
    if (parallel) {
      while (tiles() < 4 * threads && (pl.mc > kernel.mr * 4 || pl.nc_panels > 4)) {
        if (pl.mc > kernel.mr * 4) pl.mc = std::max(kernel.mr * 4, ceil_div(pl.mc / 2, kernel.mr) * kernel.mr);
        else pl.nc_panels = std::max<int64_t>(4, pl.nc_panels / 2);
      }
    }
  } else {
    pl.kc = g.k <= kKcMax ? std::max<int64_t>(g.k, 1) : ceil_div(g.k, ceil_div(g.k, kKcMax));
    pl.mc = kernel.mr * kMcBlocks;
    pl.nc_panels = kNcPanels;
    if (parallel) {
      while (tiles() < 8 * threads && (pl.mc > kernel.mr * 2 || pl.nc_panels > 1)) {
        if (pl.nc_panels > 1 && (pl.nc_panels * kernel.nr >= pl.mc || pl.mc <= kernel.mr * 2))
          pl.nc_panels = std::max<int64_t>(1, pl.nc_panels / 2);
        else
          pl.mc = std::max(kernel.mr * 2, ceil_div(pl.mc / 2, kernel.mr) * kernel.mr);
      }
    }
  }
  pl.m_tiles = ceil_div(g.m, pl.mc);
  const int64_t n_tiles = tiles();
  if (!parallel || n_tiles == 1) {
    for (int64_t t = 0; t < n_tiles; ++t) run_tile(&pl, static_cast<size_t>(t));
    return;
  }
  pthreadpool_parallelize_1d(pool, &run_tile, &pl, static_cast<size_t>(n_tiles), 0);
}

namespace {

struct ActPass {
  float* y;
  size_t n;
  bool tanh_form;
};

constexpr size_t kActChunk = 16384;

void run_act_chunk(void* ctx, size_t t) {
  const ActPass& p = *static_cast<const ActPass*>(ctx);
  const size_t i0 = t * kActChunk, len = std::min(kActChunk, p.n - i0);
  gelu_f32(p.y + i0, p.y + i0, len, p.tanh_form);
}

}  // namespace

void gemm_f32_apply_act(GemmF32Act act, float* y, size_t n, pthreadpool_t pool) {
  if (act == GemmF32Act::None || n == 0) return;
  ActPass p{y, n, act == GemmF32Act::GeluTanh};
  const size_t chunks = (n + kActChunk - 1) / kActChunk;
  if (!pool || chunks == 1) {
    for (size_t t = 0; t < chunks; ++t) run_act_chunk(&p, t);
    return;
  }
  pthreadpool_parallelize_1d(pool, &run_act_chunk, &p, chunks, 0);
}

void gemm_f32_packed_b_once(const GemmF32PackedKernel& kernel, const GemmF32PackedArgs& args, const float* b,
                            int64_t ldb, float* scratch, pthreadpool_t pool) {
  if (args.m <= 0 || args.n <= 0) return;
  if (args.k > 0) gemm_f32_pack_b(kernel, args.k, args.n, b, ldb, 1, scratch);
  GemmF32PackedArgs g = args;
  g.packed_b = scratch;
  gemm_f32_packed(kernel, g, pool);
}

size_t gemm_f32_packed_b_floats(int64_t k, int64_t n) {
  return gemm_f32_packed_b_floats(gemm_f32_packed_kernel(), k, n);
}

void gemm_f32_pack_b(int64_t k, int64_t n, const float* b, int64_t b_row_stride, int64_t b_col_stride, float* packed) {
  gemm_f32_pack_b(gemm_f32_packed_kernel(), k, n, b, b_row_stride, b_col_stride, packed);
}

void gemm_f32_packed(const GemmF32PackedArgs& args, pthreadpool_t pool) {
  gemm_f32_packed(gemm_f32_packed_kernel(), args, pool);
}

}  // namespace pocket::kernels
