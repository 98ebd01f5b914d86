// SqueezeExcite, channels-last (format/OPS.md): X [N,H,W,C] ->
//   s = mean over H, W of X                     [N, C]
//   h = act(W1 · s + B1)                        [N, C1]
//   g = gate(W2 · h + B2)                       [N, C]
//   Y = X * g, broadcast over H and W           [N,H,W,C]
// The converter makes it from GlobalAveragePool -> Conv 1x1 -> Conv 1x1 -> Mul. The tensor is read
// twice (the channel means, then the scaling pass that writes Y) instead of three times, and the
// two tiny FC layers run as row-major "sum of scaled weight rows" loops on the means instead of as
// 1x1 convolutions over a 1x1 image. Attributes: activation/act_alpha/act_beta (FC1) and
// gate/gate_alpha/gate_beta (FC2), ActivationKind values.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "engine/ops/nn_common.h"
#include "engine/ops/nn_ops.h"
#include "kernels/activation/activation_f32.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/pool/pool_f32.h"

namespace pocket {

namespace {

// out[0, n_out) = b + sum_i in[i] * wt[i][0, n_out) (wt row-major [n_in][n_out]); b may be null.
void fc_rows(const float* in, int64_t n_in, const float* wt, const float* b, int64_t n_out, float* out) {
  if (b) std::memcpy(out, b, static_cast<size_t>(n_out) * sizeof(float));
  else std::fill(out, out + n_out, 0.f);
  for (int64_t i = 0; i < n_in; ++i) {
    const float v = in[i];
    const float* row = wt + i * n_out;
    for (int64_t j = 0; j < n_out; ++j) out[j] += v * row[j];
  }
}

struct ScaleTask {
  kernels::BinaryFn<float> mul;
  const float* x;
  const float* gate;  // [N][C]
  float* y;
  int64_t pixels;     // per image
  int64_t channels;
};

// Pixels [start, start + count) of the whole batch: y = x * gate of the pixel's image.
void scale_pixels(void* context, size_t start, size_t count) {
  const auto* t = static_cast<const ScaleTask*>(context);
  const int64_t c = t->channels;
  for (size_t p = start; p < start + count; ++p) {
    const int64_t image = static_cast<int64_t>(p) / t->pixels;
    const int64_t off = static_cast<int64_t>(p) * c;
    t->mul(t->x + off, t->gate + image * c, t->y + off, static_cast<size_t>(c));
  }
}

class SqueezeExciteOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    if (ctx.inputs.size() < 4 || ctx.inputs.size() > 5)
      return ctx.fail(StatusCode::kInvalidModel,
                      "needs inputs X, W1, B1, W2[, B2], got " + std::to_string(ctx.inputs.size()));
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 0, 4, "input X"));
    const Value& x = ctx.in(0);
    n_ = x.shape[0];
    pixels_ = x.shape[1] * x.shape[2];
    c_ = x.shape[3];
    if (n_ < 0 || pixels_ <= 0 || c_ <= 0)
      return ctx.fail(StatusCode::kInvalidModel, "input X " + shape_str(x.shape) + " must have H, W and C > 0");

    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 1, 4, "weights W1"));
    const Value& w1 = ctx.in(1);
    c1_ = w1.shape[0];
    if (c1_ <= 0 || w1.shape[1] != c_ || w1.shape[2] != 1 || w1.shape[3] != 1)
      return ctx.fail(StatusCode::kInvalidModel, "weights W1 " + shape_str(w1.shape) + " must be [C1, " +
                                                     std::to_string(c_) + ", 1, 1] for input X " + shape_str(x.shape));
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 3, 4, "weights W2"));
    const Value& w2 = ctx.in(3);
    if (w2.shape[0] != c_ || w2.shape[1] != c1_ || w2.shape[2] != 1 || w2.shape[3] != 1)
      return ctx.fail(StatusCode::kInvalidModel, "weights W2 " + shape_str(w2.shape) + " must be [" +
                                                     std::to_string(c_) + ", " + std::to_string(c1_) + ", 1, 1]");
    if (!w1.constant || !w2.constant)
      return ctx.fail(StatusCode::kInvalidModel, std::string("weights ") + (w1.constant ? "W2" : "W1") +
                                                     " must be a constant");
    const Value* b1 = ctx.has_input(2) ? &ctx.in(2) : nullptr;
    const Value* b2 = ctx.has_input(4) ? &ctx.in(4) : nullptr;
    POCKET_RETURN_IF_ERROR(check_bias(ctx, 2, "bias B1", c1_));
    POCKET_RETURN_IF_ERROR(check_bias(ctx, 4, "bias B2", c_));

    const Attrs a = ctx.attrs();
    POCKET_RETURN_IF_ERROR(parse(ctx, "activation", a.i("activation", 0), a.f("act_alpha", 0.f),
                                 a.f("act_beta", 0.f), &act_));
    POCKET_RETURN_IF_ERROR(parse(ctx, "gate", a.i("gate", 0), a.f("gate_alpha", 0.f), a.f("gate_beta", 0.f), &gate_));

    // Packed: W1^T [C][C1], B1 [C1], W2^T [C1][C], B2 [C] (absent biases are zeros).
    const int64_t c = c_, c1 = c1_;
    const float* w1s = w1.as<float>();
    const float* w2s = w2.as<float>();
    const float* b1s = b1 ? b1->as<float>() : nullptr;
    const float* b2s = b2 ? b2->as<float>() : nullptr;
    const size_t floats = static_cast<size_t>(2 * c * c1 + c1 + c);
    auto pack = [=](void* dst) {
      float* p = static_cast<float*>(dst);
      for (int64_t j = 0; j < c1; ++j)
        for (int64_t i = 0; i < c; ++i) p[i * c1 + j] = w1s[j * c + i];
      p += c * c1;
      for (int64_t j = 0; j < c1; ++j) p[j] = b1s ? b1s[j] : 0.f;
      p += c1;
      for (int64_t i = 0; i < c; ++i)
        for (int64_t j = 0; j < c1; ++j) p[j * c + i] = w2s[i * c1 + j];
      p += c * c1;
      for (int64_t i = 0; i < c; ++i) p[i] = b2s ? b2s[i] : 0.f;
    };
    const std::string key = ctx.op_name() + "/pocket.se/c" + std::to_string(c) + "/c1" + std::to_string(c1);
    if (ctx.weight_cache) {
      packed_ = ctx.weight_cache->get_or_pack(key, floats * sizeof(float), pack);
    } else {
      auto own = std::make_shared<PackedWeights>(floats * sizeof(float));
      pack(own->mutable_data());
      packed_ = std::move(own);
    }

    mul_ = kernels::elementwise_kernels()
               .binary_f32[static_cast<int>(kernels::BinaryOp::Mul)][static_cast<int>(kernels::RowForm::VV)];
    ctx.scratch_bytes = static_cast<size_t>(n_ * (c_ + c1_)) * sizeof(float);
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = x.shape;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    if (n_ == 0) return;
    const float* x = ctx.in(0).as<float>();
    float* y = ctx.out(0).as<float>();
    float* s = static_cast<float*>(ctx.scratch);  // [N][C]: means, then the gate
    float* h = s + n_ * c_;                       // [N][C1]
    const float* w1t = packed_->as<float>();
    const float* b1 = w1t + c_ * c1_;
    const float* w2t = b1 + c1_;
    const float* b2 = w2t + c1_ * c_;

    kernels::global_avg_pool_f32(n_, pixels_, c_, x, s, ctx.pool);
    for (int64_t b = 0; b < n_; ++b) fc_rows(s + b * c_, c_, w1t, b1, c1_, h + b * c1_);
    kernels::apply_activation_f32(act_, h, static_cast<size_t>(n_ * c1_), nullptr);
    for (int64_t b = 0; b < n_; ++b) fc_rows(h + b * c1_, c1_, w2t, b2, c_, s + b * c_);
    kernels::apply_activation_f32(gate_, s, static_cast<size_t>(n_ * c_), nullptr);

    ScaleTask task{mul_, x, s, y, pixels_, c_};
    const size_t total = static_cast<size_t>(n_ * pixels_);
    if (!ctx.pool) {
      scale_pixels(&task, 0, total);
      return;
    }
    const size_t tile = static_cast<size_t>(std::max<int64_t>(1, 8192 / c_));
    pthreadpool_parallelize_1d_tile_1d(ctx.pool, &scale_pixels, &task, total, tile, 0);
  }

  std::string kernel_name() const override { return "pocket.se"; }
  int64_t flops(const OpContext& ctx) const override {
    (void)ctx;
    return 2 * n_ * (c_ * c1_ * 2) + n_ * pixels_ * c_ * 2;
  }

 private:
  static Status check_bias(const OpContext& ctx, size_t i, const char* role, int64_t want) {
    if (!ctx.has_input(i)) return Status::Ok();
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, i, 1, role));
    const Value& b = ctx.in(i);
    if (b.shape[0] != want)
      return ctx.fail(StatusCode::kInvalidModel,
                      std::string(role) + " " + shape_str(b.shape) + " must be [" + std::to_string(want) + "]");
    if (!b.constant) return ctx.fail(StatusCode::kInvalidModel, std::string(role) + " must be a constant");
    return Status::Ok();
  }

  // One activation attribute group (ActivationKind + alpha/beta) as a kernel pass.
  static Status parse(const OpContext& ctx, const char* what, int64_t kind, float alpha, float beta,
                      kernels::ActivationParams* p) {
    using K = kernels::Activation;
    if (kind < static_cast<int64_t>(fb::ActivationKind::MIN) || kind > static_cast<int64_t>(fb::ActivationKind::MAX))
      return ctx.fail(StatusCode::kUnsupported, std::string("unknown ") + what + " activation " + std::to_string(kind));
    *p = {static_cast<K>(kind), 0.f, 0.f};
    switch (static_cast<fb::ActivationKind>(kind)) {
      case fb::ActivationKind::Clip:
        if (std::isnan(alpha) || std::isnan(beta) || alpha > beta)
          return ctx.fail(StatusCode::kInvalidModel, std::string(what) + " Clip needs alpha <= beta, got [" +
                                                         std::to_string(alpha) + ", " + std::to_string(beta) + "]");
        p->alpha = alpha, p->beta = beta;
        break;
      case fb::ActivationKind::HardSigmoid:
        p->alpha = alpha, p->beta = beta;
        break;
      case fb::ActivationKind::LeakyRelu:
        p->alpha = alpha;
        break;
      default:
        break;
    }
    return Status::Ok();
  }

  int64_t n_ = 0, pixels_ = 0, c_ = 0, c1_ = 0;
  kernels::ActivationParams act_, gate_;
  kernels::BinaryFn<float> mul_ = nullptr;
  std::shared_ptr<const PackedWeights> packed_;
};

}  // namespace

std::unique_ptr<Op> make_squeeze_excite() { return std::make_unique<SqueezeExciteOp>(); }

}  // namespace pocket
