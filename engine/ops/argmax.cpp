// ArgMax, ArgMin: attrs axis (0), keepdims (1), select_last_index (0). Input f32, i32 or i64;
// output i64 indices along the axis (first occurrence of the extreme value, or the last).
#include <memory>

#include "engine/ops/ew_common.h"
#include "engine/ops/ew_ops.h"
#include "kernels/reduce/reduce.h"

namespace pocket::ew {

namespace {

class ArgMax final : public Op {
 public:
  explicit ArgMax(bool is_min) : is_min_(is_min) {}

  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1));
    const Value& x = ctx.in(0);
    if (x.dtype != DType::F32 && x.dtype != DType::I32 && x.dtype != DType::I64)
      return ctx.fail(StatusCode::kUnsupported, "input " + describe(x) + ": dtype not supported (f32, i32, i64)");
    if (x.rank() == 0) return ctx.fail(StatusCode::kInvalidModel, "input " + describe(x) + " must have rank >= 1");
    const Attrs a = ctx.attrs();
    const int64_t attr_axis = a.i("axis", 0);
    int64_t axis = 0;
    if (!normalize_axis(attr_axis, x.rank(), &axis))
      return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(attr_axis) + " is out of range for input " + describe(x));
    if (x.shape[axis] == 0) {
      // An empty axis has no arg-max; only legal when the output is empty too.
      bool other_empty = false;
      for (int64_t d = 0; d < x.rank(); ++d) other_empty |= d != axis && x.shape[d] == 0;
      if (!other_empty)
        return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(attr_axis) + " of input " + describe(x) + " is empty");
    }
    last_ = a.i("select_last_index", 0) != 0;
    const bool keepdims = a.i("keepdims", 1) != 0;
    outer_ = n_ = inner_ = 1;
    Value& y = ctx.out(0);
    y.dtype = DType::I64;
    y.shape.clear();
    for (int64_t d = 0; d < x.rank(); ++d) {
      if (d < axis) outer_ *= x.shape[d];
      else if (d == axis) n_ = x.shape[d];
      else inner_ *= x.shape[d];
      if (d != axis) y.shape.push_back(x.shape[d]);
      else if (keepdims) y.shape.push_back(1);
    }
    dtype_ = x.dtype;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    if (outer_ * inner_ == 0 || n_ == 0) return;
    const auto& k = kernels::reduce_kernels();
    int64_t* y = ctx.out(0).as<int64_t>();
    const int64_t row = n_ * inner_;
    parallel_for(ctx, outer_, chunk_units(row * 4), [&](int64_t s, int64_t e) {
      const size_t cnt = static_cast<size_t>(e - s), n = static_cast<size_t>(n_), in = static_cast<size_t>(inner_);
      switch (dtype_) {
        case DType::I32: k.argmax_i32(ctx.in(0).as<const int32_t>() + s * row, y + s * inner_, cnt, n, in, is_min_, last_); break;
        case DType::I64: k.argmax_i64(ctx.in(0).as<const int64_t>() + s * row, y + s * inner_, cnt, n, in, is_min_, last_); break;
        default: k.argmax_f32(ctx.in(0).as<const float>() + s * row, y + s * inner_, cnt, n, in, is_min_, last_); break;
      }
    });
  }

  std::string kernel_name() const override { return "scalar"; }
  int64_t flops(const OpContext& ctx) const override { return ctx.inputs[0]->elements(); }

 private:
  bool is_min_;
  bool last_ = false;
  DType dtype_ = DType::F32;
  int64_t outer_ = 1, n_ = 1, inner_ = 1;
};

std::unique_ptr<Op> make_argmax() { return std::make_unique<ArgMax>(false); }
std::unique_ptr<Op> make_argmin() { return std::make_unique<ArgMax>(true); }

}  // namespace

void register_argmax_ops(OpTable& table) {
  table.set(fb::OpType::ArgMax, make_argmax);
  table.set(fb::OpType::ArgMin, make_argmin);
}

}  // namespace pocket::ew
