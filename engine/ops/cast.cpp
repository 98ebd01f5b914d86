// Cast. attrs: to (int, a format DType value). Between f64, f32, f16, bf16, i64, i32, i8, u8
// and bool: float -> integer truncates toward zero and saturates (NaN -> 0), integer -> integer
// wraps, x -> bool is x != 0, f16/bf16 round to nearest even.
#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class CastOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1, 1, 1));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
    if (!ctx.attrs().has("to")) return ctx.fail(StatusCode::kInvalidModel, "attribute 'to' is missing");
    const int64_t to = ctx.attrs().i("to", 0);
    if (to < static_cast<int64_t>(DType::MIN) || to > static_cast<int64_t>(DType::MAX) ||
        !kernels::cast_supported(static_cast<int>(x.dtype), static_cast<int>(to)))
      return ctx.fail(StatusCode::kUnsupported, "cannot cast " + describe("input", x) + " from " + dtype_name(x.dtype) +
                                                    " to dtype " + std::to_string(to));
    to_ = static_cast<DType>(to);
    ctx.out(0).dtype = to_;
    ctx.out(0).shape = x.shape;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const Value& x = ctx.in(0);
    if (x.dtype == to_) {
      const int64_t bytes = static_cast<int64_t>(x.bytes());
      kernels::block_copy(x.data, bytes, ctx.out(0).data, bytes, bytes, 1, ctx.pool);
      return;
    }
    kernels::cast(x.data, static_cast<int>(x.dtype), ctx.out(0).data, static_cast<int>(to_), x.elements(), ctx.pool);
  }
  std::string kernel_name() const override { return "cast"; }

 private:
  DType to_ = DType::F32;
};

}  // namespace

std::unique_ptr<Op> make_cast_op() { return std::make_unique<CastOp>(); }

}  // namespace pocket
