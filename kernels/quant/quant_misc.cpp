// The int8 kernels that stay scalar (the compiler vectorizes the simple loops): elementwise add,
// global average pool, channel scaling, max / average pooling, im2col.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/quant/quant_ops_impl.h"

namespace pocket::kernels {

using quant_detail::quantize_value;

void quant_detail::add_qs8_scalar(const int8_t* a, QParams pa, const int8_t* b, QParams pb, int64_t n,
                                  int64_t b_channels, int8_t* y, QParams py, float out_min, float out_max) {
  // real(a) and real(b) take 256 values each: two tables instead of two conversions per element.
  float ta[256], tb[256];
  for (int q = -128; q < 128; ++q) {
    ta[q + 128] = pa.scale * static_cast<float>(q - pa.zero_point);
    tb[q + 128] = pb.scale * static_cast<float>(q - pb.zero_point);
  }
  auto one = [&](int8_t qa, int8_t qb) {
    float v = ta[qa + 128] + tb[qb + 128];
    v = std::min(std::max(v, out_min), out_max);
    return quantize_value(v / py.scale, py.zero_point);
  };
  if (b_channels <= 1) {
    for (int64_t i = 0; i < n; ++i) y[i] = one(a[i], b[0]);
  } else if (b_channels >= n) {
    for (int64_t i = 0; i < n; ++i) y[i] = one(a[i], b[i]);
  } else {
    for (int64_t i0 = 0; i0 < n; i0 += b_channels) {
      const int64_t len = std::min(b_channels, n - i0);
      for (int64_t j = 0; j < len; ++j) y[i0 + j] = one(a[i0 + j], b[j]);
    }
  }
}

void global_avgpool_qs8(const int8_t* x, QParams px, int64_t n, int64_t hw, int64_t c, int8_t* y, QParams py,
                        float* y_f32) {
  constexpr int64_t kChunk = 256;
  int32_t acc[kChunk];
  const float mul = hw > 0 ? px.scale / static_cast<float>(hw) : 0.f;
  for (int64_t b = 0; b < n; ++b) {
    const int8_t* xb = x + b * hw * c;
    for (int64_t c0 = 0; c0 < c; c0 += kChunk) {
      const int64_t len = std::min(kChunk, c - c0);
      std::fill(acc, acc + len, 0);
      for (int64_t p = 0; p < hw; ++p) {
        const int8_t* row = xb + p * c + c0;
        for (int64_t j = 0; j < len; ++j) acc[j] += row[j];
      }
      const int32_t bias = px.zero_point * static_cast<int32_t>(hw);
      for (int64_t j = 0; j < len; ++j) {
        const float mean = static_cast<float>(acc[j] - bias) * mul;
        if (y_f32) y_f32[b * c + c0 + j] = mean;
        else y[b * c + c0 + j] = quantize_value(mean / py.scale, py.zero_point);
      }
    }
  }
}

void scale_channels_qs8(const int8_t* x, QParams px, const float* gate, int64_t n, int64_t hw, int64_t c, int8_t* y,
                        QParams py) {
  for (int64_t b = 0; b < n; ++b) {
    const float* g = gate + b * c;
    for (int64_t p = 0; p < hw; ++p) {
      const int64_t base = (b * hw + p) * c;
      for (int64_t j = 0; j < c; ++j) {
        const float v = px.scale * static_cast<float>(static_cast<int32_t>(x[base + j]) - px.zero_point) * g[j];
        y[base + j] = quantize_value(v / py.scale, py.zero_point);
      }
    }
  }
}

namespace {

// One output row (b, oy) of a pool: every ox, every channel.
template <bool kMax>
void pool_row(const PoolQs8Args& a, int64_t row) {
  const int64_t C = a.c, b = row / a.oh, oy = row % a.oh;
  const int8_t* xb = a.x + b * a.h * a.w * C;
  constexpr int64_t kChunk = 256;
  int32_t acc[kChunk];
  const int64_t y0 = oy * a.stride_h - a.pad_top;
  // count_include_pad: the window part inside [-pad_top, h + pad_bottom); the bottom/right pads
  // are whatever makes the output size fit, as in the f32 pool (the window never passes them).
  for (int64_t ox = 0; ox < a.ow; ++ox) {
    const int64_t x0 = ox * a.stride_w - a.pad_left;
    int64_t valid = 0;
    int8_t* yo = a.y + (row * a.ow + ox) * C;
    for (int64_t c0 = 0; c0 < C; c0 += kChunk) {
      const int64_t len = std::min(kChunk, C - c0);
      std::fill(acc, acc + len, kMax ? -128 : 0);
      valid = 0;
      for (int64_t ky = 0; ky < a.kh; ++ky) {
        const int64_t iy = y0 + ky * a.dilation_h;
        if (iy < 0 || iy >= a.h) continue;
        for (int64_t kx = 0; kx < a.kw; ++kx) {
          const int64_t ix = x0 + kx * a.dilation_w;
          if (ix < 0 || ix >= a.w) continue;
          ++valid;
          const int8_t* xr = xb + (iy * a.w + ix) * C + c0;
          if constexpr (kMax) {
            for (int64_t j = 0; j < len; ++j) acc[j] = std::max<int32_t>(acc[j], xr[j]);
          } else {
            for (int64_t j = 0; j < len; ++j) acc[j] += xr[j];
          }
        }
      }
      if constexpr (kMax) {
        for (int64_t j = 0; j < len; ++j) yo[c0 + j] = static_cast<int8_t>(acc[j]);
      } else {
        int64_t count = valid;
        if (a.count_include_pad) {
          // Taps inside the padded extent [-pad_top, h + pad_bottom) x [-pad_left, w + pad_right)
          // (a negative bottom/right pad: no limit, the window never passes it).
          const int64_t hend = a.pad_bottom < 0 ? INT64_MAX : a.h + a.pad_bottom;
          const int64_t wend = a.pad_right < 0 ? INT64_MAX : a.w + a.pad_right;
          int64_t rows_in = 0, cols_in = 0;
          for (int64_t ky = 0; ky < a.kh; ++ky) {
            const int64_t iy = y0 + ky * a.dilation_h;
            rows_in += iy >= -a.pad_top && iy < hend;
          }
          for (int64_t kx = 0; kx < a.kw; ++kx) {
            const int64_t ix = x0 + kx * a.dilation_w;
            cols_in += ix >= -a.pad_left && ix < wend;
          }
          count = rows_in * cols_in;
        }
        const float mul = count > 0 ? a.px.scale / static_cast<float>(count) : 0.f;
        const int32_t zsum = a.px.zero_point * static_cast<int32_t>(valid);
        for (int64_t j = 0; j < len; ++j) {
          const float mean = static_cast<float>(acc[j] - zsum) * mul;
          yo[c0 + j] = quantize_value(mean / a.py.scale, a.py.zero_point);
        }
      }
    }
  }
}

template <bool kMax>
void pool_task(void* ctx, size_t row) {
  pool_row<kMax>(*static_cast<const PoolQs8Args*>(ctx), static_cast<int64_t>(row));
}

}  // namespace

void maxpool_qs8(const PoolQs8Args& args, pthreadpool_t pool) {
  if (args.n * args.oh <= 0 || args.ow <= 0 || args.c <= 0) return;
  pthreadpool_parallelize_1d(pool, &pool_task<true>, const_cast<PoolQs8Args*>(&args),
                             static_cast<size_t>(args.n * args.oh), 0);
}

void avgpool_qs8(const PoolQs8Args& args, pthreadpool_t pool) {
  if (args.n * args.oh <= 0 || args.ow <= 0 || args.c <= 0) return;
  pthreadpool_parallelize_1d(pool, &pool_task<false>, const_cast<PoolQs8Args*>(&args),
                             static_cast<size_t>(args.n * args.oh), 0);
}

void im2col_s8(const int8_t* x, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t stride_h,
               int64_t stride_w, int64_t dilation_h, int64_t dilation_w, int64_t pad_top, int64_t pad_left,
               int64_t ow, int64_t row0, int64_t rows, int8_t pad_value, int8_t* out) {
  const int64_t K = kh * kw * c;
  // Small copies (a first layer's 3 channels) inline: a library memcpy call per tap costs more
  // than the bytes it moves.
  auto copy = [](int8_t* dst, const int8_t* src, int64_t n) {
    if (n <= 32) {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    } else {
      std::memcpy(dst, src, static_cast<size_t>(n));
    }
  };
  auto fill = [](int8_t* dst, int8_t v, int64_t n) {
    if (n <= 32) {
      for (int64_t i = 0; i < n; ++i) dst[i] = v;
    } else {
      std::memset(dst, v, static_cast<size_t>(n));
    }
  };
  for (int64_t r = row0; r < row0 + rows; ++r) {
    const int64_t oy = r / ow, ox = r % ow;
    int8_t* o = out + (r - row0) * K;
    const int64_t ix0 = ox * stride_w - pad_left;
    // With dilation 1 and the whole row of taps inside the image, a tap row is kw * c contiguous bytes.
    const bool row_inside = dilation_w == 1 && ix0 >= 0 && ix0 + kw <= w;
    for (int64_t ky = 0; ky < kh; ++ky) {
      const int64_t iy = oy * stride_h - pad_top + ky * dilation_h;
      if (iy < 0 || iy >= h) {
        fill(o, pad_value, kw * c);
        o += kw * c;
        continue;
      }
      if (row_inside) {
        copy(o, x + (iy * w + ix0) * c, kw * c);
        o += kw * c;
        continue;
      }
      for (int64_t kx = 0; kx < kw; ++kx, o += c) {
        const int64_t ix = ix0 + kx * dilation_w;
        if (ix < 0 || ix >= w) fill(o, pad_value, c);
        else copy(o, x + (iy * w + ix) * c, c);
      }
    }
  }
}

}  // namespace pocket::kernels
