// Transpose. attrs: perm (a permutation of 0..rank-1; absent: reverse). Output dim d is input
// dim perm[d]. Runs as a strided copy; [N, C, HW] <-> [N, HW, C] style plans use the tiled 2-D
// transpose kernel.
#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class TransposeOp final : public StridedCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1, 1, 1));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
    const int64_t rank = x.rank();
    std::vector<int64_t> perm = ctx.attrs().ints("perm");
    if (!ctx.attrs().has("perm"))
      for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
    bool ok = static_cast<int64_t>(perm.size()) == rank;
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    for (size_t d = 0; ok && d < perm.size(); ++d) {
      if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]]) ok = false;
      else seen[perm[d]] = true;
    }
    if (!ok)
      return ctx.fail(StatusCode::kInvalidModel, "perm " + ints_str(perm) + " is not a permutation of the " +
                                                     std::to_string(rank) + " axes of " + describe("input", x));
    const std::vector<int64_t> in_strides = row_major_strides(x.shape);
    std::vector<int64_t> dims(rank), strides(rank);
    for (int64_t d = 0; d < rank; ++d) {
      dims[d] = x.shape[perm[d]];
      strides[d] = in_strides[perm[d]];
    }
    ctx.out(0).dtype = x.dtype;
    ctx.out(0).shape = dims;
    return plan_view(ctx, dims, strides, 0, dtype_size(x.dtype), &plan_);
  }
};

}  // namespace

std::unique_ptr<Op> make_transpose_op() { return std::make_unique<TransposeOp>(); }

}  // namespace pocket
