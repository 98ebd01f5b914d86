// DepthToSpace and SpaceToDepth on X [N, C, H, W] (channels first, as in ONNX).
//   DepthToSpace attrs: blocksize b, mode "DCR" (default) or "CRD"; output [N, C/b^2, H*b, W*b]
//   SpaceToDepth attrs: blocksize b; output [N, C*b^2, H/b, W/b]
// Both are a reshape-transpose-reshape, run as one strided copy.
#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

// Output dims/strides of transposing a contiguous view of shape `view` by `perm`.
void permuted_view(const std::vector<int64_t>& view, const std::vector<int64_t>& perm, std::vector<int64_t>* dims,
                   std::vector<int64_t>* strides) {
  const std::vector<int64_t> s = row_major_strides(view);
  dims->resize(perm.size());
  strides->resize(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) {
    (*dims)[d] = view[perm[d]];
    (*strides)[d] = s[perm[d]];
  }
}

Status check_4d(OpContext& ctx, int64_t* b) {
  POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1, 1, 1));
  const Value& x = ctx.in(0);
  POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
  if (x.rank() != 4) return ctx.fail(StatusCode::kInvalidModel, describe("input", x) + " must be 4-D [N, C, H, W]");
  *b = ctx.attrs().i("blocksize", 0);
  if (*b <= 0 || *b > (int64_t{1} << 20))
    return ctx.fail(StatusCode::kInvalidModel, "blocksize " + std::to_string(*b) + " must be positive");
  return Status::Ok();
}

class DepthToSpaceOp final : public StridedCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    int64_t b;
    POCKET_RETURN_IF_ERROR(check_4d(ctx, &b));
    const Value& x = ctx.in(0);
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    if (c % (b * b) != 0)
      return ctx.fail(StatusCode::kInvalidModel, "channels of " + describe("input", x) + " are not a multiple of blocksize^2 = " +
                                                     std::to_string(b * b));
    const std::string mode = ctx.attrs().s("mode", "DCR");
    const int64_t oc = c / (b * b);
    std::vector<int64_t> dims, strides;
    if (mode == "DCR") {
      permuted_view({n, b, b, oc, h, w}, {0, 3, 4, 1, 5, 2}, &dims, &strides);
    } else if (mode == "CRD") {
      permuted_view({n, oc, b, b, h, w}, {0, 1, 4, 2, 5, 3}, &dims, &strides);
    } else {
      return ctx.fail(StatusCode::kInvalidModel, "mode '" + mode + "' must be DCR or CRD");
    }
    ctx.out(0).dtype = x.dtype;
    ctx.out(0).shape = {n, oc, h * b, w * b};
    return plan_view(ctx, dims, strides, 0, dtype_size(x.dtype), &plan_);
  }
};

class SpaceToDepthOp final : public StridedCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    int64_t b;
    POCKET_RETURN_IF_ERROR(check_4d(ctx, &b));
    const Value& x = ctx.in(0);
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
    if (h % b != 0 || w % b != 0)
      return ctx.fail(StatusCode::kInvalidModel, "height and width of " + describe("input", x) +
                                                     " are not multiples of blocksize " + std::to_string(b));
    std::vector<int64_t> dims, strides;
    permuted_view({n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4}, &dims, &strides);
    ctx.out(0).dtype = x.dtype;
    ctx.out(0).shape = {n, c * b * b, h / b, w / b};
    return plan_view(ctx, dims, strides, 0, dtype_size(x.dtype), &plan_);
  }
};

}  // namespace

std::unique_ptr<Op> make_depth_to_space_op() { return std::make_unique<DepthToSpaceOp>(); }
std::unique_ptr<Op> make_space_to_depth_op() { return std::make_unique<SpaceToDepthOp>(); }

}  // namespace pocket
