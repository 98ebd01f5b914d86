// GlobalAveragePool and GlobalMaxPool, channels-last: X [N,H,W,C] -> [N,1,1,C]. Channels are
// contiguous, so both are vector sums/maxima over H*W rows (kernels/pool/, AVX2/NEON/scalar),
// a few channel vectors held in registers across all pixels.
#include <string>

#include "engine/ops/nn_common.h"
#include "engine/ops/nn_ops.h"
#include "kernels/pool/pool_f32.h"

namespace pocket {

namespace {

class GlobalPoolOp final : public Op {
 public:
  explicit GlobalPoolOp(bool is_max) : max_(is_max) {}

  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 0, 4, "input X"));
    const Value& x = ctx.in(0);
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = {x.shape[0], 1, 1, x.shape[3]};
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const Value& x = ctx.in(0);
    const int64_t n = x.shape[0], pixels = x.shape[1] * x.shape[2], c = x.shape[3];
    if (max_) kernels::global_max_pool_f32(n, pixels, c, x.as<float>(), ctx.out(0).as<float>(), ctx.pool);
    else kernels::global_avg_pool_f32(n, pixels, c, x.as<float>(), ctx.out(0).as<float>(), ctx.pool);
  }

  std::string kernel_name() const override {
    return std::string(max_ ? "pocket.globalmaxpool." : "pocket.globalavgpool.") + kernels::pool_f32_kernel().name;
  }
  int64_t flops(const OpContext& ctx) const override { return ctx.in(0).elements(); }

 private:
  bool max_;
};

}  // namespace

std::unique_ptr<Op> make_global_average_pool() { return std::make_unique<GlobalPoolOp>(false); }
std::unique_ptr<Op> make_global_max_pool() { return std::make_unique<GlobalPoolOp>(true); }

}  // namespace pocket
