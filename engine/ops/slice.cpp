// Slice. attrs: starts, ends (ints), axes (ints; absent: 0..n-1), steps (ints; absent: 1); each may
// instead be an input known at prepare (1 starts, 2 ends, 3 axes, 4 steps).
// ONNX clamping: negative starts/ends count from the end; then for step > 0 both clamp to
// [0, dim], for step < 0 start clamps to [0, dim-1] and end to [-1, dim-1]. Runs as a strided copy
// (negative steps read backwards).
#include <algorithm>

#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class SliceOp final : public StridedCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity_optional(ctx, 1, 5, 1, 1));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
    const int64_t rank = x.rank();
    std::vector<int64_t> starts, ends, axes, steps;
    bool has_starts = false, has_ends = false, has_axes = false, has_steps = false;
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 1, "starts", &starts, &has_starts));
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 2, "ends", &ends, &has_ends));
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 3, "axes", &axes, &has_axes));
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 4, "steps", &steps, &has_steps));
    if (!has_starts || !has_ends)
      return ctx.fail(StatusCode::kInvalidModel, "attributes 'starts' and 'ends' are required");
    if (starts.size() != ends.size())
      return ctx.fail(StatusCode::kInvalidModel, "starts " + ints_str(starts) + " and ends " + ints_str(ends) +
                                                     " differ in length");
    if (!has_axes)
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (!has_steps) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size())
      return ctx.fail(StatusCode::kInvalidModel, "starts, ends, axes " + ints_str(axes) + " and steps " +
                                                     ints_str(steps) + " must have the same length");
    std::vector<int64_t> begin(rank, 0), step(rank, 1), count(x.shape);
    std::vector<bool> seen(rank, false);
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t d;
      if (!normalize_axis(axes[i], rank, &d))
        return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(axes[i]) + " is out of range for " + describe("input", x));
      if (seen[d]) return ctx.fail(StatusCode::kInvalidModel, "axes " + ints_str(axes) + " repeat an axis");
      seen[d] = true;
      if (steps[i] == 0) return ctx.fail(StatusCode::kInvalidModel, "steps " + ints_str(steps) + " contain 0");
      const int64_t dim = x.shape[d];
      int64_t s = starts[i], e = ends[i];
      const int64_t st = steps[i];
      if (s < 0) s += dim;
      if (e < 0) e += dim;
      if (dim == 0) {
        count[d] = 0;
      } else if (st > 0) {
        s = std::clamp<int64_t>(s, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        count[d] = e > s ? 1 + (e - s - 1) / st : 0;
      } else {
        s = std::clamp<int64_t>(s, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        count[d] = s > e ? 1 + (s - e - 1) / (st == INT64_MIN ? INT64_MAX : -st) : 0;
      }
      begin[d] = s;
      step[d] = st;
    }
    const std::vector<int64_t> in_strides = row_major_strides(x.shape);
    std::vector<int64_t> strides(rank);
    int64_t offset = 0;
    bool empty = false;
    for (int64_t d = 0; d < rank; ++d) {
      strides[d] = in_strides[d] * (count[d] > 1 ? step[d] : 1);
      empty = empty || count[d] == 0;
    }
    if (!empty)
      for (int64_t d = 0; d < rank; ++d) offset += begin[d] * in_strides[d];
    ctx.out(0).dtype = x.dtype;
    ctx.out(0).shape = count;
    return plan_view(ctx, count, strides, offset, dtype_size(x.dtype), &plan_);
  }
};

}  // namespace

std::unique_ptr<Op> make_slice_op() { return std::make_unique<SliceOp>(); }

}  // namespace pocket
