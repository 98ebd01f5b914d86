// f32 GEMM: C = clamp(alpha * A.B + bias, out_min, out_max), C row-major with contiguous columns.
// A is read through two strides (so a transposed A needs no copy); B is [K][N] with row stride ldb.
// gemm_f32_tile_scalar is the reference every other variant is tested against.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace pocket::kernels {

struct GemmF32Args {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t a_row_stride = 0, a_col_stride = 1;  // A(i, p) = a[i * a_row_stride + p * a_col_stride]
  const float* b = nullptr;
  int64_t ldb = 0;                             // B(p, j) = b[p * ldb + j]
  float* c = nullptr;
  int64_t ldc = 0;                             // C(i, j) = c[i * ldc + j]
  const float* bias = nullptr;                 // [n], added to every row; may be nullptr
  float alpha = 1.f;
  float out_min = -std::numeric_limits<float>::infinity();
  float out_max = std::numeric_limits<float>::infinity();
};

// Computes the block rows [i0, i1) x columns [j0, j1) of C.
using GemmF32TileFn = void (*)(const GemmF32Args& args, int64_t i0, int64_t i1, int64_t j0, int64_t j1);

void gemm_f32_tile_scalar(const GemmF32Args& args, int64_t i0, int64_t i1, int64_t j0, int64_t j1);
void gemm_f32_tile_avx2(const GemmF32Args& args, int64_t i0, int64_t i1, int64_t j0, int64_t j1);

struct GemmF32Kernel {
  const char* name;
  GemmF32TileFn tile;
  int64_t mr, nr;  // register block: tiles are multiples of these
};

// The best variant for this CPU, chosen once from cpu_features().
const GemmF32Kernel& gemm_f32_kernel();
// Every variant this CPU can run, the scalar reference first (for tests and benchmarks).
const GemmF32Kernel* gemm_f32_variants(size_t* count);

// Runs the whole product, split in row/column tiles over the pool (nullptr: calling thread).
void gemm_f32(const GemmF32Kernel& kernel, const GemmF32Args& args, pthreadpool_t pool);
inline void gemm_f32(const GemmF32Args& args, pthreadpool_t pool) { gemm_f32(gemm_f32_kernel(), args, pool); }

}  // namespace pocket::kernels
