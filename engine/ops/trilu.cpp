// Trilu. X [..., N, M]; attrs: upper (default 1), k (default 0), or k as input 1 (a scalar int64
// known at prepare). Keeps the elements with j - i >= k (upper) or j - i <= k (lower) of every
// N x M matrix and zeroes the rest. Any dtype with a whole byte size.
#include <algorithm>
#include <cstring>

#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class TriluOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity_optional(ctx, 1, 2, 1, 1));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
    if (x.rank() < 2) return ctx.fail(StatusCode::kInvalidModel, describe("input", x) + " must have rank >= 2");
    upper_ = ctx.attrs().i("upper", 1) != 0;
    k_ = ctx.attrs().i("k", 0);
    if (ctx.has_input(1)) {
      double f;
      POCKET_RETURN_IF_ERROR(prepare_scalar(ctx, 1, "k", &f, &k_));
      if (ctx.in(1).dtype != DType::I64 && ctx.in(1).dtype != DType::I32)
        return ctx.fail(StatusCode::kInvalidModel, describe("k", ctx.in(1)) + " must be int64");
    }
    rows_ = x.shape[x.rank() - 2];
    cols_ = x.shape[x.rank() - 1];
    elem_ = dtype_size(x.dtype);
    ctx.out(0).dtype = x.dtype;
    ctx.out(0).shape = x.shape;
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const Value& x = ctx.in(0);
    const int64_t matrices = rows_ * cols_ == 0 ? 0 : x.elements() / (rows_ * cols_);
    const size_t row_bytes = static_cast<size_t>(cols_) * elem_;
    const char* src = static_cast<const char*>(x.data);
    char* dst = static_cast<char*>(ctx.out(0).data);
    for (int64_t m = 0; m < matrices; ++m) {
      for (int64_t i = 0; i < rows_; ++i) {
        const int64_t off = (m * rows_ + i) * cols_;
        char* row = dst + off * static_cast<int64_t>(elem_);
        if (src != dst) std::memcpy(row, src + off * static_cast<int64_t>(elem_), row_bytes);
        // Clamp before adding so that a huge k cannot overflow.
        const int64_t diag = std::clamp<int64_t>(k_, -rows_ - 1, cols_ + 1) + i;
        int64_t z0, z1;  // zeroed columns [z0, z1)
        if (upper_) {
          z0 = 0;
          z1 = std::clamp<int64_t>(diag, 0, cols_);
        } else {
          z0 = std::clamp<int64_t>(diag + 1, 0, cols_);
          z1 = cols_;
        }
        if (z1 > z0) std::memset(row + z0 * static_cast<int64_t>(elem_), 0, static_cast<size_t>(z1 - z0) * elem_);
      }
    }
  }
  std::string kernel_name() const override { return "trilu"; }

 private:
  bool upper_ = true;
  int64_t k_ = 0, rows_ = 0, cols_ = 0;
  size_t elem_ = 4;
};

}  // namespace

std::unique_ptr<Op> make_trilu_op() { return std::make_unique<TriluOp>(); }

}  // namespace pocket
