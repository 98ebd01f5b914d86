// LayerNormalization and RMSNormalization over the trailing dims of X, from attr axis (-1) on.
//   LayerNormalization: X, Scale, B (optional); epsilon (1e-5).
//     y = (x - mean) / sqrt(var + epsilon) * Scale + B   (biased variance)
//   RMSNormalization: X, Scale (optional); epsilon (1e-6).
//     y = x / sqrt(mean(x^2) + epsilon) * Scale
// f32. Scale and B hold the normalised dims' shape (leading 1s allowed). One output (ONNX's
// optional Mean / InvStdDev outputs are not produced). Rows of the normalised size are split over
// the pool in chunks of >= 16 KiB; each row is one statistics pass and one scaling pass
// (kernels/norm).
#include <memory>

#include "engine/ops/ew_ops.h"
#include "engine/ops/ew_common.h"
#include "kernels/norm/layernorm_f32.h"

namespace pocket::ew {

namespace {

// Shape without its leading 1s.
Shape strip_leading_ones(const Shape& s) {
  size_t k = 0;
  while (k < s.size() && s[k] == 1) ++k;
  return Shape(s.begin() + static_cast<std::ptrdiff_t>(k), s.end());
}

class RowNorm final : public Op {
 public:
  explicit RowNorm(bool rms) : rms_(rms) {}

  Status prepare(OpContext& ctx) override {
    const char* op = rms_ ? "RMSNormalization" : "LayerNormalization";
    POCKET_RETURN_IF_ERROR(check_arity(ctx, rms_ ? 1 : 2, rms_ ? 2 : 3));
    const Value& x = ctx.in(0);
    for (size_t i = 0; i < ctx.inputs.size(); ++i) POCKET_RETURN_IF_ERROR(require_f32(ctx, ctx.in(i)));
    if (x.rank() == 0) return ctx.fail(StatusCode::kInvalidModel, "input " + describe(x) + " must have rank >= 1");
    const int64_t attr_axis = ctx.attrs().i("axis", -1);
    int64_t axis = 0;
    if (!normalize_axis(attr_axis, x.rank(), &axis))
      return ctx.fail(StatusCode::kInvalidModel,
                      "axis " + std::to_string(attr_axis) + " is out of range for input " + describe(x));
    const Shape norm_dims(x.shape.begin() + axis, x.shape.end());
    n_ = num_elements(norm_dims);
    rows_ = num_elements(Shape(x.shape.begin(), x.shape.begin() + axis));
    if (n_ == 0 && rows_ != 0)
      return ctx.fail(StatusCode::kInvalidModel, std::string(op) + " over an empty axis of input " + describe(x));
    for (size_t i = 1; i < ctx.inputs.size(); ++i) {
      const Value& p = ctx.in(i);
      if (strip_leading_ones(p.shape) != strip_leading_ones(norm_dims))
        return ctx.fail(StatusCode::kInvalidModel, std::string(i == 1 ? "Scale " : "B ") + describe(p) + " must have shape " +
                                                       shape_str(norm_dims) + " (the dims of input " + describe(x) +
                                                       " from axis " + std::to_string(axis) + ")");
    }
    epsilon_ = ctx.attrs().f("epsilon", rms_ ? 1e-6f : 1e-5f);
    if (!(epsilon_ >= 0.f))
      return ctx.fail(StatusCode::kInvalidModel, "epsilon " + std::to_string(epsilon_) + " must be >= 0");
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = x.shape;
    kernels_ = &kernels::norm_f32_kernels();
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    if (rows_ == 0) return;
    const float* x = ctx.in(0).as<const float>();
    const float* scale = ctx.has_input(1) ? ctx.in(1).as<const float>() : nullptr;
    const float* bias = ctx.has_input(2) ? ctx.in(2).as<const float>() : nullptr;
    float* y = ctx.out(0).as<float>();
    const size_t n = static_cast<size_t>(n_);
    parallel_for(ctx, rows_, chunk_units(n_ * 4), [&](int64_t s, int64_t e) {
      const size_t rows = static_cast<size_t>(e - s);
      if (rms_) kernels_->rmsnorm(x + s * n_, y + s * n_, rows, n, scale, epsilon_);
      else kernels_->layernorm(x + s * n_, y + s * n_, rows, n, scale, bias, epsilon_);
    });
  }

  std::string kernel_name() const override { return kernels_ ? kernels_->isa : "scalar"; }
  int64_t flops(const OpContext& ctx) const override { return (rms_ ? 4 : 8) * ctx.outputs[0]->elements(); }

 private:
  bool rms_;
  float epsilon_ = 1e-5f;
  int64_t rows_ = 0, n_ = 1;
  const kernels::NormF32Kernels* kernels_ = nullptr;
};

std::unique_ptr<Op> make_layer_norm() { return std::make_unique<RowNorm>(false); }
std::unique_ptr<Op> make_rms_norm() { return std::make_unique<RowNorm>(true); }

}  // namespace

void register_layer_norm_ops(OpTable& table) {
  table.set(fb::OpType::LayerNormalization, make_layer_norm);
  table.set(fb::OpType::RMSNormalization, make_rms_norm);
}

}  // namespace pocket::ew
