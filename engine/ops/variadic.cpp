// Sum, Max, Min over 1..n inputs with numpy broadcasting (f32, i32, i64). Computed as a chain of
// binary steps over the output, y = in0 op in1, y = y op in2, ..., all steps done chunk by chunk
// so that a chunk stays in cache.
#include <cstring>
#include <memory>
#include <vector>

#include "engine/ops/ew_common.h"
#include "engine/ops/ew_ops.h"
#include "kernels/elementwise/broadcast.h"

namespace pocket::ew {

namespace {

using kernels::BinaryOp;

class Variadic final : public Op {
 public:
  explicit Variadic(BinaryOp kind) : kind_(kind) {}

  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1u << 16));
    const Value& first = ctx.in(0);
    if (first.dtype != DType::F32 && first.dtype != DType::I32 && first.dtype != DType::I64)
      return ctx.fail(StatusCode::kUnsupported, "input " + describe(first) + ": dtype not supported (f32, i32, i64)");
    Shape out = first.shape;
    for (size_t i = 1; i < ctx.inputs.size(); ++i) {
      const Value& v = ctx.in(i);
      if (v.dtype != first.dtype)
        return ctx.fail(StatusCode::kInvalidModel, "inputs " + describe(first) + " and " + describe(v) + " differ in dtype");
      Shape next;
      if (!kernels::broadcast_shape(out, v.shape, &next))
        return ctx.fail(StatusCode::kInvalidModel, "cannot broadcast input " + describe(v) + " with shape " + shape_str(out) +
                                                       " of the inputs before it");
      out = std::move(next);
    }
    plans_.clear();
    for (size_t i = 1; i < ctx.inputs.size(); ++i) {
      kernels::BroadcastPlan p;
      const Shape& lhs = i == 1 ? first.shape : out;
      if (!kernels::make_broadcast_plan(out, lhs, ctx.in(i).shape, &p))
        return ctx.fail(StatusCode::kUnsupported, "broadcast of input " + describe(ctx.in(i)) + " is too irregular");
      plans_.push_back(p);
    }
    if (ctx.inputs.size() == 1) {
      kernels::BroadcastPlan p;
      p.total = num_elements(out);
      plans_.push_back(p);  // only its total is used: a copy
    }
    Value& y = ctx.out(0);
    y.dtype = first.dtype;
    y.shape = out;
    dtype_ = first.dtype;
    isa_ = dtype_ == DType::F32 ? kernels::elementwise_kernels().binary_f32_isa[static_cast<int>(kind_)] : "scalar";
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const auto& k = kernels::elementwise_kernels();
    const int op = static_cast<int>(kind_);
    switch (dtype_) {
      case DType::I32: run_typed<int32_t>(ctx, k.binary_i32[op]); break;
      case DType::I64: run_typed<int64_t>(ctx, k.binary_i64[op]); break;
      default: run_typed<float>(ctx, k.binary_f32[op]); break;
    }
  }

  std::string kernel_name() const override { return isa_; }
  int64_t flops(const OpContext& ctx) const override {
    return ctx.outputs[0]->elements() * static_cast<int64_t>(ctx.inputs.size() - 1);
  }

 private:
  template <class T>
  void run_typed(const OpContext& ctx, kernels::BinaryFn<T> const (&row)[kernels::kRowFormCount]) {
    T* y = ctx.out(0).as<T>();
    const int64_t total = plans_[0].total;
    if (ctx.inputs.size() == 1) {
      if (total > 0) std::memcpy(y, ctx.in(0).data, static_cast<size_t>(total) * sizeof(T));
      return;
    }
    parallel_for(ctx, total, chunk_units(sizeof(T)), [&](int64_t s, int64_t e) {
      for (size_t i = 1; i < ctx.inputs.size(); ++i) {
        const T* lhs = i == 1 ? ctx.in(0).as<const T>() : y;
        kernels::broadcast_range<T>(plans_[i - 1], row, lhs, ctx.in(i).as<const T>(), y, s, e);
      }
    });
  }

  BinaryOp kind_;
  DType dtype_ = DType::F32;
  std::vector<kernels::BroadcastPlan> plans_;
  const char* isa_ = "scalar";
};

template <BinaryOp K>
std::unique_ptr<Op> make() {
  return std::make_unique<Variadic>(K);
}

}  // namespace

void register_variadic_ops(OpTable& table) {
  table.set(fb::OpType::Sum, make<BinaryOp::Add>);
  table.set(fb::OpType::Max, make<BinaryOp::Max>);
  table.set(fb::OpType::Min, make<BinaryOp::Min>);
}

}  // namespace pocket::ew
