// SqueezeExcite, channels-last (format/OPS.md): X [N,H,W,C] ->
//   s = mean over H, W of X                     [N, C]
//   h = act(W1 · s + B1)                        [N, C1]
//   g = gate(W2 · h + B2)                       [N, C]
//   Y = X * g, broadcast over H and W           [N,H,W,C]
// The converter makes it from GlobalAveragePool -> Conv 1x1 -> Conv 1x1 -> Mul. The tensor is read
// twice (the channel means, then the scaling pass that writes Y) instead of three times, and the
// two small FC layers run as dot products over the weight rows, used in place (no packing), split
// over the pool by output rows when large. Attributes: activation/act_alpha/act_beta (FC1) and
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

// sum_i a[i] * b[i], in 16 independent partial sums the compiler keeps in vector registers.
float dot(const float* a, const float* b, int64_t n) {
  constexpr int kLanes = 16;
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += a[i + k] * b[i + k];
  float s = 0.f;
  for (; i < n; ++i) s += a[i] * b[i];
  for (int k = 0; k < kLanes; ++k) s += acc[k];
  return s;
}

// out[j0, j1) = act(bias + W[j0, j1) · in), W row-major [n_out][n_in] (ONNX OIHW with 1x1).
void fc_rows(const float* in, int64_t n_in, const float* w, const float* bias, int64_t j0, int64_t j1,
             const kernels::ActivationParams& act, float* out) {
  for (int64_t j = j0; j < j1; ++j) out[j] = (bias ? bias[j] : 0.f) + dot(w + j * n_in, in, n_in);
  kernels::apply_activation_f32(act, out + j0, static_cast<size_t>(j1 - j0), nullptr);
}

// One FC layer over the batch: out[b] = act(W in[b] + bias); parallel tasks of kFcRows outputs,
// each streaming whole weight rows.
struct FcTask {
  const float* in;
  int64_t n_in;
  const float* w;
  const float* bias;  // may be null
  int64_t n_out;
  float* out;
  kernels::ActivationParams act;
  int64_t tiles;  // per image
};
constexpr int64_t kFcRows = 16;

void fc_task(void* context, size_t index) {
  const auto* t = static_cast<const FcTask*>(context);
  const int64_t b = static_cast<int64_t>(index) / t->tiles, tile = static_cast<int64_t>(index) % t->tiles;
  const int64_t j0 = tile * kFcRows, j1 = std::min(t->n_out, j0 + kFcRows);
  fc_rows(t->in + b * t->n_in, t->n_in, t->w, t->bias, j0, j1, t->act, t->out + b * t->n_out);
}

void fc_layer(const FcTask& t, int64_t batch, pthreadpool_t pool) {
  // Small layers (most of them) are cheaper than a pool dispatch.
  if (!pool || t.n_in * t.n_out < 16384) {
    for (int64_t b = 0; b < batch; ++b)
      fc_rows(t.in + b * t.n_in, t.n_in, t.w, t.bias, 0, t.n_out, t.act, t.out + b * t.n_out);
    return;
  }
  pthreadpool_parallelize_1d(pool, &fc_task, const_cast<FcTask*>(&t), static_cast<size_t>(t.tiles * batch), 0);
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

    // The FC weights are used in place: [C1][C] and [C][C1] row-major are the rows the dot
    // products stream.
    w1_ = w1.as<float>();
    w2_ = w2.as<float>();
    b1_ = b1 ? b1->as<float>() : nullptr;
    b2_ = b2 ? b2->as<float>() : nullptr;

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

    kernels::global_avg_pool_f32(n_, pixels_, c_, x, s, ctx.pool);
    fc_layer({s, c_, w1_, b1_, c1_, h, act_, (c1_ + kFcRows - 1) / kFcRows}, n_, ctx.pool);
    fc_layer({h, c1_, w2_, b2_, c_, s, gate_, (c_ + kFcRows - 1) / kFcRows}, n_, ctx.pool);

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
    // The activation kernels stop at LeakyRelu: Gelu/GeluTanh would otherwise be skipped silently.
    if (kind > static_cast<int64_t>(K::LeakyRelu))
      return ctx.fail(StatusCode::kUnsupported, std::string(what) + " activation " +
                                                    fb::EnumNameActivationKind(static_cast<fb::ActivationKind>(kind)) +
                                                    " is not supported in SqueezeExcite");
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
  const float *w1_ = nullptr, *b1_ = nullptr, *w2_ = nullptr, *b2_ = nullptr;
};

}  // namespace

std::unique_ptr<Op> make_squeeze_excite() { return std::make_unique<SqueezeExciteOp>(); }

}  // namespace pocket
