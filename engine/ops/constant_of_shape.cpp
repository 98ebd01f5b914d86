// ConstantOfShape. attrs: shape (ints, >= 0; or input 0 known at prepare), value (float, default 0), dtype (int
// format DType, default float32). run() fills the output: the memory plan may give its bytes to
// tensors that die before this node, so a fill done once at bind would not survive.
#include <algorithm>
#include <cstring>

#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class ConstantOfShapeOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity_optional(ctx, 0, 1, 1, 1));
    const Attrs a = ctx.attrs();
    std::vector<int64_t> shape;
    bool found = false;
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 0, "shape", &shape, &found));
    for (int64_t d : shape)
      if (d < 0) return ctx.fail(StatusCode::kInvalidModel, "shape " + ints_str(shape) + " has a negative dim");
    if (num_elements(shape) < 0) return ctx.fail(StatusCode::kInvalidModel, "shape " + ints_str(shape) + " is too large");
    const int64_t dt = a.i("dtype", static_cast<int64_t>(DType::F32));
    if (dt < static_cast<int64_t>(DType::MIN) || dt > static_cast<int64_t>(DType::MAX) ||
        dtype_size(static_cast<DType>(dt)) == 0 ||
        !kernels::cast_supported(static_cast<int>(DType::F32), static_cast<int>(dt)))
      return ctx.fail(StatusCode::kUnsupported, "dtype " + std::to_string(dt) + " is not supported");
    dtype_ = static_cast<DType>(dt);
    const float value = a.f("value", 0.f);
    kernels::cast(&value, static_cast<int>(DType::F32), value_, static_cast<int>(dtype_), 1, nullptr);
    ctx.out(0).dtype = dtype_;
    ctx.out(0).shape = shape;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const Value& y = ctx.out(0);
    const size_t e = dtype_size(dtype_);
    const int64_t n = y.elements();
    char* d = static_cast<char*>(y.data);
    if (n == 0) return;
    std::memcpy(d, value_, e);
    // Doubling copies: log2(n) memcpy calls.
    int64_t done = 1;
    while (done < n) {
      const int64_t k = std::min(done, n - done);
      std::memcpy(d + done * static_cast<int64_t>(e), d, static_cast<size_t>(k) * e);
      done += k;
    }
  }
  std::string kernel_name() const override { return "fill"; }

 private:
  DType dtype_ = DType::F32;
  alignas(8) uint8_t value_[8] = {};  // the fill value in dtype_, written by the cast kernel as that type
};

}  // namespace

std::unique_ptr<Op> make_constant_of_shape_op() { return std::make_unique<ConstantOfShapeOp>(); }

}  // namespace pocket
