// Depthwise conv: the variant table (filled once from cpu_features()), weight packing and the
// threaded driver.
#include <algorithm>
#include <vector>

#include "kernels/conv/dwconv_f32.h"
#include "kernels/cpu_features.h"

namespace pocket::kernels {

namespace {

std::vector<DwConvF32Kernel> make_variants() {
  std::vector<DwConvF32Kernel> v{{"scalar", &dwconv_f32_tile_scalar, 1}};
#if defined(__x86_64__)
  if (cpu_features().avx2_fma) v.push_back({"avx2", &dwconv_f32_tile_avx2, 8});
  if (cpu_features().avx512) v.push_back({"avx512", &dwconv_f32_tile_avx512, 16});
#elif defined(__aarch64__)
  if (cpu_features().neon) v.push_back({"neon", &dwconv_f32_tile_neon, 4});
#endif
  return v;
}

const std::vector<DwConvF32Kernel>& variants() {
  static const std::vector<DwConvF32Kernel> v = make_variants();
  return v;
}

struct DwTask {
  const DwConvF32Kernel* kernel;
  const DwConvF32Params* p;
  const float* x;
  const float* r;
  float* y;
};

void run_tile(void* ctx, size_t row, size_t ox0, size_t n) {
  const auto* t = static_cast<const DwTask*>(ctx);
  t->kernel->tile(*t->p, t->x, t->r, t->y, static_cast<int64_t>(row), static_cast<int64_t>(ox0),
                  static_cast<int64_t>(ox0 + n));
}

}  // namespace

const DwConvF32Kernel& dwconv_f32_kernel() { return variants().back(); }

const DwConvF32Kernel* dwconv_f32_variants(size_t* count) {
  *count = variants().size();
  return variants().data();
}

size_t dwconv_f32_packed_floats(int64_t channels, int64_t kernel_h, int64_t kernel_w, int64_t channel_tile) {
  const int64_t groups = (channels + channel_tile - 1) / channel_tile;
  return static_cast<size_t>(groups * (kernel_h * kernel_w + 1) * channel_tile);
}

void dwconv_f32_pack(int64_t channels, int64_t kernel_h, int64_t kernel_w, int64_t channel_tile, const float* weights,
                     const float* bias, float* packed) {
  const int64_t taps = kernel_h * kernel_w, T = channel_tile;
  const int64_t groups = (channels + T - 1) / T;
  std::fill(packed, packed + groups * (taps + 1) * T, 0.f);
  for (int64_t c = 0; c < channels; ++c) {
    float* g = packed + (c / T) * (taps + 1) * T + c % T;
    for (int64_t k = 0; k < taps; ++k) g[k * T] = weights[c * taps + k];
    g[taps * T] = bias ? bias[c] : 0.f;
  }
}

size_t dwconv_f32_zero_floats(int64_t in_w, int64_t channels) { return static_cast<size_t>(in_w * channels + 16); }

void dwconv_f32(const DwConvF32Kernel& kernel, const DwConvF32Params& p, const float* x, const float* residual,
                float* y, pthreadpool_t pool) {
  const int64_t rows = p.batch * p.out_h;
  if (rows <= 0 || p.out_w <= 0 || p.channels <= 0) return;
  const int64_t threads = pool ? static_cast<int64_t>(pthreadpool_get_threads_count(pool)) : 1;
  // Whole rows, split into column tiles (multiples of the 8-pixel register block) until every
  // thread has at least 8 tasks, so a preempted worker leaves little behind.
  int64_t tile = p.out_w;
  if (threads > 1) {
    while (tile > 8 && rows * ((p.out_w + tile - 1) / tile) < 8 * threads) tile = std::max<int64_t>(8, (tile / 2 + 7) / 8 * 8);
  }
  DwTask t{&kernel, &p, x, residual, y};
  pthreadpool_parallelize_2d_tile_1d(pool, &run_tile, &t, static_cast<size_t>(rows), static_cast<size_t>(p.out_w),
                                     static_cast<size_t>(tile), 0);
}

}  // namespace pocket::kernels
