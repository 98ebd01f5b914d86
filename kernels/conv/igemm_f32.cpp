// ISA-independent parts of the indirect convolution: weight packing, the indirection buffer and
// the tiled driver that calls a variant's micro-kernels.
#include <algorithm>

#include "kernels/conv/igemm_f32.h"

namespace pocket::kernels {

namespace {

// Panel layout: every panel but possibly the last is nr wide; the last is nr_tail wide when the
// remaining channels fit in it.
struct PanelLayout {
  int64_t count = 0;       // panels
  int64_t last_width = 0;  // width of the last panel (nr or nr_tail)
};

PanelLayout panel_layout(const IgemmF32Kernel& kernel, int64_t m) {
  PanelLayout l;
  l.count = (m + kernel.nr - 1) / kernel.nr;
  const int64_t rem = m - (l.count - 1) * kernel.nr;
  l.last_width = kernel.nr_tail > 0 && rem <= kernel.nr_tail ? kernel.nr_tail : kernel.nr;
  return l;
}

struct DriverCtx {
  const IgemmF32Kernel* kernel;
  const IgemmF32Args* args;
  int64_t k;  // kc * ks
  int64_t num_panels;
  int64_t rows;  // row blocks
};

void run_tile(void* context, size_t panel0, size_t rb0, size_t panels, size_t rbs) {
  const auto* d = static_cast<const DriverCtx*>(context);
  const IgemmF32Kernel& kern = *d->kernel;
  const IgemmF32Args& a = *d->args;
  const int64_t full_panel = kern.nr * (d->k + 1);
  IgemmF32Block b;
  b.kc = static_cast<size_t>(a.kc);
  b.ks = static_cast<size_t>(a.ks);
  b.a_offset = a.a_offset;
  b.zero = a.zero;
  b.ldc = static_cast<size_t>(a.ldy);
  b.ldr = static_cast<size_t>(a.ldr);
  b.out_min = a.out_min;
  b.out_max = a.out_max;
  for (int64_t rb = static_cast<int64_t>(rb0); rb < static_cast<int64_t>(rb0 + rbs); ++rb) {
    const int64_t p0 = rb * kern.mr;
    b.mr = static_cast<size_t>(std::min<int64_t>(kern.mr, a.pixels - p0));
    b.a = a.indirection + rb * a.ks * kern.mr;
    for (int64_t j = static_cast<int64_t>(panel0); j < static_cast<int64_t>(panel0 + panels); ++j) {
      const int64_t o0 = j * kern.nr;
      const bool tail = j == d->num_panels - 1 && kern.nr_tail > 0 && a.m - o0 <= kern.nr_tail;
      b.nc = static_cast<size_t>(std::min<int64_t>(tail ? kern.nr_tail : kern.nr, a.m - o0));
      b.w = a.packed_w + j * full_panel;
      b.c = a.y + p0 * a.ldy + o0;
      b.residual = a.residual ? a.residual + p0 * a.ldr + o0 : nullptr;
      (tail ? kern.tail : kern.main)(b);
    }
  }
}

}  // namespace

size_t igemm_f32_packed_floats(const IgemmF32Kernel& kernel, int64_t m, int64_t k) {
  const PanelLayout l = panel_layout(kernel, m);
  return static_cast<size_t>(((l.count - 1) * kernel.nr + l.last_width) * (k + 1));
}

void igemm_f32_pack(const IgemmF32Kernel& kernel, int64_t m, int64_t k, const float* w, const float* bias,
                    float* packed) {
  const PanelLayout l = panel_layout(kernel, m);
  for (int64_t j = 0; j < l.count; ++j) {
    const int64_t o0 = j * kernel.nr;
    const int64_t width = j == l.count - 1 ? l.last_width : kernel.nr;
    const int64_t valid = std::min(width, m - o0);
    float* dst = packed + j * kernel.nr * (k + 1);
    for (int64_t o = 0; o < width; ++o) dst[o] = o < valid && bias ? bias[o0 + o] : 0.f;
    dst += width;
    // Output-channel-major: each weight row is read contiguously (the transposed order would
    // touch one cache line per element).
    for (int64_t o = 0; o < width; ++o) {
      const float* src = w + (o0 + o) * k;
      if (o < valid)
        for (int64_t kk = 0; kk < k; ++kk) dst[kk * width + o] = src[kk];
      else
        for (int64_t kk = 0; kk < k; ++kk) dst[kk * width + o] = 0.f;
    }
  }
}

size_t igemm_f32_indirection_size(const Conv2dF32Params& p, int64_t mr) {
  const int64_t pixels = p.batch * p.out_h * p.out_w;
  return static_cast<size_t>((pixels + mr - 1) / mr * mr * p.kernel_h * p.kernel_w);
}

void igemm_f32_build_indirection(const Conv2dF32Params& p, int64_t mr, const float* x, const float* zero,
                                 const float** indirection) {
  const int64_t pixels = p.batch * p.out_h * p.out_w;
  const int64_t taps = p.kernel_h * p.kernel_w;
  const int64_t blocks = (pixels + mr - 1) / mr;
  for (int64_t rb = 0; rb < blocks; ++rb) {
    for (int64_t r = 0; r < mr; ++r) {
      const int64_t px = std::min(rb * mr + r, pixels - 1);
      const int64_t n = px / (p.out_h * p.out_w);
      const int64_t oy = px / p.out_w % p.out_h;
      const int64_t ox = px % p.out_w;
      for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
        const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
        for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
          const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
          const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
          indirection[(rb * taps + ky * p.kernel_w + kx) * mr + r] =
              inside ? x + ((n * p.in_h + iy) * p.in_w + ix) * p.in_c : zero;
        }
      }
    }
  }
}

void igemm_f32(const IgemmF32Kernel& kernel, const IgemmF32Args& args, pthreadpool_t pool) {
  if (args.pixels <= 0 || args.m <= 0) return;
  DriverCtx d{&kernel, &args, args.kc * args.ks, panel_layout(kernel, args.m).count,
              (args.pixels + kernel.mr - 1) / kernel.mr};
  // Panels per tile: as many as keep their weights within about half of a 512 KiB L2; inside a
  // tile the row block is the outer loop, so its input rows stay in L1 across the panels.
  const int64_t panel_bytes = kernel.nr * (d.k + 1) * static_cast<int64_t>(sizeof(float));
  int64_t tp = std::clamp<int64_t>((256 << 10) / panel_bytes, 1, d.num_panels);
  const int64_t threads = pool ? static_cast<int64_t>(pthreadpool_get_threads_count(pool)) : 1;
  int64_t tr = d.rows;
  if (threads > 1) {
    // At least 8 tiles per thread when the work allows, none below ~64K multiply-adds.
    const int64_t unit = kernel.mr * kernel.nr * std::max<int64_t>(d.k, 1);
    const int64_t min_units = std::max<int64_t>(1, (64 << 10) / unit);
    const int64_t want_tiles = 8 * threads;
    const int64_t groups = (d.num_panels + tp - 1) / tp;
    tr = std::max<int64_t>(1, d.rows * groups / want_tiles);
    while (tr * tp < min_units && tr < d.rows) ++tr;
    // Few row blocks (small images, many channels): split the panels instead.
    while (tp > 1 && ((d.rows + tr - 1) / tr) * ((d.num_panels + tp - 1) / tp) < want_tiles &&
           (tp / 2) * tr >= min_units)
      tp = (tp + 1) / 2;
  }
  pthreadpool_parallelize_2d_tile_2d(pool, &run_tile, &d, static_cast<size_t>(d.num_panels),
                                     static_cast<size_t>(d.rows), static_cast<size_t>(tp), static_cast<size_t>(tr),
                                     0);
}

}  // namespace pocket::kernels
