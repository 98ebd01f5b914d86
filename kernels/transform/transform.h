// Data-movement kernels: strided copies (transpose, slice, tile, expand, depth<->space), block
// copies (concat, split), pad, gather, resize and dtype conversion. Everything except resize-linear
// and cast is dtype-agnostic: it moves elements of 1, 2, 4 or 8 bytes (or any byte block).
// Plans are built in an op's prepare(); the run functions never allocate, log or fail.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

namespace pocket::kernels {

inline constexpr int kMaxCopyDims = 16;

// dst (dense, row-major over dims) [i0, ..., i(rank-1)] = src[offset + sum(i_d * strides[d])].
// Strides and offset are in bytes and may be negative (reversed slices) or zero (broadcast).
// elem_size is the byte size of one moved unit; after simplification it can be any size.
struct StridedCopy {
  int rank = 0;
  size_t elem_size = 1;
  int64_t dims[kMaxCopyDims] = {};
  int64_t strides[kMaxCopyDims] = {};
  int64_t offset = 0;
  int64_t total = 0;  // number of units (product of dims)
};

// Builds a simplified plan from element strides: drops size-1 dims, merges dims that are
// contiguous with each other and folds a contiguous innermost run into the unit size.
// Returns false when rank > kMaxCopyDims (the op's prepare reports it).
bool plan_strided_copy(int rank, const int64_t* dims, const int64_t* elem_strides,
                       int64_t elem_offset, size_t elem_size, StridedCopy* plan);

// The plan for a transpose: output dim d is input dim perm[d].
bool plan_transpose(int rank, const int64_t* in_dims, const int64_t* perm, size_t elem_size,
                    StridedCopy* plan);

void strided_copy(const StridedCopy& plan, const void* src, void* dst, pthreadpool_t pool);

// count blocks of block_bytes: dst + i*dst_stride <- src + i*src_stride (strides in bytes).
void block_copy(const void* src, int64_t src_stride, void* dst, int64_t dst_stride,
                int64_t block_bytes, int64_t count, pthreadpool_t pool);

// Pad / crop. Output index o maps to input index o - pads_begin[d]; outside the input the mode
// decides: constant (fill with value bytes), reflect (mirror without repeating the edge; period
// 2(n-1)), edge (clamp). Shapes and pads are in elements.
enum class PadMode { kConstant, kReflect, kEdge };
struct PadPlan {
  int rank = 0;
  size_t elem_size = 1;
  int64_t in_dims[kMaxCopyDims] = {};
  int64_t out_dims[kMaxCopyDims] = {};
  int64_t pads_begin[kMaxCopyDims] = {};
  PadMode mode = PadMode::kConstant;
  alignas(8) uint8_t value[8] = {};  // one element of the constant, in the tensor's dtype
};
void pad(const PadPlan& plan, const void* src, void* dst, pthreadpool_t pool);

// Gather along one axis of data viewed as [outer, axis_dim, inner]. Indices (int64 or int32)
// may be negative (counted from the end); out-of-range indices are clamped into [0, axis_dim-1]
// so the kernel never reads out of bounds (axis_dim must be > 0 when num_indices > 0).
void gather(const void* data, const void* indices, bool indices_i64, int64_t num_indices,
            int64_t outer, int64_t axis_dim, int64_t inner_bytes, void* dst, pthreadpool_t pool);

// Nearest-neighbour resize as an index gather: dst[o0..on] = src[idx_0[o0], ..., idx_n[on]].
// index_tables[d] has out_dims[d] entries, each in [0, in_dims[d]).
struct IndexGather {
  int rank = 0;
  size_t elem_size = 1;
  int64_t in_dims[kMaxCopyDims] = {};
  int64_t out_dims[kMaxCopyDims] = {};
  const int64_t* index_tables[kMaxCopyDims] = {};
};
void index_gather(const IndexGather& plan, const void* src, void* dst, pthreadpool_t pool);

// One axis of a linear resize: output position o reads i0[o] and i1[o] with weight w[o] on i1.
struct LinearAxis {
  const int64_t* i0 = nullptr;
  const int64_t* i1 = nullptr;
  const float* w = nullptr;
};
// Bilinear over the last two axes of x viewed as [planes, ih, iw] -> [planes, oh, ow] (f32).
void resize_bilinear_f32(const float* x, float* y, int64_t planes, int64_t ih, int64_t iw,
                         int64_t oh, int64_t ow, const LinearAxis& h, const LinearAxis& w,
                         pthreadpool_t pool);
// Linear along one axis of x viewed as [outer, in_len, inner] -> [outer, out_len, inner] (f32).
void resize_linear_axis_f32(const float* x, float* y, int64_t outer, int64_t in_len,
                            int64_t out_len, int64_t inner, const LinearAxis& axis,
                            pthreadpool_t pool);

// Element type conversion with ONNX Cast rules. Type codes are format DType values.
// float -> integer truncates toward zero and saturates (NaN -> 0); integer -> integer wraps
// (two's complement); anything -> bool is (x != 0); f16/bf16 round to nearest even.
bool cast_supported(int src_dtype, int dst_dtype);
void cast(const void* src, int src_dtype, void* dst, int dst_dtype, int64_t count, pthreadpool_t pool);

// Portable IEEE half <-> float.
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
float bf16_to_f32(uint16_t h);

}  // namespace pocket::kernels
