// Tile. attrs: repeats (ints, one per axis, >= 0), or input 1 known at prepare. Each axis is viewed as [repeat, dim] with a
// zero stride on the repeat, so the whole op is one strided copy.
#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class TileOp final : public StridedCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity_optional(ctx, 1, 2, 1, 1));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
    std::vector<int64_t> repeats;
    bool found = false;
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 1, "repeats", &repeats, &found));
    if (static_cast<int64_t>(repeats.size()) != x.rank())
      return ctx.fail(StatusCode::kInvalidModel, "repeats " + ints_str(repeats) + " must have one entry per axis of " +
                                                     describe("input", x));
    const std::vector<int64_t> in_strides = row_major_strides(x.shape);
    std::vector<int64_t> dims, strides;
    Shape out;
    for (size_t d = 0; d < repeats.size(); ++d) {
      if (repeats[d] < 0) return ctx.fail(StatusCode::kInvalidModel, "repeats " + ints_str(repeats) + " has a negative entry");
      if (x.shape[d] != 0 && repeats[d] > INT64_MAX / x.shape[d])
        return ctx.fail(StatusCode::kInvalidModel, "repeats " + ints_str(repeats) + " overflow " + describe("input", x));
      out.push_back(x.shape[d] * repeats[d]);
      dims.push_back(repeats[d]);
      strides.push_back(0);
      dims.push_back(x.shape[d]);
      strides.push_back(in_strides[d]);
    }
    if (num_elements(out) < 0) return ctx.fail(StatusCode::kInvalidModel, "output shape " + shape_str(out) + " is too large");
    ctx.out(0).dtype = x.dtype;
    ctx.out(0).shape = out;
    return plan_view(ctx, dims, strides, 0, dtype_size(x.dtype), &plan_);
  }
};

}  // namespace

std::unique_ptr<Op> make_tile_op() { return std::make_unique<TileOp>(); }

}  // namespace pocket
