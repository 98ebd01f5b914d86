// Gemm and MatMul in int8 (format/OPS.md, "Quantization"), B a constant I8 symmetric per output
// column (MatMul B [K, N]: axis 1; Gemm B [K, N]: axis 1, transB [N, K]: axis 0) or per tensor:
//   static   A I8 per tensor -> Y I8 per tensor (R I8 per tensor);
//   dynamic  A F32 -> Y F32: each row of A quantized at run time (its own scale and zero point).
// MatMul: A [..., M, K] (rows = every leading dim flattened), bias (input 2) F32 [N], residual R
// (input 3) shaped like Y. Gemm: A [M, K] (transA 0), alpha folded into the column scales, C
// constant per column or scalar -> beta * C as the bias, or C shaped [M, N] with beta 1 as the
// residual. The fused activation and clamp run in the epilogue.
#include <algorithm>
#include <cstring>

#include "engine/ops/nn_common.h"
#include "engine/ops/quant/quant_common.h"

namespace pocket {

namespace {

using kernels::QParams;

size_t align64(size_t n) { return (n + 63) / 64 * 64; }

class QDenseOp final : public Op {
 public:
  explicit QDenseOp(bool gemm) : gemm_(gemm) {}

  Status prepare(OpContext& ctx) override {
    if (ctx.inputs.size() < 2 || !ctx.has_input(0) || !ctx.has_input(1))
      return ctx.fail(StatusCode::kInvalidModel, "needs inputs A and B");
    const Value& a = ctx.in(0);
    const Value& b = ctx.in(1);
    dynamic_ = a.dtype == DType::F32;
    QParams pa;
    if (!dynamic_) POCKET_RETURN_IF_ERROR(per_tensor_qparams(ctx, a, "input A", &pa));
    pa_ = pa;
    if (!is_q8(&b) || !b.constant || b.rank() != 2)
      return ctx.fail(StatusCode::kUnsupported, describe_value("input B", b) +
                                                    " must be a constant quantized I8 matrix for an int8 " +
                                                    (gemm_ ? "Gemm" : "MatMul"));
    Shape out_shape;
    bool trans_b = false;
    float alpha = 1.f, beta = 1.f;
    if (gemm_) {
      const Attrs at = ctx.attrs();
      if (at.i("transA", 0) != 0) return ctx.fail(StatusCode::kUnsupported, "int8 Gemm needs transA = 0");
      trans_b = at.i("transB", 0) != 0;
      alpha = at.f("alpha", 1.f);
      beta = at.f("beta", 1.f);
      if (a.rank() != 2) return ctx.fail(StatusCode::kInvalidModel, describe_value("input A", a) + " must be [M, K]");
      if (!(alpha > 0.f)) return ctx.fail(StatusCode::kUnsupported, "int8 Gemm needs alpha > 0");
      rows_ = a.shape[0];
      k_ = a.shape[1];
    } else {
      if (a.rank() < 1) return ctx.fail(StatusCode::kInvalidModel, describe_value("input A", a) + " must have rank >= 1");
      k_ = a.shape.back();
      rows_ = k_ > 0 ? a.elements() / k_ : 0;
      if (k_ == 0) rows_ = 1;
    }
    const int64_t kb = trans_b ? b.shape[1] : b.shape[0];
    n_ = trans_b ? b.shape[0] : b.shape[1];
    if (kb != k_)
      return ctx.fail(StatusCode::kInvalidModel, "inner dimensions differ: " + describe_value("A", a) + " and " +
                                                     describe_value("B", b) + (trans_b ? " (transB)" : ""));
    if (gemm_) {
      out_shape = {rows_, n_};
    } else {
      out_shape = a.shape;
      out_shape.back() = n_;
    }
    POCKET_RETURN_IF_ERROR(weight_scales(ctx, b, "input B", trans_b ? 0 : 1, n_, &b_scales_));
    for (float& s : b_scales_) s *= alpha;

    ep_ = kernels::QGemmEpilogue{};
    POCKET_RETURN_IF_ERROR(parse_qactivation(ctx, &ep_));
    ep_.b_scale = b_scales_.data();
    bias_.clear();
    residual_input_ = -1;
    if (gemm_ && ctx.has_input(2)) {
      const Value& c = ctx.in(2);
      const int64_t ce = c.elements();
      const bool per_col = c.rank() <= 2 && (ce == 1 || (ce == n_ && c.shape.back() == n_));
      if (c.dtype == DType::F32 && c.constant && per_col) {
        bias_.resize(static_cast<size_t>(n_));
        for (int64_t j = 0; j < n_; ++j) bias_[j] = beta * c.as<float>()[ce == 1 ? 0 : j];
      } else if (c.shape == out_shape && beta == 1.f) {
        residual_input_ = 2;
      } else {
        return ctx.fail(StatusCode::kUnsupported, "int8 Gemm takes C as a constant F32 per-column bias or scalar, or shaped [M, N] "
                                                  "with beta 1; got " + describe_value("C", c));
      }
    }
    if (!gemm_ && ctx.has_input(2)) {
      POCKET_RETURN_IF_ERROR(expect_f32(ctx, 2, -1, "bias"));
      const Value& bias = ctx.in(2);
      if (bias.elements() != n_ || !bias.constant)
        return ctx.fail(StatusCode::kInvalidModel, describe_value("bias", bias) + " must be a constant of " + std::to_string(n_) + " elements");
      bias_.assign(bias.as<float>(), bias.as<float>() + n_);
    }
    if (!gemm_ && ctx.has_input(3)) residual_input_ = 3;
    ep_.bias = bias_.empty() ? nullptr : bias_.data();
    if (residual_input_ >= 0) {
      const Value& r = ctx.in(static_cast<size_t>(residual_input_));
      if (r.shape != out_shape)
        return ctx.fail(StatusCode::kInvalidModel, describe_value("residual R", r) + " must have the output's shape " + shape_str(out_shape));
      if (dynamic_) {
        if (r.dtype != DType::F32) return ctx.fail(StatusCode::kInvalidModel, describe_value("residual R", r) + " must be F32 like A");
      } else {
        QParams pr;
        POCKET_RETURN_IF_ERROR(per_tensor_qparams(ctx, r, "residual R", &pr));
        ep_.residual_scale = pr.scale;
        ep_.residual_zero_point = pr.zero_point;
      }
      ep_.ld_residual = n_;
    }
    if (dynamic_) {
      ctx.out(0).dtype = DType::F32;
      ctx.out(0).shape = out_shape;
    } else {
      QParams py;
      POCKET_RETURN_IF_ERROR(q8_output(ctx, 0, out_shape, &py));
      ep_.out_i8 = true;
      ep_.out_scale = py.scale;
      ep_.out_zero_point = py.zero_point;
    }

    kernel_ = &kernels::qgemm_kernel();
    const std::string kname = kernels::qgemm_kernel_name(*kernel_);
    const int8_t* bsrc = b.as<int8_t>();
    const int64_t k = k_, n = n_;
    packed_ = pack_weights(ctx.weight_cache, ctx.op_name() + "/" + shape_str(b.shape) + (trans_b ? "/t/" : "/") + kname,
                           kernels::qgemm_packed_b_bytes(*kernel_, k_, n_), [&](void* p) {
                             if (trans_b) kernels::qgemm_pack_b(*kernel_, k, n, bsrc, 1, k, p);
                             else kernels::qgemm_pack_b(*kernel_, k, n, bsrc, n, 1, p);
                           });
    size_t s = 0;
    if (dynamic_) {
      qa_off_ = s;
      s += align64(static_cast<size_t>(rows_ * k_));
      scale_off_ = s;
      s += align64(static_cast<size_t>(rows_) * sizeof(float));
      zp_off_ = s;
      s += align64(static_cast<size_t>(rows_) * sizeof(int32_t));
    }
    gemm_off_ = s;
    s += align64(kernels::qgemm_scratch_bytes(*kernel_, rows_, n_, k_, ctx.num_threads));
    ctx.scratch_bytes = s;
    flops_ = saturating_product({2, rows_, n_, k_});
    name_ = qgemm_name(dynamic_);
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    if (rows_ == 0 || n_ == 0) return;
    char* scratch = static_cast<char*>(ctx.scratch);
    kernels::QGemmArgs g;
    g.m = rows_, g.n = n_, g.k = k_;
    g.packed_b = packed_->data();
    g.ldc = n_;
    g.ep = ep_;
    if (dynamic_) {
      int8_t* qa = reinterpret_cast<int8_t*>(scratch + qa_off_);
      float* scales = reinterpret_cast<float*>(scratch + scale_off_);
      int32_t* zps = reinterpret_cast<int32_t*>(scratch + zp_off_);
      const float* a = ctx.in(0).as<float>();
      const int64_t k = k_;
      parallel_tiles(ctx.pool, rows_, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, k)), [&](int64_t s, int64_t n) {
        for (int64_t r = s; r < s + n; ++r) {
          const QParams p = kernels::quantize_row_dynamic_f32_s8(a + r * k, k, qa + r * k);
          scales[r] = p.scale;
          zps[r] = p.zero_point;
        }
      });
      g.a = qa;
      g.a_zero_point = zps;
      g.a_zero_point_per_row = true;
      g.ep.a_scale = scales;
      g.ep.a_scale_per_row = true;
      g.c_f32 = ctx.out(0).as<float>();
      if (residual_input_ >= 0) g.ep.residual_f32 = ctx.in(static_cast<size_t>(residual_input_)).as<float>();
    } else {
      g.a = ctx.in(0).as<int8_t>();
      g.a_zero_point = &pa_.zero_point;
      g.ep.a_scale = &pa_.scale;
      g.c_i8 = ctx.out(0).as<int8_t>();
      if (residual_input_ >= 0) g.ep.residual_i8 = ctx.in(static_cast<size_t>(residual_input_)).as<int8_t>();
    }
    g.lda = k_;
    kernels::qgemm(*kernel_, g, scratch + gemm_off_, ctx.pool);
  }

  std::string kernel_name() const override { return name_; }
  size_t private_bytes() const override { return (b_scales_.capacity() + bias_.capacity()) * sizeof(float); }
  int64_t flops(const OpContext&) const override { return flops_; }

 private:
  bool gemm_;
  bool dynamic_ = false;
  QParams pa_;
  int64_t rows_ = 0, n_ = 0, k_ = 0;
  std::vector<float> b_scales_, bias_;
  int residual_input_ = -1;
  kernels::QGemmEpilogue ep_;
  const kernels::QGemmKernel* kernel_ = nullptr;
  std::shared_ptr<const PackedWeights> packed_;
  size_t qa_off_ = 0, scale_off_ = 0, zp_off_ = 0, gemm_off_ = 0;
  int64_t flops_ = 0;
  std::string name_ = "none";
};

}  // namespace

std::unique_ptr<Op> make_qgemm_op() { return std::make_unique<QDenseOp>(true); }
std::unique_ptr<Op> make_qmatmul_op() { return std::make_unique<QDenseOp>(false); }

}  // namespace pocket
