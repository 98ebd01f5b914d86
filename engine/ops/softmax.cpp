// Softmax and LogSoftmax (opset-13 meaning): normalise along one axis (attr axis, default -1).
// f32 only. The axis may be any: the input is viewed as [outer, n, inner] and the kernel walks
// n elements `inner` apart, several adjacent columns at a time. Numerically stable: the max is
// subtracted, so -inf and -3.4e38 mask values give exact zeros and no NaN as long as a row has
// one finite value.
#include <memory>

#include "engine/ops/ew_common.h"
#include "engine/ops/ew_ops.h"
#include "kernels/reduce/reduce.h"

namespace pocket::ew {

namespace {

// Adjacent columns per work unit when the axis is not the last one.
constexpr int64_t kColumnBlock = 64;

class Softmax final : public Op {
 public:
  explicit Softmax(bool log) : log_(log) {}

  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(require_f32(ctx, x));
    if (x.rank() == 0) return ctx.fail(StatusCode::kInvalidModel, "input " + describe(x) + " must have rank >= 1");
    int64_t axis = 0;
    const int64_t attr_axis = ctx.attrs().i("axis", -1);
    if (!normalize_axis(attr_axis, x.rank(), &axis))
      return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(attr_axis) + " is out of range for input " + describe(x));
    outer_ = n_ = inner_ = 1;
    for (int64_t d = 0; d < x.rank(); ++d) {
      if (d < axis) outer_ *= x.shape[d];
      else if (d == axis) n_ = x.shape[d];
      else inner_ *= x.shape[d];
    }
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = x.shape;
    const auto& k = kernels::reduce_kernels();
    fn_ = log_ ? k.log_softmax_f32 : k.softmax_f32;
    isa_ = k.softmax_isa;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    if (outer_ * n_ * inner_ == 0) return;
    const float* x = ctx.in(0).as<const float>();
    float* y = ctx.out(0).as<float>();
    const size_t n = static_cast<size_t>(n_);
    if (inner_ == 1) {
      parallel_for(ctx, outer_, chunk_units(n_ * 4), [&](int64_t s, int64_t e) {
        for (int64_t o = s; o < e; ++o) fn_(x + o * n_, y + o * n_, n, 1, 1);
      });
      return;
    }
    const int64_t blocks = (inner_ + kColumnBlock - 1) / kColumnBlock;
    parallel_for(ctx, outer_ * blocks, chunk_units(n_ * kColumnBlock * 4), [&](int64_t s, int64_t e) {
      for (int64_t u = s; u < e; ++u) {
        const int64_t o = u / blocks, c0 = (u % blocks) * kColumnBlock;
        const int64_t cols = std::min(kColumnBlock, inner_ - c0);
        const int64_t off = o * n_ * inner_ + c0;
        fn_(x + off, y + off, n, static_cast<size_t>(inner_), static_cast<size_t>(cols));
      }
    });
  }

  std::string kernel_name() const override { return isa_; }
  int64_t flops(const OpContext& ctx) const override { return 4 * ctx.outputs[0]->elements(); }

 private:
  bool log_;
  int64_t outer_ = 1, n_ = 1, inner_ = 1;
  kernels::SoftmaxF32Fn fn_ = nullptr;
  const char* isa_ = "scalar";
};

std::unique_ptr<Op> make_softmax() { return std::make_unique<Softmax>(false); }
std::unique_ptr<Op> make_log_softmax() { return std::make_unique<Softmax>(true); }

}  // namespace

void register_softmax_ops(OpTable& table) {
  table.set(fb::OpType::Softmax, make_softmax);
  table.set(fb::OpType::LogSoftmax, make_log_softmax);
}

}  // namespace pocket::ew
