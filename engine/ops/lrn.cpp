// LRN, channels-last X [N,H,W,C]; the window runs over the last (channel) axis. Attributes:
// size (required, positive), alpha (1e-4), beta (0.75), bias (1.0). ONNX formula:
// y = x / (bias + alpha / size * sum of x^2 over channels [c - (size-1)/2, c + size/2])^beta.
#include "engine/ops/nn_common.h"
#include "engine/ops/nn_ops.h"
#include "kernels/pool/pool_f32.h"

namespace pocket {

namespace {

class LrnOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 0, 4, "input X"));
    const Attrs a = ctx.attrs();
    size_ = a.i("size", 0);
    alpha_ = a.f("alpha", 1e-4f);
    beta_ = a.f("beta", 0.75f);
    bias_ = a.f("bias", 1.0f);
    if (size_ <= 0) return ctx.fail(StatusCode::kInvalidModel, "size must be positive, got " + std::to_string(size_));
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = ctx.in(0).shape;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const Value& x = ctx.in(0);
    const int64_t c = x.shape[3];
    kernels::lrn_f32(c ? x.elements() / c : 0, c, size_, alpha_, beta_, bias_, x.as<float>(), ctx.out(0).as<float>(),
                     ctx.pool);
  }

  std::string kernel_name() const override { return "nhwc"; }
  int64_t flops(const OpContext& ctx) const override { return ctx.in(0).elements() * (size_ + 3); }

 private:
  int64_t size_ = 0;
  float alpha_ = 0, beta_ = 0, bias_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_lrn() { return std::make_unique<LrnOp>(); }

}  // namespace pocket
