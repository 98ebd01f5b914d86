// Indirect (im2col-free) f32 convolution as a GEMM: every output pixel reads its input through an
// indirection buffer of row pointers, one per kernel tap (padding taps point at a zero row), and
// the micro-kernels accumulate over taps x channels against weights packed once in panels:
//   panel j (nr_j output channels): [nr_j bias][taps * kc][nr_j]
// Bias, residual and the output clamp are fused into the store:
//   y = clamp(sum_t sum_c x_t[c] * w[t][c] + bias + residual, out_min, out_max).
// igemm_f32_ukernel_scalar is the reference every other variant is tested against.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <limits>

#include "kernels/conv/conv2d_f32.h"

namespace pocket::kernels {

// One mr x nr output block. a: [ks][MR] row pointers (MR = the kernel's row count; rows past mr
// are valid duplicates), each pointing at kc floats; a pointer equal to `zero` is used as is, any
// other gets a_offset bytes added. w: one packed panel of this kernel's width. c, residual: row
// strides ldc, ldr in floats; residual may be nullptr. Only mr rows and nc <= nr columns are stored.
struct IgemmF32Block {
  size_t mr, nc, kc, ks;
  const float* const* a;
  ptrdiff_t a_offset;
  const float* zero;
  const float* w;
  float* c;
  size_t ldc;
  const float* residual;
  size_t ldr;
  float out_min, out_max;
};
using IgemmF32Ukernel = void (*)(const IgemmF32Block& b);

struct IgemmF32Kernel {
  const char* name;         // ISA: "scalar", "avx2", "avx512", "neon"
  int64_t mr, nr;           // main register block
  IgemmF32Ukernel main;     // mr x nr
  int64_t nr_tail;          // narrower panel for the last <= nr_tail output channels; 0: none
  IgemmF32Ukernel tail;     // mr x nr_tail
};

// The best variant for this CPU, chosen once from cpu_features().
const IgemmF32Kernel& igemm_f32_kernel();
// Every variant this CPU can run, the scalar reference first (for tests and benchmarks).
const IgemmF32Kernel* igemm_f32_variants(size_t* count);

// Packed weights: floats needed, and the packing of w [m][k] (k = taps * kc, tap-major, i.e. the
// OHWI layout) and bias [m] (nullptr: zeros) into panels for `kernel`.
size_t igemm_f32_packed_floats(const IgemmF32Kernel& kernel, int64_t m, int64_t k);
void igemm_f32_pack(const IgemmF32Kernel& kernel, int64_t m, int64_t k, const float* w, const float* bias,
                    float* packed);

// Indirection for a dense (group 1) NHWC convolution: pointers needed, and their construction for
// input x (any address; a later call may pass a different x through a_offset). Layout
// [ceil(P / mr)][kernel_h * kernel_w][mr] with P = batch * out_h * out_w; rows past P repeat the
// last pixel. zero: in_c zeros.
size_t igemm_f32_indirection_size(const Conv2dF32Params& p, int64_t mr);
void igemm_f32_build_indirection(const Conv2dF32Params& p, int64_t mr, const float* x, const float* zero,
                                 const float** indirection);

struct IgemmF32Args {
  int64_t pixels = 0;           // P output rows
  int64_t m = 0;                // output channels
  int64_t kc = 0, ks = 0;       // floats per tap, taps
  const float* const* indirection = nullptr;
  ptrdiff_t a_offset = 0;       // bytes added to every non-zero pointer
  const float* zero = nullptr;
  const float* packed_w = nullptr;
  float* y = nullptr;
  int64_t ldy = 0;              // y row stride in floats (>= m)
  const float* residual = nullptr;
  int64_t ldr = 0;
  float out_min = -std::numeric_limits<float>::infinity();
  float out_max = std::numeric_limits<float>::infinity();
};

// The whole convolution, tiled over (output pixels x output channels) on the pool (nullptr: the
// calling thread).
void igemm_f32(const IgemmF32Kernel& kernel, const IgemmF32Args& args, pthreadpool_t pool);

// Micro-kernels (one file per ISA).
void igemm_f32_ukernel_4x8_scalar(const IgemmF32Block& b);
void igemm_f32_ukernel_4x4_scalar(const IgemmF32Block& b);
void igemm_f32_ukernel_6x16_avx2(const IgemmF32Block& b);
void igemm_f32_ukernel_6x8_avx2(const IgemmF32Block& b);
void igemm_f32_ukernel_8x32_avx512(const IgemmF32Block& b);
void igemm_f32_ukernel_8x16_avx512(const IgemmF32Block& b);
void igemm_f32_ukernel_6x16_neon(const IgemmF32Block& b);
void igemm_f32_ukernel_6x8_neon(const IgemmF32Block& b);

}  // namespace pocket::kernels
