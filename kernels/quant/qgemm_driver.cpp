// int8 GEMM driver: packs B into the variant's panels (qgemm_impl.h), cuts C into tiles of mc
// rows x nc columns (the tiles are the threads' tasks), and in a tile walks mr-row blocks: for
// each K block (kQGemmKc) it packs that block of A once (L1) and runs it against every panel of
// the tile, summing into an int32 tile on the stack; after the last K block the epilogue turns
// the rows into f32 or int8 while they are in cache. The tile width keeps the tile's K x nc slab
// of B within L2, so each row block re-reads it from there. M <= 3 (GEMV) is one row block that
// streams B once; the columns are split between threads.
#include <algorithm>
#include <cstring>

#include "kernels/quant/qgemm_impl.h"

namespace pocket::kernels {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

constexpr int64_t kL2SlabBytes = 384 * 1024;  // the tile's slab of packed B (half of a 512 KiB L2: measured 1.25x over 192 KiB at K = 3072)
constexpr int64_t kMcBlocks = 8;             // row blocks per tile

struct Plan {
  const QGemmKernel* kernel;
  const QGemmArgs* args;
  size_t panel_bytes;
  int64_t panels, mc, nc_panels, m_tiles, n_tiles;
};

void run_tile(const Plan& pl, int64_t i0, int64_t i1, int64_t p0, int64_t p1) {
  const QGemmArgs& g = *pl.args;
  const QGemmKernel& kr = *pl.kernel;
  const int64_t mr = kr.mr, nr = kr.nr;
  alignas(64) unsigned char apack[kQGemmAPackBytes];
  alignas(64) int32_t acc[kQGemmMrMax * kQGemmNcMax];
  const int64_t ld_acc = (p1 - p0) * nr;
  const int64_t j0 = p0 * nr, cols = std::min(g.n, p1 * nr) - j0;
  const auto* packed = static_cast<const unsigned char*>(g.packed_b);
  for (int64_t i = i0; i < i1; i += mr) {
    const int64_t rows = std::min(mr, i1 - i);
    int32_t za[kQGemmMrMax];
    for (int64_t r = 0; r < rows; ++r) za[r] = g.a_zero_point[g.a_zero_point_per_row ? i + r : 0];
    for (int64_t pc = 0;; pc += kQGemmKc) {
      const int64_t kcur = std::min(kQGemmKc, g.k - pc);
      kr.pack_a(rows, kcur, g.a + i * g.lda + pc, g.lda, za, apack);
      const int64_t groups = ceil_div(kcur, kr.kr);
      // pc is a multiple of kr: this K block starts pc * nr bytes into each panel's int8 part.
      const unsigned char* b = packed + static_cast<size_t>(p0) * pl.panel_bytes + nr * 4 + pc * nr;
      for (int64_t q = p0; q < p1; ++q, b += pl.panel_bytes)
        kr.micro(rows, groups, apack, reinterpret_cast<const int8_t*>(b), acc + (q - p0) * nr, ld_acc, pc > 0);
      if (pc + kcur >= g.k) break;
    }
    if (kr.colsum_correction) {
      for (int64_t q = p0; q < p1; ++q) {
        const auto* colsum = reinterpret_cast<const int32_t*>(packed + static_cast<size_t>(q) * pl.panel_bytes);
        for (int64_t r = 0; r < rows; ++r) {
          // Exact modulo 2^32: the true sum fits in int32, the partial terms may not.
          const uint32_t z = static_cast<uint32_t>(za[r] + kr.a_offset);
          int32_t* ar = acc + r * ld_acc + (q - p0) * nr;
          for (int64_t c = 0; c < nr; ++c)
            ar[c] = static_cast<int32_t>(static_cast<uint32_t>(ar[c]) - z * static_cast<uint32_t>(colsum[c]));
        }
      }
    }
    kr.epilogue(g, i, rows, j0, cols, acc, ld_acc);
  }
}

void run_task(void* ctx, size_t t) {
  const Plan& pl = *static_cast<const Plan*>(ctx);
  const int64_t it = static_cast<int64_t>(t) % pl.m_tiles, jt = static_cast<int64_t>(t) / pl.m_tiles;
  const int64_t i0 = it * pl.mc, i1 = std::min(pl.args->m, i0 + pl.mc);
  const int64_t p0 = jt * pl.nc_panels, p1 = std::min(pl.panels, p0 + pl.nc_panels);
  run_tile(pl, i0, i1, p0, p1);
}

}  // namespace

size_t qgemm_packed_b_bytes(const QGemmKernel& kernel, int64_t k, int64_t n) {
  if (n <= 0) return 0;
  return static_cast<size_t>(ceil_div(n, kernel.nr)) * qgemm_panel_bytes(kernel, k);
}

void qgemm_pack_b(const QGemmKernel& kernel, int64_t k, int64_t n, const int8_t* b, int64_t b_row_stride,
                  int64_t b_col_stride, void* packed) {
  const int64_t nr = kernel.nr, kr = kernel.kr, panels = ceil_div(n, nr);
  const size_t pbytes = qgemm_panel_bytes(kernel, k);
  for (int64_t q = 0; q < panels; ++q) {
    auto* base = static_cast<unsigned char*>(packed) + static_cast<size_t>(q) * pbytes;
    std::memset(base, 0, pbytes);
    int32_t colsum[64] = {};
    int8_t* d = reinterpret_cast<int8_t*>(base + nr * 4);
    for (int64_t c = 0; c < nr && q * nr + c < n; ++c) {
      const int8_t* col = b + (q * nr + c) * b_col_stride;
      int32_t s = 0;
      for (int64_t p = 0; p < k; ++p) {
        const int8_t x = col[p * b_row_stride];
        s += x;
        d[(p / kr) * nr * kr + c * kr + p % kr] = x;
      }
      colsum[c] = s;
    }
    std::memcpy(base, colsum, static_cast<size_t>(nr) * 4);
  }
}

size_t qgemm_scratch_bytes(const QGemmKernel&, int64_t, int64_t, int64_t, int) {
  return 0;  // every variant's blocks fit on the stack (kQGemmAPackBytes + the int32 tile: < 16 KiB)
}

void qgemm(const QGemmKernel& kernel, const QGemmArgs& args, void*, pthreadpool_t pool) {
  if (args.m <= 0 || args.n <= 0) return;
  Plan pl{&kernel, &args, qgemm_panel_bytes(kernel, args.k), ceil_div(args.n, kernel.nr), 0, 0, 0, 0};
  const int64_t threads = pool ? static_cast<int64_t>(pthreadpool_get_threads_count(pool)) : 1;
  const int64_t slab_per_panel = std::max<int64_t>(1, static_cast<int64_t>(pl.panel_bytes));
  pl.nc_panels = std::clamp<int64_t>(kL2SlabBytes / slab_per_panel, 1, kQGemmNcMax / kernel.nr);
  pl.nc_panels = std::min(pl.nc_panels, pl.panels);
  pl.mc = args.m <= 3 ? args.m : kernel.mr * kMcBlocks;
  // Enough tasks for every thread (about 4 each): narrower tiles first, then fewer rows.
  auto count = [&] {
    pl.m_tiles = ceil_div(args.m, pl.mc);
    pl.n_tiles = ceil_div(pl.panels, pl.nc_panels);
    return pl.m_tiles * pl.n_tiles;
  };
  if (threads > 1) {
    while (count() < threads * 4 && pl.nc_panels > 1) pl.nc_panels = ceil_div(pl.nc_panels, 2);
    while (count() < threads * 4 && pl.mc > kernel.mr) pl.mc = std::max(kernel.mr, pl.mc / 2 / kernel.mr * kernel.mr);
  }
  const int64_t tasks = count();
  if (threads <= 1 || tasks == 1) {
    for (int64_t t = 0; t < tasks; ++t) run_task(&pl, static_cast<size_t>(t));
    return;
  }
  pthreadpool_parallelize_1d(pool, &run_task, &pl, static_cast<size_t>(tasks), 0);
}

}  // namespace pocket::kernels
