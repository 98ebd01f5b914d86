// InstanceNormalization: X [N, C, D1, ...] (channels first, rank >= 3), scale [C], B [C], attr
// epsilon (1e-5). y = scale[c] * (x - mean) / sqrt(var + epsilon) + B[c], with mean and the
// (biased) variance over the spatial dims of each (n, c). f32. Two passes per row: mean, then
// the centred sum of squares, so large offsets do not cancel.
#include <cmath>
#include <memory>

#include "engine/ops/ew_common.h"
#include "engine/ops/ew_ops.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/reduce/reduce.h"

namespace pocket::ew {

namespace {

class InstanceNorm final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 3, 3));
    const Value& x = ctx.in(0);
    for (size_t i = 0; i < 3; ++i) POCKET_RETURN_IF_ERROR(require_f32(ctx, ctx.in(i)));
    if (x.rank() < 3)
      return ctx.fail(StatusCode::kInvalidModel, "input " + describe(x) + " must be [N, C, D1, ...] (rank >= 3)");
    const int64_t c = x.shape[1];
    for (size_t i = 1; i < 3; ++i) {
      const Value& v = ctx.in(i);
      if (v.rank() != 1 || v.shape[0] != c)
        return ctx.fail(StatusCode::kInvalidModel, std::string(i == 1 ? "scale " : "B ") + describe(v) +
                                                       " must be [" + std::to_string(c) + "] for input " + describe(x));
    }
    epsilon_ = ctx.attrs().f("epsilon", 1e-5f);
    channels_ = c;
    rows_ = x.shape[0] * c;
    spatial_ = 1;
    for (int64_t d = 2; d < x.rank(); ++d) spatial_ *= x.shape[d];
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = x.shape;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const auto& rk = kernels::reduce_kernels();
    const auto& ek = kernels::elementwise_kernels();
    const float* x = ctx.in(0).as<const float>();
    const float* scale = ctx.in(1).as<const float>();
    const float* bias = ctx.in(2).as<const float>();
    float* y = ctx.out(0).as<float>();
    const size_t s = static_cast<size_t>(spatial_);
    const auto sum_row = rk.reduce_row_f32[static_cast<int>(kernels::ReduceOp::Sum)];
    parallel_for(ctx, rows_, chunk_units(spatial_ * 4), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const float* xr = x + r * spatial_;
        const int64_t c = r % channels_;
        if (s == 0) continue;
        const float mean = sum_row(xr, s) / static_cast<float>(s);
        const float var = rk.sum_sq_dev_f32(xr, s, mean) / static_cast<float>(s);
        const float a = scale[c] / std::sqrt(var + epsilon_);
        ek.affine_f32(xr, y + r * spatial_, s, a, bias[c] - mean * a);
      }
    });
  }

  std::string kernel_name() const override { return kernels::elementwise_kernels().affine_f32_isa; }
  int64_t flops(const OpContext& ctx) const override { return 5 * ctx.outputs[0]->elements(); }

 private:
  float epsilon_ = 1e-5f;
  int64_t channels_ = 1, rows_ = 0, spatial_ = 1;
};

std::unique_ptr<Op> make() { return std::make_unique<InstanceNorm>(); }

}  // namespace

void register_instance_norm(OpTable& table) { table.set(fb::OpType::InstanceNormalization, make); }

}  // namespace pocket::ew
