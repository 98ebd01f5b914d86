// Gemm: Y = alpha * A' B' + beta * C, A' = transA ? A^T : A (A [M,K] or [K,M]), B' likewise,
// C optional, unidirectionally broadcast to [M,N]. Attributes: alpha (1), beta (1), transA,
// transB, activation/act_alpha/act_beta.
// Constant B (and C absent or constant): XNNPACK fully_connected_nc_f32 with alpha folded into the
// packed weights and beta*C into the bias when C is the same for every row; a C that varies by row
// is added after. Otherwise the GEMM kernels of kernels/gemm/ (alpha, a row-constant C and a clamp
// fused in), with a transposed B copied into scratch.
#include <cstring>

#include "engine/ops/nn_common.h"
#include "engine/ops/nn_ops.h"
#include "kernels/gemm/gemm_f32.h"
#include "kernels/xnnpack/xnnpack_init.h"

namespace pocket {

namespace {

class GemmOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 0, 2, "input A"));
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 1, 2, "input B"));
    const Value& a = ctx.in(0);
    const Value& b = ctx.in(1);
    const Attrs at = ctx.attrs();
    trans_a_ = at.i("transA", 0) != 0;
    trans_b_ = at.i("transB", 0) != 0;
    alpha_ = at.f("alpha", 1.f);
    beta_ = at.f("beta", 1.f);
    m_ = trans_a_ ? a.shape[1] : a.shape[0];
    k_ = trans_a_ ? a.shape[0] : a.shape[1];
    const int64_t kb = trans_b_ ? b.shape[1] : b.shape[0];
    n_ = trans_b_ ? b.shape[0] : b.shape[1];
    if (kb != k_)
      return ctx.fail(StatusCode::kInvalidModel, "inner dimensions differ: A " + shape_str(a.shape) +
                                                     (trans_a_ ? " (transposed)" : "") + " and B " + shape_str(b.shape) +
                                                     (trans_b_ ? " (transposed)" : ""));
    const Value* c = nullptr;
    if (ctx.has_input(2)) {
      POCKET_RETURN_IF_ERROR(expect_f32(ctx, 2, -1, "input C"));
      c = &ctx.in(2);
      if (c->rank() > 2)
        return ctx.fail(StatusCode::kInvalidModel, "input C " + shape_str(c->shape) + " must have rank <= 2");
      cm_ = c->rank() == 2 ? c->shape[0] : 1;
      cn_ = c->rank() >= 1 ? c->shape.back() : 1;
      if ((cm_ != 1 && cm_ != m_) || (cn_ != 1 && cn_ != n_))
        return ctx.fail(StatusCode::kInvalidModel, "input C " + shape_str(c->shape) + " does not broadcast to [" +
                                                       std::to_string(m_) + ", " + std::to_string(n_) + "]");
      if (beta_ == 0.f) c = nullptr;
    }
    POCKET_RETURN_IF_ERROR(parse_activation(ctx, &act_));
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = {m_, n_};

    // beta*C folds into a per-column bias when it is constant and the same for every row.
    const bool c_bias = c && c->constant && cm_ == 1;
    epilogue_c_ = c && !c_bias;
    if (c_bias) {
      bias_.resize(static_cast<size_t>(n_));
      for (int64_t j = 0; j < n_; ++j) bias_[j] = beta_ * c->as<float>()[cn_ == 1 ? 0 : j];
    }

    const bool fuse_clamp = !epilogue_c_;
    const float lo = fuse_clamp ? act_.out_min : -std::numeric_limits<float>::infinity();
    const float hi = fuse_clamp ? act_.out_max : std::numeric_limits<float>::infinity();
    post_ = fuse_clamp ? act_.post : act_.as_pass();

    if (b.constant && (!c || c->constant) && k_ > 0 && n_ > 0 && kernels::xnnpack_available()) {
      // Packed weights [N][K] = alpha * B'^T.
      std::vector<float> w(static_cast<size_t>(n_ * k_));
      const float* bs = b.as<float>();
      for (int64_t j = 0; j < n_; ++j)
        for (int64_t p = 0; p < k_; ++p) w[j * k_ + p] = alpha_ * (trans_b_ ? bs[j * k_ + p] : bs[p * n_ + j]);
      const xnn_status st = xnn_create_fully_connected_nc_f32(static_cast<size_t>(k_), static_cast<size_t>(n_),
                                                              static_cast<size_t>(k_), static_cast<size_t>(n_),
                                                              w.data(), bias_.empty() ? nullptr : bias_.data(), lo, hi,
                                                              0, xnn_.out());
      if (st != xnn_status_success) xnn_.reset();
    }
    if (xnn_) {
      if (trans_a_) ctx.scratch_bytes = static_cast<size_t>(m_ * k_) * sizeof(float);
    } else {
      if (trans_b_ && b.constant) {
        bt_.resize(static_cast<size_t>(k_ * n_));
        transpose(b.as<float>(), n_, k_, bt_.data());
      } else if (trans_b_) {
        ctx.scratch_bytes = static_cast<size_t>(k_ * n_) * sizeof(float);
      }
      args_ = kernels::GemmF32Args{};
      args_.m = m_, args_.n = n_, args_.k = k_;
      args_.a_row_stride = trans_a_ ? 1 : k_;
      args_.a_col_stride = trans_a_ ? m_ : 1;
      args_.ldb = n_;
      args_.ldc = n_;
      args_.bias = bias_.empty() ? nullptr : bias_.data();
      args_.alpha = alpha_;
      args_.out_min = lo;
      args_.out_max = hi;
    }
    return Status::Ok();
  }

  Status bind(OpContext& ctx) override {
    if (!xnn_) return Status::Ok();
    const float* in = trans_a_ ? static_cast<const float*>(ctx.scratch) : ctx.in(0).as<float>();
    const xnn_status st = xnn_setup_fully_connected_nc_f32(xnn_.get(), static_cast<size_t>(m_), in,
                                                           ctx.out(0).as<float>(), ctx.pool);
    if (st != xnn_status_success)
      return ctx.fail(StatusCode::kInternal, "XNNPACK fully connected setup failed for A " + shape_str(ctx.in(0).shape));
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    float* y = ctx.out(0).as<float>();
    if (xnn_) {
      if (trans_a_) transpose(ctx.in(0).as<float>(), k_, m_, static_cast<float*>(ctx.scratch));
      xnn_run_operator(xnn_.get(), ctx.pool);
    } else {
      kernels::GemmF32Args g = args_;
      g.a = ctx.in(0).as<float>();
      if (!trans_b_) {
        g.b = ctx.in(1).as<float>();
      } else if (!bt_.empty()) {
        g.b = bt_.data();
      } else {
        transpose(ctx.in(1).as<float>(), n_, k_, static_cast<float*>(ctx.scratch));
        g.b = static_cast<const float*>(ctx.scratch);
      }
      g.c = y;
      kernels::gemm_f32(g, ctx.pool);
    }
    if (epilogue_c_) {
      const float* c = ctx.in(2).as<float>();
      for (int64_t i = 0; i < m_; ++i) {
        const float* crow = c + (cm_ == 1 ? 0 : i) * cn_;
        float* yrow = y + i * n_;
        if (cn_ == 1)
          for (int64_t j = 0; j < n_; ++j) yrow[j] += beta_ * crow[0];
        else
          for (int64_t j = 0; j < n_; ++j) yrow[j] += beta_ * crow[j];
      }
    }
    if (post_.kind != kernels::Activation::None)
      kernels::apply_activation_f32(post_, y, static_cast<size_t>(m_ * n_), ctx.pool);
  }

  std::string kernel_name() const override { return xnn_ ? "xnnpack.fc" : kernels::gemm_f32_kernel().name; }
  int64_t flops(const OpContext&) const override { return 2 * m_ * n_ * k_; }

 private:
  // dst [cols][rows] = src [rows][cols]^T
  static void transpose(const float* src, int64_t rows, int64_t cols, float* dst) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  }

  bool trans_a_ = false, trans_b_ = false, epilogue_c_ = false;
  float alpha_ = 1.f, beta_ = 1.f;
  int64_t m_ = 0, n_ = 0, k_ = 0, cm_ = 1, cn_ = 1;
  FusedActivation act_;
  kernels::ActivationParams post_;
  std::vector<float> bias_, bt_;
  kernels::GemmF32Args args_;
  XnnOp xnn_;
};

}  // namespace

std::unique_ptr<Op> make_gemm() { return std::make_unique<GemmOp>(); }

}  // namespace pocket
