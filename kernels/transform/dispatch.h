// The transform family's dispatch table, filled once from cpu_features() (dispatch.cpp).
#pragma once

#include <cstddef>

namespace pocket::kernels {

// Transposes a rows x cols matrix of elements (src rows src_ld bytes apart) into a cols x rows
// matrix (dst rows dst_ld bytes apart). ld values may be negative.
using TransposeTileFn = void (*)(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld,
                                 size_t rows, size_t cols);

struct TransformKernels {
  TransposeTileFn transpose_x8 = nullptr;
  TransposeTileFn transpose_x16 = nullptr;
  TransposeTileFn transpose_x32 = nullptr;
  TransposeTileFn transpose_x64 = nullptr;
  const char* transpose_x32_name = "scalar";
};

const TransformKernels& transform_kernels();

// Variants (one per file: transpose_scalar.cpp, transpose_x32_avx2.cpp).
void transpose_x8_scalar(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols);
void transpose_x16_scalar(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols);
void transpose_x32_scalar(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols);
void transpose_x64_scalar(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols);
#if defined(__x86_64__) || defined(_M_X64)
void transpose_x32_avx2(const void* src, ptrdiff_t src_ld, void* dst, ptrdiff_t dst_ld, size_t rows, size_t cols);
#endif

}  // namespace pocket::kernels
