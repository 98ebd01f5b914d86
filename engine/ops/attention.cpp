// Attention (format/OPS.md): fused scaled-dot-product attention over heads packed in the last dim.
//   inputs  Q [B, Sq, Hq*D], K [B, Sk, Hk*D], V [B, Sk, Hk*Dv], mask (optional; BOOL, true =
//           masked -> the score becomes mask_fill; or F32, added to the scaled score), broadcast
//           right-aligned (rank <= 4) to [B, Hq, Sq, Sk]
//   attrs   num_heads (Hq, required), kv_heads (Hk, default Hq, Hq % Hk == 0), scale (default
//           1/sqrt(D)), causal (0; 1: query i sees keys j <= i + Sk - Sq), mask_fill (-inf)
//   output  [B, Sq, Hq*Dv] = per head softmax(scale * Q_h K_h^T, masked) V_h; a row whose scores
//           are all -inf gives zeros.
// Runs kernels/attention (tiled, online softmax): the Sq x Sk scores are never materialised; the
// per-thread tiles are arena scratch declared here.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/nn_ops.h"
#include "engine/ops/nn_common.h"
#include "engine/ops/tensor_util.h"
#include "kernels/attention/attention_f32.h"

namespace pocket {

namespace {

class Attention final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity_optional(ctx, 3, 4, 1, 1));
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 0, 3, "Q"));
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 1, 3, "K"));
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 2, 3, "V"));
    const Value& q = ctx.in(0);
    const Value& k = ctx.in(1);
    const Value& v = ctx.in(2);
    const Attrs attrs = ctx.attrs();
    auto bad = [&](const std::string& what) { return ctx.fail(StatusCode::kInvalidModel, what); };

    if (!attrs.has("num_heads")) return bad("attribute num_heads is required");
    const int64_t heads = attrs.i("num_heads", 0);
    const int64_t kv_heads = attrs.i("kv_heads", heads);
    if (heads <= 0) return bad("num_heads must be positive, got " + std::to_string(heads));
    if (kv_heads <= 0 || heads % kv_heads != 0)
      return bad("kv_heads " + std::to_string(kv_heads) + " must be positive and divide num_heads " +
                 std::to_string(heads));
    const int64_t batch = q.shape[0], sq = q.shape[1], sk = k.shape[1];
    if (q.shape[2] % heads != 0)
      return bad(describe("Q", q) + ": last dim is not a multiple of num_heads " + std::to_string(heads));
    const int64_t d = q.shape[2] / heads;
    if (k.shape[0] != batch || k.shape[2] != kv_heads * d)
      return bad(describe("K", k) + " does not match " + describe("Q", q) + " (want [" + std::to_string(batch) +
                 ", Sk, " + std::to_string(kv_heads * d) + "] for kv_heads " + std::to_string(kv_heads) + ")");
    if (v.shape[0] != batch || v.shape[1] != sk || v.shape[2] % kv_heads != 0)
      return bad(describe("V", v) + " does not match " + describe("K", k) + " (want [" + std::to_string(batch) +
                 ", " + std::to_string(sk) + ", kv_heads * Dv])");
    const int64_t dv = v.shape[2] / kv_heads;

    kernels::AttentionF32Problem& p = problem_;
    p = kernels::AttentionF32Problem{};
    p.batch = batch, p.heads = heads, p.kv_heads = kv_heads;
    p.sq = sq, p.sk = sk, p.d = d, p.dv = dv;
    p.scale = attrs.f("scale", d > 0 ? 1.f / std::sqrt(static_cast<float>(d)) : 1.f);
    if (!std::isfinite(p.scale)) return bad("scale must be finite, got " + std::to_string(p.scale));
    const int64_t causal = attrs.i("causal", 0);
    if (causal != 0 && causal != 1) return bad("causal must be 0 or 1, got " + std::to_string(causal));
    p.causal = causal == 1;
    p.mask_fill = attrs.f("mask_fill", -std::numeric_limits<float>::infinity());
    if (std::isnan(p.mask_fill)) return bad("mask_fill must not be NaN");

    if (ctx.has_input(3)) {
      const Value& m = ctx.in(3);
      if (m.dtype == DType::BOOL) p.mask_kind = kernels::AttentionMask::Bool;
      else if (m.dtype == DType::F32) p.mask_kind = kernels::AttentionMask::Additive;
      else
        return ctx.fail(StatusCode::kUnsupported,
                        describe("mask", m) + " must be bool or f32, got " + dtype_name(m.dtype));
      if (m.rank() > 4) return bad(describe("mask", m) + " has rank > 4");
      const int64_t full[4] = {batch, heads, sq, sk};
      int64_t stride = 1;
      for (int64_t i = 0; i < m.rank(); ++i) {
        const int64_t dim = m.rank() - 1 - i, size = m.shape[dim];
        if (size != 1 && size != full[3 - i])
          return bad(describe("mask", m) + " does not broadcast to [B, num_heads, Sq, Sk] = [" +
                     std::to_string(batch) + ", " + std::to_string(heads) + ", " + std::to_string(sq) + ", " +
                     std::to_string(sk) + "]");
        p.mask_strides[3 - i] = size == 1 ? 0 : stride;
        stride *= size;
      }
    }

    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = {batch, sq, heads * dv};

    size_t count = 0;
    const kernels::AttentionF32Kernel* all = kernels::attention_f32_variants(&count);
    kernels_.clear();
    for (size_t i = count; i-- > 0;) kernels_.push_back(&all[i]);  // best first
    chosen_ = ctx.variant >= 0 && ctx.variant < static_cast<int>(kernels_.size()) ? ctx.variant : 0;
    plan_ = kernels::attention_f32_plan(*kernels_[chosen_], p, ctx.num_threads);
    ctx.scratch_bytes = plan_.scratch_bytes();
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    kernels::AttentionF32Problem p = problem_;
    p.q = ctx.in(0).as<const float>();
    p.k = ctx.in(1).as<const float>();
    p.v = ctx.in(2).as<const float>();
    p.mask = ctx.has_input(3) ? ctx.in(3).data : nullptr;
    p.out = ctx.out(0).as<float>();
    kernels::attention_f32(*kernels_[chosen_], p, plan_, ctx.scratch, ctx.pool);
  }

  std::string kernel_name() const override { return kernels_.empty() ? "ref" : kernels_[chosen_]->name; }

  // 2 flops per multiply-accumulate of Q.K^T and P.V over the visible (query, key) pairs.
  int64_t flops(const OpContext& ctx) const override {
    (void)ctx;
    const kernels::AttentionF32Problem& p = problem_;
    int64_t pairs = p.sq * p.sk;
    if (p.causal) {
      pairs = 0;
      for (int64_t i = 0; i < p.sq; ++i) pairs += std::clamp<int64_t>(i + p.sk - p.sq + 1, 0, p.sk);
    }
    return 2 * p.batch * p.heads * pairs * (p.d + p.dv);
  }

  std::vector<std::string> variants() const override {
    std::vector<std::string> names;
    for (const auto* k : kernels_) names.push_back(k->name);
    return names;
  }
  int chosen_variant() const override { return chosen_; }

 private:
  kernels::AttentionF32Problem problem_;
  kernels::AttentionF32Plan plan_;
  std::vector<const kernels::AttentionF32Kernel*> kernels_;
  int chosen_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_attention() { return std::make_unique<Attention>(); }

}  // namespace pocket
