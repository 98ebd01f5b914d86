// Gather. inputs: data, indices (int64 or int32). attrs: axis (default 0). Output shape is
// data[:axis] + indices.shape + data[axis+1:]. Negative indices count from the end. Constant
// indices are range-checked here; indices that only arrive at run time and are out of range are
// clamped into [0, dim-1] (run cannot fail, and must not read out of bounds).
#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class GatherOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 2, 2, 1, 1));
    const Value& x = ctx.in(0);
    const Value& idx = ctx.in(1);
    POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
    if (idx.dtype != DType::I64 && idx.dtype != DType::I32)
      return ctx.fail(StatusCode::kInvalidModel, describe("indices", idx) + " must be int64 or int32, not " + dtype_name(idx.dtype));
    if (idx.elements() < 0) return ctx.fail(StatusCode::kInvalidModel, describe("indices", idx) + " has no valid shape");
    const int64_t raw_axis = ctx.attrs().i("axis", 0);
    int64_t axis;
    if (!normalize_axis(raw_axis, x.rank(), &axis))
      return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(raw_axis) + " is out of range for " + describe("data", x));
    Shape out(x.shape.begin(), x.shape.begin() + axis);
    out.insert(out.end(), idx.shape.begin(), idx.shape.end());
    out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
    if (num_elements(out) < 0) return ctx.fail(StatusCode::kInvalidModel, "output shape " + shape_str(out) + " is too large");
    i64_ = idx.dtype == DType::I64;
    num_indices_ = idx.elements();
    axis_dim_ = x.shape[axis];
    outer_ = 1;
    inner_bytes_ = static_cast<int64_t>(dtype_size(x.dtype));
    for (int64_t d = 0; d < axis; ++d) outer_ *= x.shape[d];
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner_bytes_ *= x.shape[d];
    if (axis_dim_ == 0 && num_indices_ > 0 && outer_ * inner_bytes_ > 0)
      return ctx.fail(StatusCode::kInvalidModel, "cannot gather " + std::to_string(num_indices_) + " indices from axis " +
                                                     std::to_string(axis) + " of size 0 of " + describe("data", x));
    if (idx.constant && idx.data) {
      for (int64_t j = 0; j < num_indices_; ++j) {
        const int64_t i = i64_ ? idx.as<const int64_t>()[j] : idx.as<const int32_t>()[j];
        if (i < -axis_dim_ || i >= axis_dim_)
          return ctx.fail(StatusCode::kInvalidModel, "index " + std::to_string(i) + " in " + describe("indices", idx) +
                                                         " is out of range for axis " + std::to_string(axis) + " of " +
                                                         describe("data", x));
      }
    }
    ctx.out(0).dtype = x.dtype;
    ctx.out(0).shape = out;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    kernels::gather(ctx.in(0).data, ctx.in(1).data, i64_, num_indices_, outer_, axis_dim_, inner_bytes_,
                    ctx.out(0).data, ctx.pool);
  }
  std::string kernel_name() const override { return "gather"; }

 private:
  bool i64_ = true;
  int64_t num_indices_ = 0, outer_ = 0, axis_dim_ = 0, inner_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_gather_op() { return std::make_unique<GatherOp>(); }

}  // namespace pocket
