// Unary activations and math on f32: Relu, LeakyRelu (alpha 0.01), Elu (alpha 1), Selu (alpha
// 1.67326, gamma 1.0507), Sigmoid, HardSigmoid (alpha 0.2, beta 0.5), HardSwish, Tanh, Softplus,
// Softsign, Clip (min, max: floats, default -inf / +inf), Exp, Log, Sqrt, Neg, Abs, Erf,
// Reciprocal, Floor, Ceil, SiLU. Input X, output Y of the same shape.
#include <limits>
#include <memory>

#include "engine/ops/ew_common.h"
#include "engine/ops/ew_ops.h"
#include "kernels/elementwise/elementwise.h"

namespace pocket::ew {

namespace {

using kernels::UnaryOp;

class Unary final : public Op {
 public:
  explicit Unary(UnaryOp kind) : kind_(kind) {}

  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1));
    POCKET_RETURN_IF_ERROR(require_f32(ctx, ctx.in(0)));
    const Attrs a = ctx.attrs();
    const float inf = std::numeric_limits<float>::infinity();
    switch (kind_) {
      case UnaryOp::LeakyRelu: params_.alpha = a.f("alpha", 0.01f); break;
      case UnaryOp::Elu: params_.alpha = a.f("alpha", 1.0f); break;
      case UnaryOp::Selu:
        params_.alpha = a.f("alpha", 1.67326319217681884765625f);
        params_.beta = a.f("gamma", 1.05070102214813232421875f);
        break;
      case UnaryOp::HardSigmoid:
        params_.alpha = a.f("alpha", 0.2f);
        params_.beta = a.f("beta", 0.5f);
        break;
      case UnaryOp::Clip:
        params_.alpha = a.f("min", -inf);
        params_.beta = a.f("max", inf);
        break;
      default: break;
    }
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = ctx.in(0).shape;
    const auto& k = kernels::elementwise_kernels();
    fn_ = k.unary_f32[static_cast<int>(kind_)];
    isa_ = k.unary_f32_isa[static_cast<int>(kind_)];
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const float* x = ctx.in(0).as<const float>();
    float* y = ctx.out(0).as<float>();
    parallel_for(ctx, ctx.in(0).elements(), chunk_units(sizeof(float)), [&](int64_t s, int64_t e) {
      fn_(x + s, y + s, static_cast<size_t>(e - s), params_);
    });
  }

  std::string kernel_name() const override { return isa_; }
  int64_t flops(const OpContext& ctx) const override { return ctx.outputs[0]->elements(); }

 private:
  UnaryOp kind_;
  kernels::UnaryParams params_;
  kernels::UnaryF32Fn fn_ = nullptr;
  const char* isa_ = "scalar";
};

template <UnaryOp K>
std::unique_ptr<Op> make() {
  return std::make_unique<Unary>(K);
}

}  // namespace

void register_unary_ops(OpTable& table) {
  table.set(fb::OpType::Relu, make<UnaryOp::Relu>);
  table.set(fb::OpType::LeakyRelu, make<UnaryOp::LeakyRelu>);
  table.set(fb::OpType::Elu, make<UnaryOp::Elu>);
  table.set(fb::OpType::Selu, make<UnaryOp::Selu>);
  table.set(fb::OpType::Sigmoid, make<UnaryOp::Sigmoid>);
  table.set(fb::OpType::HardSigmoid, make<UnaryOp::HardSigmoid>);
  table.set(fb::OpType::HardSwish, make<UnaryOp::HardSwish>);
  table.set(fb::OpType::Tanh, make<UnaryOp::Tanh>);
  table.set(fb::OpType::Softplus, make<UnaryOp::Softplus>);
  table.set(fb::OpType::Softsign, make<UnaryOp::Softsign>);
  table.set(fb::OpType::Clip, make<UnaryOp::Clip>);
  table.set(fb::OpType::Exp, make<UnaryOp::Exp>);
  table.set(fb::OpType::Log, make<UnaryOp::Log>);
  table.set(fb::OpType::Sqrt, make<UnaryOp::Sqrt>);
  table.set(fb::OpType::Neg, make<UnaryOp::Neg>);
  table.set(fb::OpType::Abs, make<UnaryOp::Abs>);
  table.set(fb::OpType::Erf, make<UnaryOp::Erf>);
  table.set(fb::OpType::Reciprocal, make<UnaryOp::Reciprocal>);
  table.set(fb::OpType::Floor, make<UnaryOp::Floor>);
  table.set(fb::OpType::Ceil, make<UnaryOp::Ceil>);
  table.set(fb::OpType::SiLU, make<UnaryOp::SiLU>);
}

}  // namespace pocket::ew
