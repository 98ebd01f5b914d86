// Gather along one axis: [outer, axis_dim, inner] x indices -> [outer, num_indices, inner].
#include <algorithm>
#include <cstring>

#include "kernels/transform/transform.h"

namespace pocket::kernels {

namespace {

struct GatherContext {
  const char* data;
  const void* indices;
  bool i64;
  int64_t num_indices, axis_dim, inner_bytes;
  char* dst;
};

inline int64_t clamp_index(int64_t i, int64_t n) {
  if (i < 0) i += n;
  return std::clamp<int64_t>(i, 0, n - 1);
}

template <size_t kBytes>
void gather_items(const GatherContext& c, size_t start, size_t count) {
  const int64_t ib = kBytes ? static_cast<int64_t>(kBytes) : c.inner_bytes;
  for (size_t item = start; item < start + count; ++item) {
    const int64_t o = static_cast<int64_t>(item) / c.num_indices;
    const int64_t j = static_cast<int64_t>(item) % c.num_indices;
    const int64_t raw = c.i64 ? static_cast<const int64_t*>(c.indices)[j] : static_cast<const int32_t*>(c.indices)[j];
    const int64_t i = clamp_index(raw, c.axis_dim);
    std::memcpy(c.dst + static_cast<int64_t>(item) * ib, c.data + (o * c.axis_dim + i) * ib, static_cast<size_t>(ib));
  }
}

void gather_range(void* opaque, size_t start, size_t count) {
  const GatherContext& c = *static_cast<const GatherContext*>(opaque);
  switch (c.inner_bytes) {
    case 1: gather_items<1>(c, start, count); return;
    case 2: gather_items<2>(c, start, count); return;
    case 4: gather_items<4>(c, start, count); return;
    case 8: gather_items<8>(c, start, count); return;
    default: gather_items<0>(c, start, count); return;
  }
}

}  // namespace

void gather(const void* data, const void* indices, bool indices_i64, int64_t num_indices, int64_t outer,
            int64_t axis_dim, int64_t inner_bytes, void* dst, pthreadpool_t pool) {
  const int64_t items = outer * num_indices;
  if (items == 0 || inner_bytes == 0 || axis_dim <= 0) return;
  GatherContext c{static_cast<const char*>(data), indices, indices_i64, num_indices, axis_dim, inner_bytes,
                  static_cast<char*>(dst)};
  if (!pool || items * inner_bytes < 128 * 1024) {
    gather_range(&c, 0, static_cast<size_t>(items));
    return;
  }
  pthreadpool_parallelize_1d_tile_1d(pool, gather_range, &c, static_cast<size_t>(items),
                                     static_cast<size_t>(std::max<int64_t>(1, 32 * 1024 / inner_bytes)), 0);
}

}  // namespace pocket::kernels
