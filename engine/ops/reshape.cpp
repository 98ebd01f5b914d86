// Reshape, Flatten, Squeeze, Unsqueeze: a new shape over the same bytes.
//   Reshape   attrs: shape (ints; 0 copies the input dim unless allowzero=1, one -1 is inferred)
//   Flatten   attrs: axis (default 1, in [-rank, rank])
//   Squeeze   attrs: axes (ints; absent: every dim of size 1)
//   Unsqueeze attrs: axes (ints, positions in the output)
// Reshape's shape and Squeeze/Unsqueeze's axes may instead be input 1, known at prepare.
// The session gives the output the input's bytes (Op::alias_input), so run() does nothing.
#include <algorithm>

#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

Status start_reshape_like(OpContext& ctx, size_t max_inputs = 1) {
  POCKET_RETURN_IF_ERROR(check_arity_optional(ctx, 1, max_inputs, 1, 1));
  POCKET_RETURN_IF_ERROR(check_movable(ctx, ctx.in(0)));
  ctx.out(0).dtype = ctx.in(0).dtype;
  return Status::Ok();
}

class ReshapeOp final : public ByteCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(start_reshape_like(ctx, 2));
    const Value& x = ctx.in(0);
    const Attrs a = ctx.attrs();
    std::vector<int64_t> spec;
    bool found = false;
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 1, "shape", &spec, &found));
    if (!found) return ctx.fail(StatusCode::kInvalidModel, "attribute 'shape' is missing");
    const bool allow_zero = a.i("allowzero", 0) != 0;
    Shape out(spec.size());
    int infer = -1;
    int64_t known = 1;
    for (size_t d = 0; d < spec.size(); ++d) {
      int64_t v = spec[d];
      if (v == -1) {
        if (infer >= 0) return ctx.fail(StatusCode::kInvalidModel, "shape " + ints_str(spec) + " has more than one -1");
        infer = static_cast<int>(d);
        continue;
      }
      if (v == 0 && !allow_zero) {
        if (d >= x.shape.size())
          return ctx.fail(StatusCode::kInvalidModel, "shape " + ints_str(spec) + " copies dim " + std::to_string(d) +
                                                         " (0) but " + describe("input", x) + " has rank " +
                                                         std::to_string(x.rank()));
        v = x.shape[d];
      }
      if (v < 0) return ctx.fail(StatusCode::kInvalidModel, "shape " + ints_str(spec) + " has a negative dim");
      out[d] = v;
      if (v != 0 && known > INT64_MAX / v)
        return ctx.fail(StatusCode::kInvalidModel, "shape " + ints_str(spec) + " is too large");
      known *= v;
    }
    const int64_t n = x.elements();
    if (infer >= 0) {
      if (known == 0 || n % known != 0)
        return ctx.fail(StatusCode::kInvalidModel, "cannot reshape " + describe("input", x) + " (" + std::to_string(n) +
                                                       " elements) to " + ints_str(spec));
      out[infer] = n / known;
    } else if (known != n) {
      return ctx.fail(StatusCode::kInvalidModel, "cannot reshape " + describe("input", x) + " (" + std::to_string(n) +
                                                     " elements) to " + ints_str(spec) + " (" + std::to_string(known) +
                                                     " elements)");
    }
    ctx.out(0).shape = out;
    return Status::Ok();
  }
};

class FlattenOp final : public ByteCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(start_reshape_like(ctx));
    const Value& x = ctx.in(0);
    int64_t axis = ctx.attrs().i("axis", 1);
    if (axis < -x.rank() || axis > x.rank())
      return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(axis) + " is out of range for " + describe("input", x));
    if (axis < 0) axis += x.rank();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < x.rank(); ++d) (d < axis ? outer : inner) *= x.shape[d];
    ctx.out(0).shape = {outer, inner};
    return Status::Ok();
  }
};

class SqueezeOp final : public ByteCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(start_reshape_like(ctx, 2));
    const Value& x = ctx.in(0);
    std::vector<bool> drop(x.shape.size(), false);
    std::vector<int64_t> axes;
    bool found = false;
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 1, "axes", &axes, &found));
    if (found && ctx.has_input(1) && axes.empty()) found = false;  // an empty axes input: every dim of size 1
    if (found) {
      for (int64_t axis : axes) {
        int64_t d;
        if (!normalize_axis(axis, x.rank(), &d))
          return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(axis) + " is out of range for " + describe("input", x));
        if (x.shape[d] != 1)
          return ctx.fail(StatusCode::kInvalidModel, "cannot squeeze axis " + std::to_string(axis) + " of " +
                                                         describe("input", x) + ": its size is not 1");
        drop[d] = true;
      }
    } else {
      for (size_t d = 0; d < x.shape.size(); ++d) drop[d] = x.shape[d] == 1;
    }
    Shape out;
    for (size_t d = 0; d < x.shape.size(); ++d)
      if (!drop[d]) out.push_back(x.shape[d]);
    ctx.out(0).shape = out;
    return Status::Ok();
  }
};

class UnsqueezeOp final : public ByteCopyOp {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(start_reshape_like(ctx, 2));
    const Value& x = ctx.in(0);
    std::vector<int64_t> axes;
    bool found = false;
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 1, "axes", &axes, &found));
    if (axes.empty()) return ctx.fail(StatusCode::kInvalidModel, "attribute 'axes' is missing or empty");
    const int64_t rank = x.rank() + static_cast<int64_t>(axes.size());
    std::vector<bool> inserted(static_cast<size_t>(rank), false);
    for (int64_t axis : axes) {
      int64_t d;
      if (!normalize_axis(axis, rank, &d))
        return ctx.fail(StatusCode::kInvalidModel, "axes " + ints_str(axes) + " are out of range for output rank " +
                                                       std::to_string(rank) + " of " + describe("input", x));
      if (inserted[d]) return ctx.fail(StatusCode::kInvalidModel, "axes " + ints_str(axes) + " repeat an axis");
      inserted[d] = true;
    }
    Shape out;
    size_t k = 0;
    for (int64_t d = 0; d < rank; ++d) out.push_back(inserted[d] ? 1 : x.shape[k++]);
    ctx.out(0).shape = out;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Op> make_reshape_op() { return std::make_unique<ReshapeOp>(); }
std::unique_ptr<Op> make_flatten_op() { return std::make_unique<FlattenOp>(); }
std::unique_ptr<Op> make_squeeze_op() { return std::make_unique<SqueezeOp>(); }
std::unique_ptr<Op> make_unsqueeze_op() { return std::make_unique<UnsqueezeOp>(); }

}  // namespace pocket
