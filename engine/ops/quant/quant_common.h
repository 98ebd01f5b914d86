// Shared pieces of the int8 (format 1.2) forms of the ops: reading a tensor's quantization,
// the fused activation as the int8 GEMM's epilogue, and the dispatch between an op's float form
// and its int8 form (format/OPS.md, "Quantization").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/op.h"
#include "kernels/quant/qgemm.h"
#include "kernels/quant/quant_ops.h"

namespace pocket {

// An I8 value with quantization parameters (an int8 activation or weight).
inline bool is_q8(const Value* v) { return v && v->dtype == DType::I8 && v->quant != nullptr; }
inline bool is_q8_input(const OpContext& ctx, size_t i) { return ctx.has_input(i) && is_q8(ctx.inputs[i]); }

// "input X 'name' I8[1, 8, 8, 16]".
std::string describe_value(const char* role, const Value& v);

// Per-tensor parameters of an I8 input/output (axis -1, or a per-axis tensor with one scale).
Status per_tensor_qparams(const OpContext& ctx, const Value& v, const char* role, kernels::QParams* p);

// Weight scales for `channels` output channels: per axis `axis` (scales.size() == channels) or per
// tensor (one scale repeated). Zero points must be all zero (symmetric weights).
Status weight_scales(const OpContext& ctx, const Value& w, const char* role, int axis, int64_t channels,
                     std::vector<float>* scales);

// The node's fused activation (attributes activation/act_alpha/act_beta) as epilogue fields.
Status parse_qactivation(const OpContext& ctx, kernels::QGemmEpilogue* ep);

// Output Y of an int8 op: I8 with per-tensor parameters from the file.
Status q8_output(const OpContext& ctx, size_t i, const Shape& shape, kernels::QParams* p);

// Y must carry X's parameters (data movement, MaxPool): same scales, zero points and axis.
bool same_quantization(const fb::Quantization* a, const fb::Quantization* b);

// The int8 kernels' names for profiles: "qs8.avx2" (static) or "qd8.avx2" (dynamic), from the
// int8 GEMM variant in use.
std::string qgemm_name(bool dynamic);

// The int8 forms (engine/ops/quant/*.cpp). register_quant_ops (op.h) puts a dispatching op in
// the table for each op type with an int8 form: it runs the float op or the int8 op by the
// input dtypes (format/OPS.md), and for data movement checks that Y keeps X's quantization.
std::unique_ptr<Op> make_quantize_linear_op();
std::unique_ptr<Op> make_dequantize_linear_op();
std::unique_ptr<Op> make_qconv_op();
std::unique_ptr<Op> make_qgemm_op();
std::unique_ptr<Op> make_qmatmul_op();
std::unique_ptr<Op> make_qgather_op();
std::unique_ptr<Op> make_qadd_op();
std::unique_ptr<Op> make_qmax_pool_op();
std::unique_ptr<Op> make_qaverage_pool_op();
std::unique_ptr<Op> make_qglobal_average_pool_op();
std::unique_ptr<Op> make_qsqueeze_excite_op();
std::unique_ptr<Op> make_qconcat_op();

}  // namespace pocket

namespace pocket {

// f(start, count) over [0, n) in tiles of `tile`, on the pool (nullptr: the calling thread).
template <class F>
void parallel_tiles(pthreadpool_t pool, int64_t n, int64_t tile, const F& f) {
  if (n <= 0) return;
  if (!pool || n <= tile) {
    f(int64_t{0}, n);
    return;
  }
  struct Ctx {
    const F* f;
  } c{&f};
  pthreadpool_parallelize_1d_tile_1d(
      pool,
      [](void* p, size_t start, size_t count) {
        (*static_cast<Ctx*>(p)->f)(static_cast<int64_t>(start), static_cast<int64_t>(count));
      },
      &c, static_cast<size_t>(n), static_cast<size_t>(tile), 0);
}

}  // namespace pocket
