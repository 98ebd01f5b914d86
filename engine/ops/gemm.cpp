// Gemm: Y = alpha * A' B' + beta * C, A' = transA ? A^T : A (A [M,K] or [K,M]), B' likewise,
// C optional, unidirectionally broadcast to [M,N]. Attributes: alpha (1), beta (1), transA,
// transB, activation/act_alpha/act_beta.
// Variants (Op::variants(), picked by ctx.variant; the default heuristic takes the first):
//   constant B:  "pocket.gemm"  B' packed once (alpha folded in, shared through the weight cache)
//                               for kernels::gemm_f32_packed; beta*C fused as the bias when the
//                               same for every row, as the residual when beta = 1 and C is [M,N],
//                               the activation's clamp fused into the store.
//                "xnnpack"      XNNPACK fully_connected_nc_f32 with the same folding (only when C
//                               is absent or constant).
//   otherwise:   "pocket.gemm.unpacked"  kernels::gemm_f32 on B as it is (alpha, a row-constant
//                               C and the clamp fused; a transposed B copied into scratch).
// Default: ours ("pocket.gemm" ran 1.5-2.4x this machine's XNNPACK build on the transformer and
// MobileNet shapes of bench/kernels/gemm_bench.cpp, and streams B once for M <= 3).
// A C that varies by row and is not fused is added after, then any activation the clamp does not
// cover. Gelu/GeluTanh (format 1.1) is fused into the packed GEMM's store when nothing is added
// after it, else it runs as one pass at the end. A transposed A is copied into scratch for the
// packed and XNNPACK paths.
#include <cstring>

#include "engine/ops/nn_common.h"
#include "engine/ops/nn_ops.h"
#include "kernels/gemm/gemm_f32.h"
#include "kernels/xnnpack/xnnpack_init.h"

namespace pocket {

namespace {

// parse_activation plus the GELU kinds (format 1.1), which only the GEMM epilogue applies.
Status parse_gemm_activation(const OpContext& ctx, FusedActivation* act, kernels::GemmF32Act* gelu) {
  const int64_t kind = ctx.attrs().i("activation", 0);
  *gelu = kernels::GemmF32Act::None;
  if (kind == static_cast<int64_t>(fb::ActivationKind::Gelu) ||
      kind == static_cast<int64_t>(fb::ActivationKind::GeluTanh)) {
    *act = FusedActivation{};
    *gelu = kind == static_cast<int64_t>(fb::ActivationKind::Gelu) ? kernels::GemmF32Act::Gelu
                                                                   : kernels::GemmF32Act::GeluTanh;
    return Status::Ok();
  }
  return parse_activation(ctx, act);
}

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
    POCKET_RETURN_IF_ERROR(parse_gemm_activation(ctx, &act_, &gelu_));
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = {m_, n_};

    // beta*C folds into a per-column bias when it is constant and the same for every row.
    const bool c_bias = c && c->constant && cm_ == 1;
    epilogue_c_ = c && !c_bias;
    bias_.clear();
    if (c_bias) {
      bias_.resize(static_cast<size_t>(n_));
      for (int64_t j = 0; j < n_; ++j) bias_[j] = beta_ * c->as<float>()[cn_ == 1 ? 0 : j];
    }

    variants_.clear();
    if (b.constant) {
      variants_.push_back("pocket.gemm");
      if ((!c || c->constant) && k_ > 0 && n_ > 0 && kernels::xnnpack_available()) variants_.push_back("xnnpack");
    } else {
      variants_.push_back("pocket.gemm.unpacked");
    }
    chosen_ = ctx.variant >= 0 && ctx.variant < static_cast<int>(variants_.size()) ? ctx.variant : 0;
    const std::string& pick = variants_[static_cast<size_t>(chosen_)];
    packed_path_ = pick == "pocket.gemm";
    xnn_.reset();
    packed_.reset();
    ctx.scratch_bytes = 0;

    // The packed kernel adds a full [M,N] C (beta = 1) as its residual, before the clamp.
    fuse_residual_ = packed_path_ && epilogue_c_ && beta_ == 1.f && cm_ == m_ && cn_ == n_;
    if (fuse_residual_) epilogue_c_ = false;
    const bool fuse_clamp = !epilogue_c_;
    const float lo = fuse_clamp ? act_.out_min : -std::numeric_limits<float>::infinity();
    const float hi = fuse_clamp ? act_.out_max : std::numeric_limits<float>::infinity();
    post_ = fuse_clamp ? act_.post : act_.as_pass();
    lo_ = lo, hi_ = hi;

    if (packed_path_) {
      kernel_ = &kernels::gemm_f32_packed_kernel();
      const size_t floats = kernels::gemm_f32_packed_b_floats(*kernel_, k_, n_);
      const float* bs = b.as<float>();
      const kernels::GemmF32PackedKernel* kr = kernel_;
      const int64_t k = k_, n = n_;
      const bool tb = trans_b_;
      const float alpha = alpha_;
      auto pack = [=](void* dst) {
        float* out = static_cast<float*>(dst);
        kernels::gemm_f32_pack_b(*kr, k, n, bs, tb ? 1 : n, tb ? k : 1, out);
        if (alpha != 1.f)
          for (size_t i = 0; i < floats; ++i) out[i] *= alpha;
      };
      if (floats > 0) {
        uint32_t alpha_bits;
        std::memcpy(&alpha_bits, &alpha_, sizeof(alpha_bits));
        const std::string key = ctx.op_name() + "/gemm_f32_packed/" + kernel_->name + "/k" + std::to_string(k_) +
                                "/n" + std::to_string(n_) + (trans_b_ ? "/bt" : "/b") + "/alpha" +
                                std::to_string(alpha_bits);
        packed_ = pack_weights(ctx.weight_cache, key, floats * sizeof(float), pack);
      }
      if (trans_a_) ctx.scratch_bytes = static_cast<size_t>(m_ * k_) * sizeof(float);
    } else if (pick == "xnnpack") {
      // Packed weights [N][K] = alpha * B'^T.
      std::vector<float> w(static_cast<size_t>(n_ * k_));
      const float* bs = b.as<float>();
      for (int64_t j = 0; j < n_; ++j)
        for (int64_t p = 0; p < k_; ++p) w[j * k_ + p] = alpha_ * (trans_b_ ? bs[j * k_ + p] : bs[p * n_ + j]);
      const xnn_status st = xnn_create_fully_connected_nc_f32(static_cast<size_t>(k_), static_cast<size_t>(n_),
                                                              static_cast<size_t>(k_), static_cast<size_t>(n_),
                                                              w.data(), bias_.empty() ? nullptr : bias_.data(), lo, hi,
                                                              0, xnn_.out());
      if (st != xnn_status_success)
        return ctx.fail(StatusCode::kInternal, "XNNPACK fully connected creation failed for B " + shape_str(b.shape));
      if (trans_a_) ctx.scratch_bytes = static_cast<size_t>(m_ * k_) * sizeof(float);
    } else {
      if (trans_b_) ctx.scratch_bytes = static_cast<size_t>(k_ * n_) * sizeof(float);
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
    if (packed_path_) {
      kernels::GemmF32PackedArgs g;
      g.m = m_, g.n = n_, g.k = k_;
      g.a = ctx.in(0).as<float>();
      if (trans_a_) {
        transpose(g.a, k_, m_, static_cast<float*>(ctx.scratch));
        g.a = static_cast<const float*>(ctx.scratch);
      }
      g.lda = k_;
      g.packed_b = packed_ ? packed_->as<float>() : nullptr;
      g.c = y, g.ldc = n_;
      g.ep.bias = bias_.empty() ? nullptr : bias_.data();
      if (fuse_residual_) g.ep.residual = ctx.in(2).as<float>(), g.ep.ld_residual = n_;
      g.ep.out_min = lo_, g.ep.out_max = hi_;
      if (!epilogue_c_) g.ep.act = gelu_;
      kernels::gemm_f32_packed(*kernel_, g, ctx.pool);
    } else if (xnn_) {
      if (trans_a_) transpose(ctx.in(0).as<float>(), k_, m_, static_cast<float*>(ctx.scratch));
      xnn_run_operator(xnn_.get(), ctx.pool);
    } else {
      kernels::GemmF32Args g = args_;
      g.a = ctx.in(0).as<float>();
      if (!trans_b_) {
        g.b = ctx.in(1).as<float>();
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
    if (!packed_path_ || epilogue_c_) kernels::gemm_f32_apply_act(gelu_, y, static_cast<size_t>(m_ * n_), ctx.pool);
  }

  std::string kernel_name() const override {
    if (packed_path_) return std::string("pocket.gemm.") + kernel_->name;
    return xnn_ ? "xnnpack.fc" : std::string("pocket.gemm.unpacked.") + kernels::gemm_f32_kernel().name;
  }
  int64_t flops(const OpContext&) const override { return saturating_product({2, m_, n_, k_}); }
  std::vector<std::string> variants() const override { return variants_; }
  size_t private_bytes() const override { return bias_.capacity() * sizeof(float); }
  int chosen_variant() const override { return chosen_; }

 private:
  // dst [cols][rows] = src [rows][cols]^T
  static void transpose(const float* src, int64_t rows, int64_t cols, float* dst) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  }

  bool trans_a_ = false, trans_b_ = false, epilogue_c_ = false, fuse_residual_ = false, packed_path_ = false;
  kernels::GemmF32Act gelu_ = kernels::GemmF32Act::None;
  float alpha_ = 1.f, beta_ = 1.f, lo_ = 0.f, hi_ = 0.f;
  int64_t m_ = 0, n_ = 0, k_ = 0, cm_ = 1, cn_ = 1;
  FusedActivation act_;
  kernels::ActivationParams post_;
  std::vector<float> bias_;
  kernels::GemmF32Args args_;
  XnnOp xnn_;
  const kernels::GemmF32PackedKernel* kernel_ = nullptr;
  std::shared_ptr<const PackedWeights> packed_;
  std::vector<std::string> variants_;
  int chosen_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_gemm() { return std::make_unique<GemmOp>(); }

}  // namespace pocket
