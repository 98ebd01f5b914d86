// Gelu: X -> Y (same shape), f32. attr approximate: "none" (default; x * (1 + erf(x / sqrt 2)) / 2)
// or "tanh" (x * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2). Split over the pool in chunks
// of >= 16 KiB (kernels/activation/gelu_f32.h).
#include <memory>

#include "engine/ops/ew_ops.h"
#include "engine/ops/ew_common.h"
#include "kernels/activation/gelu_f32.h"

namespace pocket::ew {

namespace {

class Gelu final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1));
    POCKET_RETURN_IF_ERROR(require_f32(ctx, ctx.in(0)));
    const std::string approx = ctx.attrs().s("approximate", "none");
    if (approx != "none" && approx != "tanh")
      return ctx.fail(StatusCode::kInvalidModel, "approximate '" + approx + "' must be \"none\" or \"tanh\"");
    const kernels::GeluF32Kernels& k = kernels::gelu_f32_kernels();
    fn_ = approx == "tanh" ? k.tanh_form : k.erf_form;
    isa_ = k.isa;
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = ctx.in(0).shape;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const float* x = ctx.in(0).as<const float>();
    float* y = ctx.out(0).as<float>();
    parallel_for(ctx, ctx.in(0).elements(), chunk_units(sizeof(float)), [&](int64_t s, int64_t e) {
      fn_(x + s, y + s, static_cast<size_t>(e - s));
    });
  }

  std::string kernel_name() const override { return isa_; }
  int64_t flops(const OpContext& ctx) const override { return 20 * ctx.outputs[0]->elements(); }

 private:
  kernels::GeluF32Fn fn_ = nullptr;
  const char* isa_ = "scalar";
};

std::unique_ptr<Op> make_gelu() { return std::make_unique<Gelu>(); }

}  // namespace

void register_gelu_op(OpTable& table) { table.set(fb::OpType::Gelu, make_gelu); }

}  // namespace pocket::ew
