// Pad/crop with constant, reflect or edge borders, one output row (innermost dim) at a time:
// the middle of a row is one memcpy, the borders map index by index.
#include <algorithm>
#include <cstring>

#include "kernels/transform/transform.h"

namespace pocket::kernels {

namespace {

// Input index for output index o, or -1 when it falls outside (constant mode only).
inline int64_t map_index(int64_t o, int64_t pad_begin, int64_t n, PadMode mode) {
  int64_t i = o - pad_begin;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::kConstant: return -1;
    case PadMode::kEdge: return i < 0 ? 0 : n - 1;
    case PadMode::kReflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      i %= period;
      if (i < 0) i += period;
      return i < n ? i : period - i;
    }
  }
  return 0;
}

struct PadContext {
  const PadPlan* plan;
  const char* src;
  char* dst;
};

void pad_rows(void* opaque, size_t start, size_t count) {
  const PadContext& c = *static_cast<const PadContext*>(opaque);
  const PadPlan& p = *c.plan;
  const int last = p.rank - 1;
  const size_t e = p.elem_size;
  const int64_t n_out = p.out_dims[last], n_in = p.in_dims[last], pb = p.pads_begin[last];
  int64_t in_strides[kMaxCopyDims];
  int64_t s = 1;
  for (int d = last; d >= 0; --d) {
    in_strides[d] = s;
    s *= p.in_dims[d];
  }
  // Output positions [mid_lo, mid_hi) read input positions [mid_lo - pb, mid_hi - pb) directly.
  const int64_t mid_lo = std::clamp<int64_t>(pb, 0, n_out);
  const int64_t mid_hi = std::clamp<int64_t>(pb + n_in, mid_lo, n_out);
  for (size_t r = start; r < start + count; ++r) {
    char* out = c.dst + static_cast<int64_t>(r) * n_out * static_cast<int64_t>(e);
    int64_t rem = static_cast<int64_t>(r);
    int64_t off = 0;
    bool outside = false;
    for (int d = last - 1; d >= 0; --d) {
      const int64_t o = rem % p.out_dims[d];
      rem /= p.out_dims[d];
      const int64_t i = map_index(o, p.pads_begin[d], p.in_dims[d], p.mode);
      if (i < 0) {
        outside = true;
        break;
      }
      off += i * in_strides[d];
    }
    if (outside || n_in == 0) {
      for (int64_t o = 0; o < n_out; ++o) std::memcpy(out + o * static_cast<int64_t>(e), p.value, e);
      continue;
    }
    const char* in = c.src + off * static_cast<int64_t>(e);
    for (int64_t o = 0; o < mid_lo; ++o) {
      const int64_t i = map_index(o, pb, n_in, p.mode);
      std::memcpy(out + o * static_cast<int64_t>(e), i < 0 ? p.value : reinterpret_cast<const uint8_t*>(in + i * static_cast<int64_t>(e)), e);
    }
    if (mid_hi > mid_lo)
      std::memcpy(out + mid_lo * static_cast<int64_t>(e), in + (mid_lo - pb) * static_cast<int64_t>(e),
                  static_cast<size_t>(mid_hi - mid_lo) * e);
    for (int64_t o = mid_hi; o < n_out; ++o) {
      const int64_t i = map_index(o, pb, n_in, p.mode);
      std::memcpy(out + o * static_cast<int64_t>(e), i < 0 ? p.value : reinterpret_cast<const uint8_t*>(in + i * static_cast<int64_t>(e)), e);
    }
  }
}

}  // namespace

void pad(const PadPlan& p, const void* src, void* dst, pthreadpool_t pool) {
  int64_t total = 1;
  for (int d = 0; d < p.rank; ++d) total *= p.out_dims[d];
  if (total == 0) return;
  PadContext c{&p, static_cast<const char*>(src), static_cast<char*>(dst)};
  if (p.rank == 0) {
    std::memcpy(dst, src, p.elem_size);
    return;
  }
  const int64_t n_out = p.out_dims[p.rank - 1];
  const int64_t rows = total / n_out;
  const int64_t row_bytes = n_out * static_cast<int64_t>(p.elem_size);
  if (!pool || total * static_cast<int64_t>(p.elem_size) < 128 * 1024) {
    pad_rows(&c, 0, static_cast<size_t>(rows));
    return;
  }
  pthreadpool_parallelize_1d_tile_1d(pool, pad_rows, &c, static_cast<size_t>(rows),
                                     static_cast<size_t>(std::max<int64_t>(1, 32 * 1024 / row_bytes)), 0);
}

}  // namespace pocket::kernels
