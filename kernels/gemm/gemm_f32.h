// f32 GEMM, two APIs:
// - packed (weights): B is packed once into NR-wide column panels for the best micro-kernel of
//   this CPU, then C = act(clamp(A.B + bias + residual, out_min, out_max)) runs register-blocked
//   micro-kernels with cache blocking over K, M and N, the epilogue fused into the store (GELU on
//   each finished row block while it is in cache), and a B-streaming GEMV path for M <= 3.
// - unpacked: C = clamp(alpha * A.B + bias, out_min, out_max) on any B, for operands that change
//   every run. A is read through two strides (so a transposed A needs no copy); B is [K][N] with
//   row stride ldb.
// The scalar variants are the references every other variant is tested against.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace pocket::kernels {

struct GemmF32PackedKernel;

// ---- Packed API --------------------------------------------------------------------------------

// Activation applied after the clamp, by the driver on each finished block of C (kernels/activation/gelu_f32.h).
enum class GemmF32Act : int { None = 0, Gelu, GeluTanh };

struct GemmF32Epilogue {
  const float* bias = nullptr;      // [n] or nullptr
  const float* residual = nullptr;  // residual(i,j) = residual[i*ld_residual + j], added after bias; may be nullptr
  int64_t ld_residual = 0;
  float out_min = -std::numeric_limits<float>::infinity();  // clamp, applied last
  float out_max = std::numeric_limits<float>::infinity();
  GemmF32Act act = GemmF32Act::None;  // after the clamp (the driver applies it; micro-kernels ignore it)
};

// B packed once (weights, at Session creation) for the best kernel on this CPU.
size_t gemm_f32_packed_b_floats(int64_t k, int64_t n);
// B(p, j) = b[p * b_row_stride + j * b_col_stride] (so B^T needs no copy). Fill `packed`
// (gemm_f32_packed_b_floats(k, n) floats, 64-byte aligned).
void gemm_f32_pack_b(int64_t k, int64_t n, const float* b, int64_t b_row_stride, int64_t b_col_stride, float* packed);

struct GemmF32PackedArgs {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t lda = 0;  // A(i, p) = a[i * lda + p]
  const float* packed_b = nullptr;
  float* c = nullptr;
  int64_t ldc = 0;  // C(i, j) = c[i * ldc + j]
  GemmF32Epilogue ep;
};

// C = act(clamp(A.B + bias + residual)). c may equal residual (in place). Threads over tiles of C.
void gemm_f32_packed(const GemmF32PackedArgs& args, pthreadpool_t pool);

// B an activation (changes every run), B(p, j) = b[p * ldb + j]: packs it into `scratch`
// (gemm_f32_packed_b_floats(kernel, k, n) floats, 64-byte aligned) on the calling thread, then
// runs gemm_f32_packed (args.packed_b is ignored). Worth it from a few rows up: packing is K x N
// copies against 2 M K N flops, and the packed kernels beat the unpacked ones (no broadcasts).
void gemm_f32_packed_b_once(const GemmF32PackedKernel& kernel, const GemmF32PackedArgs& args, const float* b,
                            int64_t ldb, float* scratch, pthreadpool_t pool);

// y[0, n) = act(y) in place, split over the pool: the activation as a separate pass, for paths
// that cannot fuse it (unpacked B, XNNPACK).
void gemm_f32_apply_act(GemmF32Act act, float* y, size_t n, pthreadpool_t pool);

// Micro-kernel: the rows x cols block (rows <= mr, cols <= nr) of C at c from `rows` rows of A
// (a, lda; kc elements each) and one packed B panel slice (kc x nr floats, zero-padded past cols).
// flags: kGemmAccumulate adds to the partial sums already in C (otherwise bias and residual are
// added, residual/bias pointers pre-offset to this block); kGemmFinal applies the clamp.
// kGemmSplit2/kGemmSplit4: the driver's hint that the whole product has M <= 3 / M == 1 rows, so a
// kernel may split K over 2/4 accumulator chains. It is set per product, never per block, so every
// element of C is summed in the same order whatever its row or column block (identical weights
// columns give identical outputs; a row's result does not depend on where a block boundary falls).
// kGemmPackedA: `a` is not A's rows but the kernel's packed A panel (kernel.pack_a's layout, rows
// past `rows` zero), lda unused.
enum : unsigned { kGemmAccumulate = 1u, kGemmFinal = 2u, kGemmSplit2 = 4u, kGemmSplit4 = 8u, kGemmPackedA = 16u };
using GemmF32MicroFn = void (*)(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b,
                                float* c, int64_t ldc, const GemmF32Epilogue& ep, unsigned flags);

// Packs rows [0, rows) (rows <= mr) x kc of A (A(r, p) = a[r * lda + p]) into a kernel's A panel.
using GemmF32PackAFn = void (*)(int64_t rows, int64_t kc, const float* a, int64_t lda, float* dst);

struct GemmF32PackedKernel {
  const char* name;
  GemmF32MicroFn micro;
  int64_t mr, nr;  // register block; B panels are nr columns wide
  // nullptr: the micro-kernel reads A's rows (a, lda). Otherwise, when M > 3, the driver packs each
  // mr-row block of A with pack_a into a 64-byte aligned buffer of a_floats_per_k floats per K step
  // and passes kGemmPackedA. The AVX2 4x24 kernel packs 8 copies of every element, so its loop
  // loads whole vectors of A instead of broadcasting (which keeps the shuffle unit, an FMA pipe on
  // AMD Zen 3, free for FMAs). M <= 3 always reads rows.
  GemmF32PackAFn pack_a = nullptr;
  int64_t a_floats_per_k = 0;
};

void gemm_f32_micro_scalar(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b,
                           float* c, int64_t ldc, const GemmF32Epilogue& ep, unsigned flags);
void gemm_f32_micro_avx2(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                         int64_t ldc, const GemmF32Epilogue& ep, unsigned flags);
// AVX2 4x24 (12 ymm accumulators) on packed pre-broadcast A; blocks of M <= 3 read A rows (GEMV).
void gemm_f32_micro_avx2_4x24(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b,
                              float* c, int64_t ldc, const GemmF32Epilogue& ep, unsigned flags);
// Its A panel: dst[(p * 4 + r) * 8 + l] = A(r, p) for r < rows, 0 for rows <= r < 4 (32 floats per K step).
void gemm_f32_pack_a_avx2_4x24(int64_t rows, int64_t kc, const float* a, int64_t lda, float* dst);
void gemm_f32_micro_avx512(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b,
                           float* c, int64_t ldc, const GemmF32Epilogue& ep, unsigned flags);
void gemm_f32_micro_neon(int64_t rows, int64_t cols, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                         int64_t ldc, const GemmF32Epilogue& ep, unsigned flags);

// The best packed variant for this CPU (chosen once from cpu_features()), and every packed variant
// this CPU can run, the scalar reference first (tests and benchmarks). The packed layout depends
// on the variant: pack with the same variant that multiplies.
const GemmF32PackedKernel& gemm_f32_packed_kernel();
const GemmF32PackedKernel* gemm_f32_packed_variants(size_t* count);
size_t gemm_f32_packed_b_floats(const GemmF32PackedKernel& kernel, int64_t k, int64_t n);
void gemm_f32_pack_b(const GemmF32PackedKernel& kernel, int64_t k, int64_t n, const float* b, int64_t b_row_stride,
                     int64_t b_col_stride, float* packed);
void gemm_f32_packed(const GemmF32PackedKernel& kernel, const GemmF32PackedArgs& args, pthreadpool_t pool);

// ---- Unpacked API ------------------------------------------------------------------------------

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
