// Add, Sub, Mul, Div, Pow (numpy broadcasting) and PRelu (slope broadcast to X).
// Inputs: A, B (PRelu: X, slope). f32 for all; f64, i32 and i64 for Add, Sub, Mul, Div (integer
// division truncates; division by zero gives 0; f64 runs the scalar kernels). No attributes.
#include <memory>

#include "engine/ops/ew_common.h"
#include "engine/ops/ew_ops.h"
#include "kernels/elementwise/broadcast.h"

namespace pocket::ew {

namespace {

using kernels::BinaryOp;

class Binary final : public Op {
 public:
  explicit Binary(BinaryOp kind) : kind_(kind) {}

  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 2, 2));
    const Value& a = ctx.in(0);
    const Value& b = ctx.in(1);
    const bool int_ok = kind_ == BinaryOp::Add || kind_ == BinaryOp::Sub || kind_ == BinaryOp::Mul ||
                        kind_ == BinaryOp::Div;
    const bool dtype_ok = a.dtype == DType::F32 ||
                          (int_ok && (a.dtype == DType::F64 || a.dtype == DType::I32 || a.dtype == DType::I64));
    if (!dtype_ok)
      return ctx.fail(StatusCode::kUnsupported, "input " + describe(a) + ": dtype not supported (f32" +
                                                    std::string(int_ok ? ", f64, i32, i64" : "") + ")");
    if (b.dtype != a.dtype)
      return ctx.fail(StatusCode::kInvalidModel, "inputs " + describe(a) + " and " + describe(b) + " differ in dtype");
    Shape out;
    if (!kernels::broadcast_shape(a.shape, b.shape, &out))
      return ctx.fail(StatusCode::kInvalidModel, "cannot broadcast " + describe(a) + " with " + describe(b));
    if (kind_ == BinaryOp::PRelu && out != a.shape)
      return ctx.fail(StatusCode::kInvalidModel, "slope " + describe(b) + " does not broadcast to X " + describe(a));
    if (!kernels::make_broadcast_plan(out, a.shape, b.shape, &plan_))
      return ctx.fail(StatusCode::kUnsupported, "broadcast of " + describe(a) + " with " + describe(b) + " is too irregular");
    Value& y = ctx.out(0);
    y.dtype = a.dtype;
    y.shape = out;
    dtype_ = a.dtype;
    const auto& k = kernels::elementwise_kernels();
    isa_ = dtype_ == DType::F32 ? k.binary_f32_isa[static_cast<int>(kind_)] : "scalar";
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const auto& k = kernels::elementwise_kernels();
    const int op = static_cast<int>(kind_);
    switch (dtype_) {
      case DType::I32: run_typed<int32_t>(ctx, k.binary_i32[op]); break;
      case DType::I64: run_typed<int64_t>(ctx, k.binary_i64[op]); break;
      case DType::F64: run_typed<double>(ctx, k.binary_f64[op]); break;
      default: run_typed<float>(ctx, k.binary_f32[op]); break;
    }
  }

  std::string kernel_name() const override { return isa_; }
  int64_t flops(const OpContext& ctx) const override { return ctx.outputs[0]->elements(); }

 private:
  template <class T>
  void run_typed(const OpContext& ctx, kernels::BinaryFn<T> const (&row)[kernels::kRowFormCount]) {
    const T* a = ctx.in(0).as<const T>();
    const T* b = ctx.in(1).as<const T>();
    T* y = ctx.out(0).as<T>();
    parallel_for(ctx, plan_.total, chunk_units(sizeof(T)), [&](int64_t s, int64_t e) {
      kernels::broadcast_range<T>(plan_, row, a, b, y, s, e);
    });
  }

  BinaryOp kind_;
  DType dtype_ = DType::F32;
  kernels::BroadcastPlan plan_;
  const char* isa_ = "scalar";
};

template <BinaryOp K>
std::unique_ptr<Op> make() {
  return std::make_unique<Binary>(K);
}

}  // namespace

void register_binary_ops(OpTable& table) {
  table.set(fb::OpType::Add, make<BinaryOp::Add>);
  table.set(fb::OpType::Sub, make<BinaryOp::Sub>);
  table.set(fb::OpType::Mul, make<BinaryOp::Mul>);
  table.set(fb::OpType::Div, make<BinaryOp::Div>);
  table.set(fb::OpType::Pow, make<BinaryOp::Pow>);
  table.set(fb::OpType::PRelu, make<BinaryOp::PRelu>);
}

}  // namespace pocket::ew
