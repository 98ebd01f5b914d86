// Strided copies (the engine of Transpose, Slice, Tile, Expand, DepthToSpace, SpaceToDepth) and
// block copies (Concat, Split). A plan whose two innermost output dims read the input "across"
// (the second-last dim is the contiguous one) goes to the tiled 2-D transpose of the dispatch
// table; everything else is an odometer over output rows with a strided inner loop.
#include <algorithm>
#include <cstring>

#include "kernels/transform/dispatch.h"
#include "kernels/transform/transform.h"

namespace pocket::kernels {

namespace {

// Below this many bytes a copy runs on the calling thread.
constexpr int64_t kParallelBytes = 128 * 1024;

pthreadpool_t pool_for(int64_t bytes, pthreadpool_t pool) { return bytes >= kParallelBytes ? pool : nullptr; }

template <class T>
void copy_row_typed(const char* s, int64_t stride, char* d, int64_t n) {
  T* out = reinterpret_cast<T*>(d);
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, s + i * stride, sizeof(T));
    out[i] = v;
  }
}

void copy_row(const char* s, int64_t stride, char* d, int64_t n, size_t e) {
  switch (e) {
    case 1: copy_row_typed<uint8_t>(s, stride, d, n); return;
    case 2: copy_row_typed<uint16_t>(s, stride, d, n); return;
    case 4: copy_row_typed<uint32_t>(s, stride, d, n); return;
    case 8: copy_row_typed<uint64_t>(s, stride, d, n); return;
    default:
      if (stride == 0) {
        for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * static_cast<int64_t>(e), s, e);
      } else {
        for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * static_cast<int64_t>(e), s + i * stride, e);
      }
  }
}

struct RowsContext {
  const StridedCopy* plan;
  const char* src;
  char* dst;
};

// Copies output rows [start, start + count) (a row = the innermost dim).
void copy_rows(void* opaque, size_t start, size_t count) {
  const RowsContext& c = *static_cast<const RowsContext*>(opaque);
  const StridedCopy& p = *c.plan;
  const int last = p.rank - 1;
  const int64_t n = p.dims[last];
  const int64_t e = static_cast<int64_t>(p.elem_size);
  int64_t idx[kMaxCopyDims];
  int64_t rem = static_cast<int64_t>(start);
  int64_t off = p.offset;
  for (int d = last - 1; d >= 0; --d) {
    idx[d] = rem % p.dims[d];
    rem /= p.dims[d];
    off += idx[d] * p.strides[d];
  }
  char* out = c.dst + static_cast<int64_t>(start) * n * e;
  for (size_t r = 0; r < count; ++r) {
    copy_row(c.src + off, p.strides[last], out, n, p.elem_size);
    out += n * e;
    for (int d = last - 1; d >= 0; --d) {
      off += p.strides[d];
      if (++idx[d] < p.dims[d]) break;
      off -= idx[d] * p.strides[d];
      idx[d] = 0;
    }
  }
}

struct TileContext {
  const StridedCopy* plan;
  const char* src;
  char* dst;
  TransposeTileFn fn;
};

// One tile of the innermost two dims [a, b] (a contiguous in the source) for outer index i.
void transpose_tile(void* opaque, size_t i, size_t j, size_t k, size_t tj, size_t tk) {
  const TileContext& c = *static_cast<const TileContext*>(opaque);
  const StridedCopy& p = *c.plan;
  const int r = p.rank;
  const int64_t a = p.dims[r - 2], b = p.dims[r - 1];
  const int64_t e = static_cast<int64_t>(p.elem_size);
  const int64_t sb = p.strides[r - 1];
  int64_t off = p.offset;
  int64_t rem = static_cast<int64_t>(i);
  for (int d = r - 3; d >= 0; --d) {
    off += (rem % p.dims[d]) * p.strides[d];
    rem /= p.dims[d];
  }
  const char* s = c.src + off + static_cast<int64_t>(j) * e + static_cast<int64_t>(k) * sb;
  char* d = c.dst + ((static_cast<int64_t>(i) * a + static_cast<int64_t>(j)) * b + static_cast<int64_t>(k)) * e;
  c.fn(s, sb, d, b * e, tk, tj);
}

TransposeTileFn tile_fn(size_t e) {
  const TransformKernels& k = transform_kernels();
  switch (e) {
    case 1: return k.transpose_x8;
    case 2: return k.transpose_x16;
    case 4: return k.transpose_x32;
    case 8: return k.transpose_x64;
    default: return nullptr;
  }
}

struct BlockContext {
  const char* src;
  char* dst;
  int64_t src_stride, dst_stride, block_bytes, chunk;
};

void copy_block_chunk(void* opaque, size_t i, size_t j) {
  const BlockContext& c = *static_cast<const BlockContext*>(opaque);
  const int64_t begin = static_cast<int64_t>(j) * c.chunk;
  const int64_t len = std::min(c.chunk, c.block_bytes - begin);
  std::memcpy(c.dst + static_cast<int64_t>(i) * c.dst_stride + begin,
              c.src + static_cast<int64_t>(i) * c.src_stride + begin, static_cast<size_t>(len));
}

void copy_block_range(void* opaque, size_t start, size_t count) {
  const BlockContext& c = *static_cast<const BlockContext*>(opaque);
  for (size_t i = start; i < start + count; ++i)
    std::memcpy(c.dst + static_cast<int64_t>(i) * c.dst_stride, c.src + static_cast<int64_t>(i) * c.src_stride,
                static_cast<size_t>(c.block_bytes));
}

}  // namespace

bool plan_strided_copy(int rank, const int64_t* dims, const int64_t* elem_strides, int64_t elem_offset,
                       size_t elem_size, StridedCopy* plan) {
  *plan = StridedCopy{};
  const int64_t e = static_cast<int64_t>(elem_size);
  plan->elem_size = elem_size;
  plan->offset = elem_offset * e;
  for (int d = 0; d < rank; ++d) {
    if (dims[d] == 0) {
      plan->total = 0;
      return true;
    }
  }
  int64_t ds[64], ss[64];
  int n = 0;
  for (int d = 0; d < rank; ++d) {
    if (dims[d] == 1) continue;
    const int64_t s = elem_strides[d] * e;
    if (n > 0 && ss[n - 1] == s * dims[d]) {
      ds[n - 1] *= dims[d];
      ss[n - 1] = s;
      continue;
    }
    if (n == 64) return false;
    ds[n] = dims[d];
    ss[n] = s;
    ++n;
  }
  while (n > 0 && ss[n - 1] == static_cast<int64_t>(plan->elem_size)) {
    plan->elem_size *= static_cast<size_t>(ds[n - 1]);
    --n;
  }
  if (n > kMaxCopyDims) return false;
  plan->rank = n;
  plan->total = 1;
  for (int d = 0; d < n; ++d) {
    plan->dims[d] = ds[d];
    plan->strides[d] = ss[d];
    plan->total *= ds[d];
  }
  return true;
}

bool plan_transpose(int rank, const int64_t* in_dims, const int64_t* perm, size_t elem_size, StridedCopy* plan) {
  if (rank > 64) return false;
  int64_t in_strides[64], dims[64], strides[64];
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; --d) {
    in_strides[d] = s;
    s *= in_dims[d];
  }
  for (int d = 0; d < rank; ++d) {
    dims[d] = in_dims[perm[d]];
    strides[d] = in_strides[perm[d]];
  }
  return plan_strided_copy(rank, dims, strides, 0, elem_size, plan);
}

void strided_copy(const StridedCopy& p, const void* src, void* dst, pthreadpool_t pool) {
  if (p.total == 0) return;
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  if (p.rank == 0) {
    std::memcpy(d, s + p.offset, p.elem_size);
    return;
  }
  const int64_t e = static_cast<int64_t>(p.elem_size);
  pool = pool_for(p.total * e, pool);
  const int r = p.rank;
  TransposeTileFn fn = tile_fn(p.elem_size);
  if (fn && r >= 2 && p.strides[r - 2] == e) {
    // Square tiles, except when the output's inner dim is short (an image's 3 channels): then
    // take the whole of it and a long run of the other dim, so each call does real work.
    const size_t tile = e >= 8 ? 32 : 64;
    const size_t tile_k = std::min<size_t>(tile, static_cast<size_t>(p.dims[r - 1]));
    const size_t tile_j = std::max<size_t>(tile, tile * tile / tile_k);
    TileContext c{&p, s, d, fn};
    const int64_t outer = p.total / (p.dims[r - 2] * p.dims[r - 1]);
    pthreadpool_parallelize_3d_tile_2d(pool, transpose_tile, &c, static_cast<size_t>(outer),
                                       static_cast<size_t>(p.dims[r - 2]), static_cast<size_t>(p.dims[r - 1]),
                                       tile_j, tile_k, 0);
    return;
  }
  RowsContext c{&p, s, d};
  const int64_t rows = p.total / p.dims[r - 1];
  const int64_t row_bytes = p.dims[r - 1] * e;
  const int64_t tile = std::max<int64_t>(1, 32 * 1024 / std::max<int64_t>(row_bytes, 1));
  if (!pool) {
    copy_rows(&c, 0, static_cast<size_t>(rows));
    return;
  }
  pthreadpool_parallelize_1d_tile_1d(pool, copy_rows, &c, static_cast<size_t>(rows), static_cast<size_t>(tile), 0);
}

void block_copy(const void* src, int64_t src_stride, void* dst, int64_t dst_stride, int64_t block_bytes,
                int64_t count, pthreadpool_t pool) {
  if (count <= 0 || block_bytes <= 0) return;
  pool = pool_for(block_bytes * count, pool);
  BlockContext c{static_cast<const char*>(src), static_cast<char*>(dst), src_stride, dst_stride, block_bytes, 0};
  if (!pool) {
    copy_block_range(&c, 0, static_cast<size_t>(count));
    return;
  }
  constexpr int64_t kChunk = 64 * 1024;
  if (block_bytes >= kChunk) {
    c.chunk = kChunk;
    pthreadpool_parallelize_2d(pool, copy_block_chunk, &c, static_cast<size_t>(count),
                               static_cast<size_t>((block_bytes + kChunk - 1) / kChunk), 0);
  } else {
    pthreadpool_parallelize_1d_tile_1d(pool, copy_block_range, &c, static_cast<size_t>(count),
                                       static_cast<size_t>(std::max<int64_t>(1, kChunk / block_bytes)), 0);
  }
}

}  // namespace pocket::kernels
