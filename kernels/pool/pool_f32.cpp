#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/pool/pool_f32.h"

namespace pocket::kernels {

namespace {

typedef float v4 __attribute__((vector_size(16)));

inline v4 load4(const float* p) {
  v4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store4(float* p, v4 v) { std::memcpy(p, &v, sizeof(v)); }
inline v4 vmax(v4 a, v4 b) { return a > b ? a : b; }

// out[c] = max(out[c], in[c]) / out[c] += in[c] over a channel row.
inline void row_max(float* out, const float* in, int64_t n) {
  int64_t c = 0;
  for (; c + 4 <= n; c += 4) store4(out + c, vmax(load4(out + c), load4(in + c)));
  for (; c < n; ++c) out[c] = std::max(out[c], in[c]);
}
inline void row_add(float* out, const float* in, int64_t n) {
  int64_t c = 0;
  for (; c + 4 <= n; c += 4) store4(out + c, load4(out + c) + load4(in + c));
  for (; c < n; ++c) out[c] += in[c];
}
inline void row_scale(float* out, float s, int64_t n) {
  int64_t c = 0;
  const v4 sv = {s, s, s, s};
  for (; c + 4 <= n; c += 4) store4(out + c, load4(out + c) * sv);
  for (; c < n; ++c) out[c] *= s;
}

struct PoolTask {
  const Pool2dF32Params* p;
  const float* x;
  float* y;
};

void max_row(void* ctx, size_t row) {
  const PoolTask& t = *static_cast<PoolTask*>(ctx);
  const Pool2dF32Params& p = *t.p;
  const int64_t b = static_cast<int64_t>(row) / p.out_h, oy = static_cast<int64_t>(row) % p.out_h;
  const int64_t C = p.channels;
  for (int64_t ox = 0; ox < p.out_w; ++ox) {
    float* out = t.y + ((b * p.out_h + oy) * p.out_w + ox) * C;
    std::fill(out, out + C, -std::numeric_limits<float>::infinity());
    for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
      const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
      if (iy < 0 || iy >= p.in_h) continue;
      for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
        const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
        if (ix < 0 || ix >= p.in_w) continue;
        row_max(out, t.x + ((b * p.in_h + iy) * p.in_w + ix) * C, C);
      }
    }
  }
}

void avg_row(void* ctx, size_t row) {
  const PoolTask& t = *static_cast<PoolTask*>(ctx);
  const Pool2dF32Params& p = *t.p;
  const int64_t b = static_cast<int64_t>(row) / p.out_h, oy = static_cast<int64_t>(row) % p.out_h;
  const int64_t C = p.channels;
  const int64_t hs = oy * p.stride_h - p.pad_top;
  const int64_t he = std::min(hs + p.kernel_h, p.in_h + p.pad_bottom);
  const int64_t y0 = std::max<int64_t>(hs, 0), y1 = std::min(he, p.in_h);
  for (int64_t ox = 0; ox < p.out_w; ++ox) {
    const int64_t ws = ox * p.stride_w - p.pad_left;
    const int64_t we = std::min(ws + p.kernel_w, p.in_w + p.pad_right);
    const int64_t x0 = std::max<int64_t>(ws, 0), x1 = std::min(we, p.in_w);
    float* out = t.y + ((b * p.out_h + oy) * p.out_w + ox) * C;
    std::fill(out, out + C, 0.f);
    for (int64_t iy = y0; iy < y1; ++iy)
      for (int64_t ix = x0; ix < x1; ++ix) row_add(out, t.x + ((b * p.in_h + iy) * p.in_w + ix) * C, C);
    const int64_t count = p.count_include_pad ? (he - hs) * (we - ws)
                                              : std::max<int64_t>(y1 - y0, 0) * std::max<int64_t>(x1 - x0, 0);
    if (count > 0) row_scale(out, 1.f / static_cast<float>(count), C);
  }
}

struct GlobalTask {
  int64_t pixels, channels;
  const float* x;
  float* y;
};

constexpr size_t kChannelTile = 64;

void global_avg(void* ctx, size_t b, size_t c0, size_t nc) {
  const GlobalTask& t = *static_cast<GlobalTask*>(ctx);
  float* out = t.y + b * t.channels + c0;
  std::fill(out, out + nc, 0.f);
  const float* in = t.x + b * t.pixels * t.channels + c0;
  for (int64_t i = 0; i < t.pixels; ++i) row_add(out, in + i * t.channels, static_cast<int64_t>(nc));
  row_scale(out, t.pixels > 0 ? 1.f / static_cast<float>(t.pixels) : 0.f, static_cast<int64_t>(nc));
}

void global_max(void* ctx, size_t b, size_t c0, size_t nc) {
  const GlobalTask& t = *static_cast<GlobalTask*>(ctx);
  float* out = t.y + b * t.channels + c0;
  std::fill(out, out + nc, -std::numeric_limits<float>::infinity());
  const float* in = t.x + b * t.pixels * t.channels + c0;
  for (int64_t i = 0; i < t.pixels; ++i) row_max(out, in + i * t.channels, static_cast<int64_t>(nc));
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

void max_pool2d_f32(const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool) {
  PoolTask t{&p, x, y};
  pthreadpool_parallelize_1d(pool, &max_row, &t, static_cast<size_t>(p.batch * p.out_h), 0);
}

void avg_pool2d_f32(const Pool2dF32Params& p, const float* x, float* y, pthreadpool_t pool) {
  PoolTask t{&p, x, y};
  pthreadpool_parallelize_1d(pool, &avg_row, &t, static_cast<size_t>(p.batch * p.out_h), 0);
}

void global_avg_pool_f32(int64_t batch, int64_t pixels, int64_t channels, const float* x, float* y,
                         pthreadpool_t pool) {
  GlobalTask t{pixels, channels, x, y};
  pthreadpool_parallelize_2d_tile_1d(pool, &global_avg, &t, static_cast<size_t>(batch), static_cast<size_t>(channels),
                                     kChannelTile, 0);
}

void global_max_pool_f32(int64_t batch, int64_t pixels, int64_t channels, const float* x, float* y,
                         pthreadpool_t pool) {
  GlobalTask t{pixels, channels, x, y};
  pthreadpool_parallelize_2d_tile_1d(pool, &global_max, &t, static_cast<size_t>(batch), static_cast<size_t>(channels),
                                     kChannelTile, 0);
}

void lrn_f32(int64_t pixels, int64_t channels, int64_t size, float alpha, float beta, float bias, const float* x,
             float* y, pthreadpool_t pool) {
  LrnTask t{channels, size, alpha / static_cast<float>(size), beta, bias, x, y};
  pthreadpool_parallelize_1d(pool, &lrn_pixel, &t, static_cast<size_t>(pixels), 0);
}

}  // namespace pocket::kernels
