// Fused scaled-dot-product attention, f32, flash-attention style: for each (batch, head, query
// tile) the keys are visited in blocks; a block of K is packed transposed into nr-wide panels, the
// tile's scores against it come from a GEMM-like micro-kernel, an online softmax folds them into
// running (max, sum) per query row, and P.V accumulates rows of V into the tile's accumulator.
// The Sq x Sk score matrix is never materialised: scratch per thread is one query tile x key
// block of scores, the packed key block, the value block copied to consecutive rows (head rows
// H*Dv apart would fall into a few L1 sets), and the tile's accumulators. When a head's packed
// keys and values are small (<= 1 MiB) a thread keeps all its blocks, so the head's other query
// tiles (and, with grouped-query heads, the other query heads of the group) reuse them.
//
// Layout (format/OPS.md, Attention): Q [B, Sq, Hq*D], K [B, Sk, Hk*D], V [B, Sk, Hk*Dv],
// out [B, Sq, Hq*Dv]: heads packed in the last dim, so head h is the column slice [h*D, h*D + D).
// Query head h reads kv head h / (Hq / Hk) (grouped-query attention).
//
// The per-variant pieces (pack, scores, softmax step, P.V) are filled once in dispatch.cpp from
// cpu_features(); the tiling driver (attention_f32.cpp) is shared by every variant.
// attention_f32_reference() is the plain row-at-a-time reference the tests compare against.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace pocket::kernels {

enum class AttentionMask : uint8_t { None, Bool, Additive };

struct AttentionF32Problem {
  int64_t batch = 1, heads = 1, kv_heads = 1;  // heads % kv_heads == 0
  int64_t sq = 0, sk = 0, d = 0, dv = 0;
  float scale = 1.f;
  // Query i sees keys j <= i + sk - sq (bottom-right aligned); the others score -inf.
  bool causal = false;
  // Bool (uint8_t, nonzero = masked: the score becomes mask_fill) or Additive (f32, added to the
  // scaled score). Element (b, h, i, j) at mask[b*s0 + h*s1 + i*s2 + j*s3]; a broadcast dim has
  // stride 0; s3 is 0 or 1.
  AttentionMask mask_kind = AttentionMask::None;
  float mask_fill = -std::numeric_limits<float>::infinity();
  int64_t mask_strides[4] = {0, 0, 0, 0};

  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  const void* mask = nullptr;
  float* out = nullptr;

  int64_t q_row() const { return heads * d; }
  int64_t k_row() const { return kv_heads * d; }
  int64_t v_row() const { return kv_heads * dv; }
  int64_t out_row() const { return heads * dv; }
};

// The mask of one query row within one key block: element j at ptr[j * stride] (stride 0 or 1).
struct AttentionRowMask {
  AttentionMask kind = AttentionMask::None;
  const void* ptr = nullptr;
  int64_t stride = 0;
  float fill = 0.f;
};

// The pieces a variant provides.
//   pack_k: keys [0, nk) of a block (key j at k + j * k_stride, d floats) into panels of nr keys:
//     packed[(j / nr) * d * nr + c * nr + j % nr] = key j element c; keys nk..round_up(nk, nr)
//     are zero.
//   scores: s[r * ld_s + j] = dot(q_r, key j) for r < rows, j < round_up(nk, nr), q_r at
//     q + r * q_stride (rows may exceed mr: the variant loops).
//   softmax_step: one row of raw dots s[0, nk) of one key block: x = s * scale, keys j >= n_valid
//     are -inf (causal), then the mask; then the online softmax update of (*m, *l) and s[j] =
//     exp(x - m_new). Returns alpha = exp(m_old - m_new), the factor the row's accumulator must
//     take. When every score so far is -inf the row's s becomes 0 and alpha is 1.
//   pv: acc[r * ld_acc + c] = alpha[r] * acc[r * ld_acc + c] + sum_j p[r * ld_p + j] * v[j * v_stride + c]
//     for r < rows, c < dv, j < nk.
struct AttentionF32Kernel {
  const char* name;
  int64_t mr, nr;  // query rows per register block; keys per packed panel
  void (*pack_k)(const float* k, int64_t k_stride, int64_t nk, int64_t d, float* packed);
  void (*scores)(const float* q, int64_t q_stride, int64_t rows, const float* packed, int64_t nk, int64_t d, float* s,
                 int64_t ld_s);
  float (*softmax_step)(float* s, int64_t nk, int64_t n_valid, float scale, const AttentionRowMask& mask, float* m,
                        float* l);
  void (*pv)(const float* p, int64_t ld_p, int64_t rows, int64_t nk, const float* v, int64_t v_stride, int64_t dv,
             const float* alpha, float* acc, int64_t ld_acc);
  //   scores_direct (optional): scores for one or two query rows (a decode step) straight from the
  //     key rows, no packing: s[r * ld_s + j] = dot(q_r, k + j * k_stride) for j < nk. With it the
  //     driver packs neither K nor V for such tiles (each key is read once anyway).
  void (*scores_direct)(const float* q, int64_t q_stride, int64_t rows, const float* k, int64_t k_stride, int64_t nk,
                        int64_t d, float* s, int64_t ld_s) = nullptr;
};

// How the driver tiles one problem: query rows per tile, keys per block, and the scratch it needs
// (slots x slot_bytes; one slot per concurrently running task).
// kept_blocks > 1: a slot keeps every packed key (and copied value) block of one (batch, kv head),
// so the next query tiles of that head reuse them (chosen when Sk x (D + Dv) floats are small
// enough); 1: one block, packed again for every tile.
struct AttentionF32Plan {
  int64_t q_tile = 0, k_block = 0, kept_blocks = 1;
  int64_t slots = 1;
  size_t slot_bytes = 0;
  size_t scratch_bytes() const { return static_cast<size_t>(slots) * slot_bytes; }
};

// Plans for `threads` threads (the session's count). Only the shape fields of p are read.
AttentionF32Plan attention_f32_plan(const AttentionF32Kernel& kernel, const AttentionF32Problem& p, int threads);

// Runs p. scratch: plan.scratch_bytes() bytes, 64-byte aligned. Threads over (batch, head, query
// tile) units on pool (nullptr: one thread); never allocates.
void attention_f32(const AttentionF32Kernel& kernel, const AttentionF32Problem& p, const AttentionF32Plan& plan,
                   void* scratch, pthreadpool_t pool);

// Plain reference: one query row at a time, the full row of scores in `row` (sk floats), the
// softmax in double. Same semantics as attention_f32.
void attention_f32_reference(const AttentionF32Problem& p, float* row);

// The best variant for this CPU, and every variant this CPU runs, scalar first.
const AttentionF32Kernel& attention_f32_kernel();
const AttentionF32Kernel* attention_f32_variants(size_t* count);

// Variant fillers (one per ISA file).
AttentionF32Kernel attention_f32_scalar();
#if defined(__x86_64__) || defined(__i386__)
AttentionF32Kernel attention_f32_avx2();
AttentionF32Kernel attention_f32_avx512();
#endif
#if defined(__aarch64__)
AttentionF32Kernel attention_f32_neon();
#endif

}  // namespace pocket::kernels
