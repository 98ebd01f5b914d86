// Pooling: the variant table (filled once from cpu_features()) and the threaded drivers; LRN.
#include "kernels/pool/pool_f32.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu_features.h"

namespace pocket::kernels {

namespace {

std::vector<PoolF32Kernel> make_variants() {
  std::vector<PoolF32Kernel> v{{"scalar", &max_pool2d_f32_row_scalar, &avg_pool2d_f32_row_scalar,
                                &global_avg_pool_f32_scalar, &global_max_pool_f32_scalar}};
#if defined(__x86_64__)
  if (cpu_features().avx2_fma)
    v.push_back({"avx2", &max_pool2d_f32_row_avx2, &avg_pool2d_f32_row_avx2, &global_avg_pool_f32_avx2,
                 &global_max_pool_f32_avx2});
#elif defined(__aarch64__)
  if (cpu_features().neon)
    v.push_back({"neon", &max_pool2d_f32_row_neon, &avg_pool2d_f32_row_neon, &global_avg_pool_f32_neon,
                 &global_max_pool_f32_neon});
#endif
  return v;
}

const std::vector<PoolF32Kernel>& variants() {
  static const std::vector<PoolF32Kernel> v = make_variants();
  return v;
}

struct PoolTask {
  Pool2dF32RowFn fn;
  const Pool2dF32Params* p;
  const float* x;
  float* y;
};

void pool_rows(void* ctx, size_t row) {
  const auto* t = static_cast<const PoolTask*>(ctx);
  t->fn(*t->p, t->x, t->y, static_cast<int64_t>(row));
}

struct GlobalTask {
  GlobalPoolF32Fn fn;
  int64_t pixels, channels;
  float scale;
  const float* x;
  float* y;
};

void global_tile(void* ctx, size_t b, size_t c0, size_t nc) {
  const auto* t = static_cast<const GlobalTask*>(ctx);
  const int64_t off = static_cast<int64_t>(b) * t->channels + static_cast<int64_t>(c0);
  t->fn(t->pixels, t->channels, t->x + static_cast<int64_t>(b) * t->pixels * t->channels + static_cast<int64_t>(c0),
        t->y + off, static_cast<int64_t>(nc), t->scale);
}

void run_pool(Pool2dF32RowFn fn, const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool) {
  if (p.batch * p.out_h <= 0 || p.out_w <= 0 || p.channels <= 0) return;
  PoolTask t{fn, &p, x, y};
  pthreadpool_parallelize_1d(pool, &pool_rows, &t, static_cast<size_t>(p.batch * p.out_h), 0);
}

void run_global(GlobalPoolF32Fn fn, float scale, int64_t batch, int64_t pixels, int64_t channels, const float* x,
                float* y, pthreadpool_t pool) {
  if (batch <= 0 || channels <= 0) return;
  // Channel tiles of whole 32-channel register blocks; small tensors stay on the calling thread.
  const int64_t threads = pool ? static_cast<int64_t>(pthreadpool_get_threads_count(pool)) : 1;
  int64_t tile = channels;
  if (threads > 1 && batch * pixels * channels >= 16384) {
    const int64_t want = (4 * threads + batch - 1) / batch;
    tile = std::max<int64_t>(32, (channels / want + 31) / 32 * 32);
  } else {
    pool = nullptr;
  }
  GlobalTask t{fn, pixels, channels, scale, x, y};
  pthreadpool_parallelize_2d_tile_1d(pool, &global_tile, &t, static_cast<size_t>(batch), static_cast<size_t>(channels),
                                     static_cast<size_t>(tile), 0);
}

struct LrnTask {
  int64_t channels, size;
  float alpha_over_size, beta, bias;
  const float* x;
  float* y;
};

void lrn_pixel(void* ctx, size_t i) {
  const LrnTask& t = *static_cast<LrnTask*>(ctx);
  const float* in = t.x + i * t.channels;
  float* out = t.y + i * t.channels;
  const int64_t lo = (t.size - 1) / 2, hi = t.size / 2;
  for (int64_t c = 0; c < t.channels; ++c) {
    float sum = 0.f;
    const int64_t c0 = std::max<int64_t>(c - lo, 0), c1 = std::min(c + hi, t.channels - 1);
    for (int64_t k = c0; k <= c1; ++k) sum += in[k] * in[k];
    out[c] = in[c] / std::pow(t.bias + t.alpha_over_size * sum, t.beta);
  }
}

}  // namespace

const PoolF32Kernel& pool_f32_kernel() { return variants().back(); }

const PoolF32Kernel* pool_f32_variants(size_t* count) {
  *count = variants().size();
  return variants().data();
}

void max_pool2d_f32(const PoolF32Kernel& k, const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool) {
  run_pool(k.max_row, p, x, y, pool);
}

void avg_pool2d_f32(const PoolF32Kernel& k, const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool) {
  run_pool(k.avg_row, p, x, y, pool);
}

void global_avg_pool_f32(const PoolF32Kernel& k, int64_t batch, int64_t pixels, int64_t channels, const float* x,
                         float* y, pthreadpool_t pool) {
  run_global(k.global_avg, pixels > 0 ? 1.f / static_cast<float>(pixels) : 0.f, batch, pixels, channels, x, y, pool);
}

void global_max_pool_f32(const PoolF32Kernel& k, int64_t batch, int64_t pixels, int64_t channels, const float* x,
                         float* y, pthreadpool_t pool) {
  run_global(k.global_max, 1.f, batch, pixels, channels, x, y, pool);
}

void lrn_f32(int64_t pixels, int64_t channels, int64_t size, float alpha, float beta, float bias, const float* x,
             float* y, pthreadpool_t pool) {
  LrnTask t{channels, size, alpha / static_cast<float>(size), beta, bias, x, y};
  pthreadpool_parallelize_1d(pool, &lrn_pixel, &t, static_cast<size_t>(pixels), 0);
}

}  // namespace pocket::kernels
