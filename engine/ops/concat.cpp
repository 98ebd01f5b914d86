// Concat. attrs: axis (negative counts from the end). 1..n inputs of one dtype and rank whose
// dims match except on the axis. Each input is `outer` contiguous blocks copied into its slot
// of the output's blocks.
#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class ConcatOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    if (ctx.inputs.empty()) return ctx.fail(StatusCode::kInvalidModel, "needs at least one input");
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, ctx.inputs.size(), 1, 1));
    const Value& x0 = ctx.in(0);
    for (size_t i = 0; i < ctx.inputs.size(); ++i) POCKET_RETURN_IF_ERROR(check_movable(ctx, ctx.in(i)));
    const int64_t rank = x0.rank();
    const int64_t raw_axis = ctx.attrs().i("axis", 0);
    int64_t axis;
    if (rank == 0 || !normalize_axis(raw_axis, rank, &axis))
      return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(raw_axis) + " is out of range for " + describe("input", x0));
    Shape out = x0.shape;
    out[axis] = 0;
    for (size_t i = 0; i < ctx.inputs.size(); ++i) {
      const Value& x = ctx.in(i);
      if (x.dtype != x0.dtype)
        return ctx.fail(StatusCode::kInvalidModel, describe("input", x) + " is " + dtype_name(x.dtype) + " but " +
                                                       describe("input", x0) + " is " + dtype_name(x0.dtype));
      bool ok = x.rank() == rank;
      for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis || x.shape[d] == x0.shape[d];
      if (!ok)
        return ctx.fail(StatusCode::kInvalidModel, describe("input", x) + " does not match " + describe("input", x0) +
                                                       " outside axis " + std::to_string(axis));
      out[axis] += x.shape[axis];
    }
    const int64_t elem = static_cast<int64_t>(dtype_size(x0.dtype));
    outer_ = 1;
    int64_t inner = elem;
    for (int64_t d = 0; d < axis; ++d) outer_ *= out[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= out[d];
    out_block_ = out[axis] * inner;
    blocks_.clear();
    int64_t offset = 0;
    for (size_t i = 0; i < ctx.inputs.size(); ++i) {
      const int64_t block = ctx.in(i).shape[axis] * inner;
      blocks_.push_back({offset, block});
      offset += block;
    }
    ctx.out(0).dtype = x0.dtype;
    ctx.out(0).shape = out;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    char* dst = static_cast<char*>(ctx.out(0).data);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const Block& b = blocks_[i];
      kernels::block_copy(ctx.in(i).data, b.bytes, dst + b.offset, out_block_, b.bytes, outer_, ctx.pool);
    }
  }
  std::string kernel_name() const override { return "block_copy"; }

 private:
  struct Block {
    int64_t offset, bytes;  // within one output block
  };
  std::vector<Block> blocks_;
  int64_t outer_ = 0, out_block_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_concat_op() { return std::make_unique<ConcatOp>(); }

}  // namespace pocket
