// Expand. attrs: shape (ints), or input 1 known at prepare. Bidirectional numpy broadcast of the input with shape: output
// rank is the larger one; per axis the sizes must match or one of them be 1. Runs as a strided
// copy with zero strides on broadcast axes.
#include <algorithm>

#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class ExpandOp final : public StridedCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity_optional(ctx, 1, 2, 1, 1));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
    std::vector<int64_t> target;
    bool found = false;
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 1, "shape", &target, &found));
    if (!found) return ctx.fail(StatusCode::kInvalidModel, "attribute 'shape' is missing");
    const int64_t rank = std::max<int64_t>(x.rank(), static_cast<int64_t>(target.size()));
    const std::vector<int64_t> in_strides = row_major_strides(x.shape);
    Shape out(rank);
    std::vector<int64_t> strides(rank, 0);
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t xi = d - (rank - x.rank()), ti = d - (rank - static_cast<int64_t>(target.size()));
      const int64_t xd = xi >= 0 ? x.shape[xi] : 1;
      const int64_t td = ti >= 0 ? target[ti] : 1;
      if (td < 0) return ctx.fail(StatusCode::kInvalidModel, "shape " + ints_str(target) + " has a negative dim");
      if (xd != td && xd != 1 && td != 1)
        return ctx.fail(StatusCode::kInvalidModel, "cannot broadcast " + describe("input", x) + " to shape " + ints_str(target));
      out[d] = xd == 1 ? td : xd;
      strides[d] = (xi >= 0 && xd != 1) ? in_strides[xi] : 0;
    }
    if (num_elements(out) < 0) return ctx.fail(StatusCode::kInvalidModel, "output shape " + shape_str(out) + " is too large");
    ctx.out(0).dtype = x.dtype;
    ctx.out(0).shape = out;
    return plan_view(ctx, out, strides, 0, dtype_size(x.dtype), &plan_);
  }
};

}  // namespace

std::unique_ptr<Op> make_expand_op() { return std::make_unique<ExpandOp>(); }

}  // namespace pocket
