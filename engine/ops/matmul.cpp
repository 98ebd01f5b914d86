// MatMul with numpy semantics: a 1-D A is [1,K] and a 1-D B is [K,1] (that dim is dropped from
// the output); batch dims broadcast. Inputs: A, B, bias (optional, [N], added along the last axis),
// R (optional residual with the output's shape, format 1.1). Attributes: activation/act_alpha/
// act_beta. Y = activation(A.B + bias + R).
// Variants (Op::variants(), picked by ctx.variant; the default heuristic takes the first):
//   constant B without batch dims:
//     "pocket.gemm"  B packed once (shared through the weight cache), kernels::gemm_f32_packed
//                    over all rows of A, bias and the activation's clamp fused into the store.
//     "xnnpack"      XNNPACK fully_connected_nc_f32 over all rows of A (bias absent or constant).
//   otherwise:
//     "pocket.gemm.unpacked"  kernels::gemm_f32 on B as it is, one call when B has no batch
//                    dims, else one per output batch (batch dims broadcast numpy-style). (Packing
//                    B every run for the packed kernels, kernels::gemm_f32_packed_b_once, measured
//                    slower on the attention shapes [12,128,64]x[12,64,128] and
//                    [12,128,128]x[12,128,64]: gemm_f32_batched/ in bench/kernels/gemm_bench.cpp.)
// Default: ours ("pocket.gemm" ran 1.5-2.4x this machine's XNNPACK build on the transformer and
// MobileNet shapes of bench/kernels/gemm_bench.cpp, and streams B once for M <= 3).
// On "pocket.gemm" bias, R, the clamp (Relu/Clip) and Gelu/GeluTanh are fused into the GEMM's
// store (GELU on each finished block of C while it is in cache). Elsewhere R is added after the
// product, then the activation runs as one pass; other activations the clamp does not cover run
// after on every path.
#include <algorithm>
#include <cstring>

#include "engine/ops/nn_common.h"
#include "engine/ops/nn_ops.h"
#include "kernels/gemm/gemm_f32.h"
#include "kernels/xnnpack/xnnpack_init.h"

namespace pocket {

namespace {

// parse_activation plus the GELU kinds (format 1.1), which only the GEMM epilogue applies.
Status parse_matmul_activation(const OpContext& ctx, FusedActivation* act, kernels::GemmF32Act* gelu) {
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

class MatMulOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 0, -1, "input A"));
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 1, -1, "input B"));
    const Value& a = ctx.in(0);
    const Value& b = ctx.in(1);
    if (a.rank() < 1 || b.rank() < 1)
      return ctx.fail(StatusCode::kInvalidModel, "inputs must have rank >= 1, got A " + shape_str(a.shape) + " and B " +
                                                     shape_str(b.shape));
    Shape as = a.shape, bs = b.shape;
    const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
    if (a_vec) as.insert(as.begin(), 1);
    if (b_vec) bs.push_back(1);
    m_ = as[as.size() - 2];
    k_ = as.back();
    n_ = bs.back();
    if (bs[bs.size() - 2] != k_)
      return ctx.fail(StatusCode::kInvalidModel,
                      "inner dimensions differ: A " + shape_str(a.shape) + " and B " + shape_str(b.shape));
    // Broadcast the batch dims, right-aligned.
    const size_t ab = as.size() - 2, bb = bs.size() - 2, rank = std::max(ab, bb);
    Shape batch(rank), a_batch(rank, 1), b_batch(rank, 1);
    for (size_t i = 0; i < ab; ++i) a_batch[rank - ab + i] = as[i];
    for (size_t i = 0; i < bb; ++i) b_batch[rank - bb + i] = bs[i];
    for (size_t i = 0; i < rank; ++i) {
      if (a_batch[i] != b_batch[i] && a_batch[i] != 1 && b_batch[i] != 1)
        return ctx.fail(StatusCode::kInvalidModel, "batch dimensions of A " + shape_str(a.shape) + " and B " +
                                                       shape_str(b.shape) + " do not broadcast");
      batch[i] = a_batch[i] == 1 ? b_batch[i] : a_batch[i];
    }
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = batch;
    if (!a_vec) y.shape.push_back(m_);
    if (!b_vec) y.shape.push_back(n_);

    const Value* bias = nullptr;
    if (ctx.has_input(2)) {
      POCKET_RETURN_IF_ERROR(expect_f32(ctx, 2, 1, "bias"));
      bias = &ctx.in(2);
      if (bias->shape[0] != n_)
        return ctx.fail(StatusCode::kInvalidModel, "bias " + shape_str(bias->shape) + " must have " +
                                                       std::to_string(n_) + " elements (last dim of B " +
                                                       shape_str(b.shape) + ")");
    }
    has_r_ = ctx.has_input(3);
    if (has_r_) {
      POCKET_RETURN_IF_ERROR(expect_f32(ctx, 3, -1, "residual R"));
      if (ctx.in(3).shape != y.shape)
        return ctx.fail(StatusCode::kInvalidModel, "residual R " + shape_str(ctx.in(3).shape) +
                                                       " must have the output's shape " + shape_str(y.shape));
    }
    POCKET_RETURN_IF_ERROR(parse_matmul_activation(ctx, &act_, &gelu_));

    int64_t b_batches = 1;
    for (int64_t d : b_batch) b_batches *= d;
    batches_ = 1;
    for (int64_t d : batch) batches_ *= d;
    rows_ = batches_ * m_;

    variants_.clear();
    if (b_batches == 1 && b.constant) {
      variants_.push_back("pocket.gemm");
      if ((!bias || bias->constant) && !has_r_ && k_ > 0 && n_ > 0 && kernels::xnnpack_available())
        variants_.push_back("xnnpack");
    } else {
      variants_.push_back("pocket.gemm.unpacked");
    }
    chosen_ = ctx.variant >= 0 && ctx.variant < static_cast<int>(variants_.size()) ? ctx.variant : 0;
    const std::string& pick = variants_[static_cast<size_t>(chosen_)];
    packed_path_ = pick == "pocket.gemm";
    xnn_.reset();
    packed_.reset();
    offsets_.clear();
    a_repeat_ = false;

    if (packed_path_) {
      kernel_ = &kernels::gemm_f32_packed_kernel();
      const size_t floats = kernels::gemm_f32_packed_b_floats(*kernel_, k_, n_);
      const float* src = b.as<float>();
      const kernels::GemmF32PackedKernel* kr = kernel_;
      const int64_t k = k_, n = n_;
      auto pack = [=](void* dst) { kernels::gemm_f32_pack_b(*kr, k, n, src, n, 1, static_cast<float*>(dst)); };
      if (floats > 0) {
        const std::string key = ctx.op_name() + "/gemm_f32_packed/" + kernel_->name + "/k" + std::to_string(k_) +
                                "/n" + std::to_string(n_);
        packed_ = pack_weights(ctx.weight_cache, key, floats * sizeof(float), pack);
      }
    } else if (pick == "xnnpack") {
      std::vector<float> w(static_cast<size_t>(n_ * k_));
      const float* src = b.as<float>();
      for (int64_t j = 0; j < n_; ++j)
        for (int64_t p = 0; p < k_; ++p) w[j * k_ + p] = src[p * n_ + j];
      const xnn_status st = xnn_create_fully_connected_nc_f32(
          static_cast<size_t>(k_), static_cast<size_t>(n_), static_cast<size_t>(k_), static_cast<size_t>(n_), w.data(),
          bias ? bias->as<float>() : nullptr, act_.out_min, act_.out_max, 0, xnn_.out());
      if (st != xnn_status_success)
        return ctx.fail(StatusCode::kInternal, "XNNPACK fully connected creation failed for B " + shape_str(b.shape));
    }
    if (!xnn_ && b_batches > 1) {  // only the unpacked path
      // Element offsets of A and B for every output batch.
      offsets_.resize(static_cast<size_t>(batches_) * 2);
      Shape idx(rank, 0);
      for (int64_t t = 0; t < batches_; ++t) {
        int64_t ao = 0, bo = 0;
        for (size_t i = 0; i < rank; ++i) {
          ao = ao * a_batch[i] + (a_batch[i] == 1 ? 0 : idx[i]);
          bo = bo * b_batch[i] + (b_batch[i] == 1 ? 0 : idx[i]);
        }
        offsets_[2 * t] = ao * m_ * k_;
        offsets_[2 * t + 1] = bo * k_ * n_;
        for (size_t i = rank; i-- > 0;) {
          if (++idx[i] < batch[i]) break;
          idx[i] = 0;
        }
      }
    } else if (!xnn_) {
      // B shared by every batch (packed or not); A's batch dims may still broadcast (then each
      // batch repeats A).
      int64_t a_batches = 1;
      for (int64_t d : a_batch) a_batches *= d;
      a_repeat_ = a_batches != batches_;
    }
    return Status::Ok();
  }

  Status bind(OpContext& ctx) override {
    if (!xnn_) return Status::Ok();
    const xnn_status st = xnn_setup_fully_connected_nc_f32(xnn_.get(), static_cast<size_t>(rows_),
                                                           ctx.in(0).as<float>(), ctx.out(0).as<float>(), ctx.pool);
    if (st != xnn_status_success)
      return ctx.fail(StatusCode::kInternal, "XNNPACK fully connected setup failed for A " + shape_str(ctx.in(0).shape));
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    float* y = ctx.out(0).as<float>();
    if (packed_path_) {
      kernels::GemmF32PackedArgs g;
      g.n = n_, g.k = k_;
      g.lda = k_;
      g.packed_b = packed_ ? packed_->as<float>() : nullptr;
      g.ldc = n_;
      g.ep.bias = ctx.has_input(2) ? ctx.in(2).as<float>() : nullptr;
      g.ep.out_min = act_.out_min;
      g.ep.out_max = act_.out_max;
      g.ep.act = gelu_;
      const float* r = has_r_ ? ctx.in(3).as<float>() : nullptr;
      g.ep.ld_residual = n_;
      const float* a = ctx.in(0).as<float>();
      if (!a_repeat_) {
        g.m = rows_, g.a = a, g.c = y;
        g.ep.residual = r;
        kernels::gemm_f32_packed(*kernel_, g, ctx.pool);
      } else {
        g.m = m_, g.a = a;
        for (int64_t t = 0; t < batches_; ++t) {
          g.c = y + t * m_ * n_;
          g.ep.residual = r ? r + t * m_ * n_ : nullptr;
          kernels::gemm_f32_packed(*kernel_, g, ctx.pool);
        }
      }
      if (act_.has_post())
        kernels::apply_activation_f32(act_.post, y, static_cast<size_t>(rows_ * n_), ctx.pool);
      return;
    }
    if (xnn_) {
      xnn_run_operator(xnn_.get(), ctx.pool);
    } else {
      kernels::GemmF32Args g;
      g.n = n_, g.k = k_;
      g.a_row_stride = k_;
      g.a_col_stride = 1;
      g.ldb = n_;
      g.ldc = n_;
      g.bias = ctx.has_input(2) ? ctx.in(2).as<float>() : nullptr;
      // With R the clamp waits until R is added.
      if (!has_r_) g.out_min = act_.out_min, g.out_max = act_.out_max;
      const float* a = ctx.in(0).as<float>();
      const float* b = ctx.in(1).as<float>();
      if (offsets_.empty() && !a_repeat_) {
        g.m = rows_;
        g.a = a, g.b = b, g.c = y;
        kernels::gemm_f32(g, ctx.pool);
      } else {
        g.m = m_;
        for (int64_t t = 0; t < batches_; ++t) {
          g.a = a + (offsets_.empty() ? 0 : offsets_[2 * t]);
          g.b = b + (offsets_.empty() ? 0 : offsets_[2 * t + 1]);
          g.c = y + t * m_ * n_;
          kernels::gemm_f32(g, ctx.pool);
        }
      }
    }
    const size_t total = static_cast<size_t>(rows_ * n_);
    if (has_r_) {
      // Unfused paths (XNNPACK clamps inside, so it is only offered without R: see prepare).
      const float* r = ctx.in(3).as<float>();
      for (size_t i = 0; i < total; ++i) y[i] += r[i];
      if (act_.out_min > -std::numeric_limits<float>::infinity() || act_.out_max < std::numeric_limits<float>::infinity())
        for (size_t i = 0; i < total; ++i) y[i] = std::min(std::max(y[i], act_.out_min), act_.out_max);
    }
    kernels::gemm_f32_apply_act(gelu_, y, total, ctx.pool);
    if (act_.has_post()) kernels::apply_activation_f32(act_.post, y, total, ctx.pool);
  }

  std::string kernel_name() const override {
    if (packed_path_) return std::string("pocket.gemm.") + kernel_->name;
    return xnn_ ? "xnnpack.fc" : std::string("pocket.gemm.unpacked.") + kernels::gemm_f32_kernel().name;
  }
  int64_t flops(const OpContext&) const override { return saturating_product({2, rows_, n_, k_}); }
  std::vector<std::string> variants() const override { return variants_; }
  int chosen_variant() const override { return chosen_; }

 private:
  int64_t m_ = 0, n_ = 0, k_ = 0, batches_ = 1, rows_ = 0;
  bool a_repeat_ = false, packed_path_ = false, has_r_ = false;
  kernels::GemmF32Act gelu_ = kernels::GemmF32Act::None;
  std::vector<int64_t> offsets_;  // per batch: A offset, B offset
  FusedActivation act_;
  XnnOp xnn_;
  const kernels::GemmF32PackedKernel* kernel_ = nullptr;
  std::shared_ptr<const PackedWeights> packed_;
  std::vector<std::string> variants_;
  int chosen_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_matmul() { return std::make_unique<MatMulOp>(); }

}  // namespace pocket
