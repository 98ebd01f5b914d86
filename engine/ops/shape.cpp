// Shape. attrs: start (default 0), end (default rank); negative values count from the end and
// both clamp to [0, rank]. Output: int64 vector of the selected dims, written by run() (the
// memory plan may share the output's bytes with tensors that die before this node).
#include <algorithm>

#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class ShapeOp final : public Op {
 public:
  // Reads only the shape: a quantized int8 input is fine as it is.
  bool accepts_quantized(const OpContext&, size_t) const override { return true; }
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1, 1, 1));
    const Value& x = ctx.in(0);
    const int64_t rank = x.rank();
    int64_t start = ctx.attrs().i("start", 0), end = ctx.attrs().i("end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, 0, rank);
    dims_.assign(x.shape.begin() + start, x.shape.begin() + std::max(start, end));
    ctx.out(0).dtype = DType::I64;
    ctx.out(0).shape = {static_cast<int64_t>(dims_.size())};
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    int64_t* y = ctx.out(0).as<int64_t>();
    for (size_t i = 0; i < dims_.size(); ++i) y[i] = dims_[i];
  }
  std::string kernel_name() const override { return "shape"; }

 private:
  std::vector<int64_t> dims_;
};

}  // namespace

std::unique_ptr<Op> make_shape_op() { return std::make_unique<ShapeOp>(); }

}  // namespace pocket
