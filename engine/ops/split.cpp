// Split. attrs: axis (default 0), split (ints, one size per output, summing to the axis dim; or
// input 1 known at prepare).
// Without split the dim is divided into equal parts, one per output; when it does not divide
// evenly the parts are ceil(dim / n) with a smaller last part (opset-18 rule).
#include <algorithm>

#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class SplitOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    if (ctx.outputs.empty()) return ctx.fail(StatusCode::kInvalidModel, "needs at least one output");
    POCKET_RETURN_IF_ERROR(check_arity_optional(ctx, 1, 2, 1, ctx.outputs.size()));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
    const int64_t rank = x.rank();
    const int64_t raw_axis = ctx.attrs().i("axis", 0);
    int64_t axis;
    if (!normalize_axis(raw_axis, rank, &axis))
      return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(raw_axis) + " is out of range for " + describe("input", x));
    const int64_t n = static_cast<int64_t>(ctx.outputs.size());
    const int64_t dim = x.shape[axis];
    std::vector<int64_t> sizes;
    bool found = false;
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 1, "split", &sizes, &found));
    if (found) {
      int64_t sum = 0;
      bool ok = static_cast<int64_t>(sizes.size()) == n;
      for (int64_t s : sizes) {
        ok = ok && s >= 0;
        sum += ok ? s : 0;
      }
      if (!ok || sum != dim)
        return ctx.fail(StatusCode::kInvalidModel, "split " + ints_str(sizes) + " must give " + std::to_string(n) +
                                                       " non-negative sizes summing to dim " + std::to_string(axis) +
                                                       " of " + describe("input", x));
    } else {
      const int64_t part = (dim + n - 1) / n;
      int64_t left = dim;
      for (int64_t i = 0; i < n; ++i) {
        sizes.push_back(std::min(part, left));
        left -= sizes.back();
      }
    }
    const int64_t elem = static_cast<int64_t>(dtype_size(x.dtype));
    outer_ = 1;
    int64_t inner = elem;
    for (int64_t d = 0; d < axis; ++d) outer_ *= x.shape[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape[d];
    in_block_ = dim * inner;
    blocks_.clear();
    int64_t offset = 0;
    for (int64_t i = 0; i < n; ++i) {
      Shape s = x.shape;
      s[axis] = sizes[i];
      ctx.out(i).dtype = x.dtype;
      ctx.out(i).shape = s;
      blocks_.push_back({offset, sizes[i] * inner});
      offset += sizes[i] * inner;
    }
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const char* src = static_cast<const char*>(ctx.in(0).data);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const Block& b = blocks_[i];
      kernels::block_copy(src + b.offset, in_block_, ctx.out(i).data, b.bytes, b.bytes, outer_, ctx.pool);
    }
  }
  std::string kernel_name() const override { return "block_copy"; }

 private:
  struct Block {
    int64_t offset, bytes;  // within one input block
  };
  std::vector<Block> blocks_;
  int64_t outer_ = 0, in_block_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_split_op() { return std::make_unique<SplitOp>(); }

}  // namespace pocket
