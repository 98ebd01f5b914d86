// And, Or, Xor: A, B (BOOL) -> BOOL, numpy broadcasting (the two-operand row walk of
// kernels/elementwise/broadcast.h); Not: X (BOOL) -> BOOL. Any nonzero byte counts as true;
// outputs are 0 or 1. Split over the pool in >= 16 KiB chunks.
#include <memory>

#include "engine/ops/ew_ops.h"
#include "engine/ops/ew_common.h"
#include "kernels/elementwise/broadcast.h"

namespace pocket::ew {

namespace {

enum class LogicOp { And, Or, Xor };

template <LogicOp K>
inline uint8_t logic(uint8_t a, uint8_t b) {
  const bool x = a != 0, y = b != 0;
  if constexpr (K == LogicOp::And) return x && y;
  else if constexpr (K == LogicOp::Or) return x || y;
  else return x != y;
}

template <LogicOp K>
void row_vv(const uint8_t* a, const uint8_t* b, uint8_t* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = logic<K>(a[i], b[i]);
}
template <LogicOp K>
void row_vs(const uint8_t* a, const uint8_t* b, uint8_t* y, size_t n) {
  const uint8_t s = b[0];
  for (size_t i = 0; i < n; ++i) y[i] = logic<K>(a[i], s);
}
template <LogicOp K>
void row_sv(const uint8_t* a, const uint8_t* b, uint8_t* y, size_t n) {
  const uint8_t s = a[0];
  for (size_t i = 0; i < n; ++i) y[i] = logic<K>(s, b[i]);
}

Status require_bool(const OpContext& ctx, const Value& v) {
  if (v.dtype != DType::BOOL) return ctx.fail(StatusCode::kInvalidModel, "input " + describe(v) + " must be bool");
  return Status::Ok();
}

template <LogicOp K>
class Logical final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 2, 2));
    const Value& a = ctx.in(0);
    const Value& b = ctx.in(1);
    POCKET_RETURN_IF_ERROR(require_bool(ctx, a));
    POCKET_RETURN_IF_ERROR(require_bool(ctx, b));
    Shape out;
    if (!kernels::broadcast_shape(a.shape, b.shape, &out))
      return ctx.fail(StatusCode::kInvalidModel, "cannot broadcast " + describe(a) + " with " + describe(b));
    if (!kernels::make_broadcast_plan(out, a.shape, b.shape, &plan_))
      return ctx.fail(StatusCode::kUnsupported, "broadcast of " + describe(a) + " with " + describe(b) + " is too irregular");
    Value& y = ctx.out(0);
    y.dtype = DType::BOOL;
    y.shape = out;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    static constexpr kernels::BinaryFn<uint8_t> kRows[kernels::kRowFormCount] = {row_vv<K>, row_vs<K>, row_sv<K>};
    const uint8_t* a = ctx.in(0).as<const uint8_t>();
    const uint8_t* b = ctx.in(1).as<const uint8_t>();
    uint8_t* y = ctx.out(0).as<uint8_t>();
    parallel_for(ctx, plan_.total, chunk_units(1), [&](int64_t s, int64_t e) {
      kernels::broadcast_range<uint8_t>(plan_, kRows, a, b, y, s, e);
    });
  }

  std::string kernel_name() const override { return "scalar"; }

 private:
  kernels::BroadcastPlan plan_;
};

class Not final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1));
    POCKET_RETURN_IF_ERROR(require_bool(ctx, ctx.in(0)));
    Value& y = ctx.out(0);
    y.dtype = DType::BOOL;
    y.shape = ctx.in(0).shape;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const uint8_t* x = ctx.in(0).as<const uint8_t>();
    uint8_t* y = ctx.out(0).as<uint8_t>();
    parallel_for(ctx, ctx.in(0).elements(), chunk_units(1), [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) y[i] = x[i] == 0;
    });
  }

  std::string kernel_name() const override { return "scalar"; }
};

template <LogicOp K>
std::unique_ptr<Op> make() {
  return std::make_unique<Logical<K>>();
}
std::unique_ptr<Op> make_not() { return std::make_unique<Not>(); }

}  // namespace

void register_logical_ops(OpTable& table) {
  table.set(fb::OpType::And, make<LogicOp::And>);
  table.set(fb::OpType::Or, make<LogicOp::Or>);
  table.set(fb::OpType::Xor, make<LogicOp::Xor>);
  table.set(fb::OpType::Not, make_not);
}

}  // namespace pocket::ew
