// Nearest-neighbour resize as a per-axis index gather (dtype-agnostic).
#include <algorithm>
#include <cstring>

#include "kernels/transform/transform.h"

namespace pocket::kernels {

namespace {

struct IndexContext {
  const IndexGather* plan;
  const char* src;
  char* dst;
};

template <class T>
void gather_row(const char* in, const int64_t* table, int64_t n, char* out) {
  T* o = reinterpret_cast<T*>(out);
  for (int64_t x = 0; x < n; ++x) std::memcpy(&o[x], in + table[x] * static_cast<int64_t>(sizeof(T)), sizeof(T));
}

void index_rows(void* opaque, size_t start, size_t count) {
  const IndexContext& c = *static_cast<const IndexContext*>(opaque);
  const IndexGather& p = *c.plan;
  const int last = p.rank - 1;
  const int64_t e = static_cast<int64_t>(p.elem_size);
  const int64_t n = p.out_dims[last];
  int64_t in_strides[kMaxCopyDims];
  int64_t s = 1;
  for (int d = last; d >= 0; --d) {
    in_strides[d] = s;
    s *= p.in_dims[d];
  }
  for (size_t r = start; r < start + count; ++r) {
    int64_t rem = static_cast<int64_t>(r), off = 0;
    for (int d = last - 1; d >= 0; --d) {
      off += p.index_tables[d][rem % p.out_dims[d]] * in_strides[d];
      rem /= p.out_dims[d];
    }
    const char* in = c.src + off * e;
    char* out = c.dst + static_cast<int64_t>(r) * n * e;
    const int64_t* table = p.index_tables[last];
    switch (e) {
      case 1: gather_row<uint8_t>(in, table, n, out); break;
      case 2: gather_row<uint16_t>(in, table, n, out); break;
      case 4: gather_row<uint32_t>(in, table, n, out); break;
      case 8: gather_row<uint64_t>(in, table, n, out); break;
      default:
        for (int64_t x = 0; x < n; ++x) std::memcpy(out + x * e, in + table[x] * e, static_cast<size_t>(e));
    }
  }
}

}  // namespace

void index_gather(const IndexGather& p, const void* src, void* dst, pthreadpool_t pool) {
  if (p.rank == 0) {
    std::memcpy(dst, src, p.elem_size);
    return;
  }
  int64_t total = 1, in_total = 1;
  for (int d = 0; d < p.rank; ++d) {
    total *= p.out_dims[d];
    in_total *= p.in_dims[d];
  }
  if (total == 0 || in_total == 0) return;
  IndexContext c{&p, static_cast<const char*>(src), static_cast<char*>(dst)};
  const int64_t n = p.out_dims[p.rank - 1];
  const int64_t rows = total / n;
  const int64_t row_bytes = n * static_cast<int64_t>(p.elem_size);
  if (!pool || total * static_cast<int64_t>(p.elem_size) < 128 * 1024) {
    index_rows(&c, 0, static_cast<size_t>(rows));
    return;
  }
  pthreadpool_parallelize_1d_tile_1d(pool, index_rows, &c, static_cast<size_t>(rows),
                                     static_cast<size_t>(std::max<int64_t>(1, 16 * 1024 / row_bytes)), 0);
}

}  // namespace pocket::kernels
