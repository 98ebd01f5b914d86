// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL2 on f32.
// Attrs: axes (ints; absent or empty: all axes, unless noop_with_empty_axes = 1, then Y = X),
// keepdims (1), noop_with_empty_axes (0). Any set of axes: the input is collapsed into alternating
// kept/reduced groups; the innermost group is a contiguous row that is either reduced to one
// value (row reduction) or folded into an output row (row accumulation), and an odometer walks
// the outer groups. Work is split over the outermost kept group, or over columns for [R, K].
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/ops/ew_common.h"
#include "engine/ops/ew_ops.h"
#include "kernels/reduce/reduce.h"

namespace pocket::ew {

namespace {

using kernels::ReduceOp;

enum class Kind { Mean, Sum, Max, Min, Prod, L2 };

constexpr int kMaxGroups = 16;

class Reduce final : public Op {
 public:
  explicit Reduce(Kind kind) : kind_(kind) {
    switch (kind) {
      case Kind::Max: op_ = ReduceOp::Max; break;
      case Kind::Min: op_ = ReduceOp::Min; break;
      case Kind::Prod: op_ = ReduceOp::Prod; break;
      case Kind::L2: op_ = ReduceOp::SumSquares; break;
      default: op_ = ReduceOp::Sum; break;
    }
  }

  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(require_f32(ctx, x));
    const Attrs a = ctx.attrs();
    const std::vector<int64_t> axes = a.ints("axes");
    const bool keepdims = a.i("keepdims", 1) != 0;
    const int64_t rank = x.rank();
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    copy_ = axes.empty() && a.i("noop_with_empty_axes", 0) != 0;
    if (copy_) {
      y.shape = x.shape;
      return Status::Ok();
    }
    std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
    for (int64_t ax : axes) {
      int64_t d = 0;
      if (!normalize_axis(ax, rank, &d))
        return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(ax) + " is out of range for input " + describe(x));
      if (reduced[d]) return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(ax) + " is listed twice");
      reduced[d] = true;
    }
    y.shape.clear();
    count_ = 1;
    for (int64_t d = 0; d < rank; ++d) {
      if (reduced[d]) count_ *= x.shape[d];
      if (!reduced[d]) y.shape.push_back(x.shape[d]);
      else if (keepdims) y.shape.push_back(1);
    }
    // Collapse: drop size-1 dims, merge neighbours with the same role.
    groups_ = 0;
    for (int64_t d = 0; d < rank; ++d) {
      if (x.shape[d] == 1) continue;
      if (groups_ > 0 && red_[groups_ - 1] == reduced[d]) {
        dims_[groups_ - 1] *= x.shape[d];
        continue;
      }
      if (groups_ == kMaxGroups)
        return ctx.fail(StatusCode::kUnsupported, "axes of input " + describe(x) + " alternate too often");
      dims_[groups_] = x.shape[d];
      red_[groups_] = reduced[d];
      ++groups_;
    }
    if (groups_ == 0) {  // a single element
      dims_[0] = 1;
      red_[0] = true;
      groups_ = 1;
    }
    int64_t xs = 1, ys = 1;
    for (int g = groups_ - 1; g >= 0; --g) {
      x_stride_[g] = xs;
      xs *= dims_[g];
      y_stride_[g] = red_[g] ? 0 : ys;
      if (!red_[g]) ys *= dims_[g];
    }
    in_elems_ = x.elements();
    out_elems_ = num_elements(y.shape);
    isa_ = kernels::reduce_kernels().reduce_isa[static_cast<int>(op_)];
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    const float* x = ctx.in(0).as<const float>();
    float* y = ctx.out(0).as<float>();
    if (copy_) {
      if (ctx.in(0).bytes()) std::memcpy(y, x, ctx.in(0).bytes());
      return;
    }
    if (out_elems_ == 0) return;
    if (in_elems_ == 0) {  // reductions over nothing: the identity
      fill(y, out_elems_);
      finish(y, out_elems_);
      return;
    }
    if (groups_ >= 2 && !red_[0]) {
      // Split the outermost kept group: each block owns its slice of y.
      const int64_t per = x_stride_[0] * 4;
      parallel_for(ctx, dims_[0], chunk_units(per), [&](int64_t s, int64_t e) { block(x, y, s, e); });
    } else if (groups_ == 2 && red_[0] && !red_[1]) {
      // [R, K] reduced over R: split the K columns.
      const int64_t r = dims_[0], k = dims_[1];
      parallel_for(ctx, k, chunk_units(4 * r), [&](int64_t s, int64_t e) {
        const auto acc = kernels::reduce_kernels().accumulate_row_f32[static_cast<int>(op_)];
        fill(y + s, e - s);
        for (int64_t i = 0; i < r; ++i) acc(x + i * k + s, y + s, static_cast<size_t>(e - s));
        finish(y + s, e - s);
      });
    } else {
      block(x, y, 0, dims_[0]);
    }
  }

  std::string kernel_name() const override { return isa_; }
  int64_t flops(const OpContext& ctx) const override { return ctx.inputs[0]->elements(); }

 private:
  void fill(float* y, int64_t n) const {
    const float id = kernels::reduce_identity(op_);
    for (int64_t i = 0; i < n; ++i) y[i] = id;
  }

  void finish(float* y, int64_t n) const {
    if (kind_ == Kind::Mean) {
      const float inv = 1.f / static_cast<float>(count_);
      for (int64_t i = 0; i < n; ++i) y[i] *= inv;
    } else if (kind_ == Kind::L2) {
      for (int64_t i = 0; i < n; ++i) y[i] = std::sqrt(y[i]);
    }
  }

  // Group-0 indices [lo, hi): with group 0 kept this is its own slice of y; otherwise the whole.
  void block(const float* x, float* y, int64_t lo, int64_t hi) const {
    const auto& k = kernels::reduce_kernels();
    const int op = static_cast<int>(op_);
    const int last = groups_ - 1;
    const size_t row = static_cast<size_t>(dims_[last]);
    float* y_begin = red_[0] ? y : y + lo * y_stride_[0];
    const int64_t y_len = red_[0] ? out_elems_ : (hi - lo) * y_stride_[0];
    fill(y_begin, y_len);
    if (groups_ == 1) {
      if (red_[0]) y[0] = k.reduce_row_f32[op](x, row);
      else k.accumulate_row_f32[op](x + lo, y + lo, static_cast<size_t>(hi - lo));
      finish(y_begin, y_len);
      return;
    }
    int64_t idx[kMaxGroups] = {};
    idx[0] = lo;
    int64_t xo = lo * x_stride_[0], yo = lo * y_stride_[0];
    const auto reduce = k.reduce_row_f32[op];
    const auto accumulate = k.accumulate_row_f32[op];
    while (true) {
      if (red_[last]) y[yo] = kernels::reduce_combine(op_ == ReduceOp::SumSquares ? ReduceOp::Sum : op_, y[yo], reduce(x + xo, row));
      else accumulate(x + xo, y + yo, row);
      int d = last - 1;
      for (; d >= 0; --d) {
        ++idx[d];
        xo += x_stride_[d];
        yo += y_stride_[d];
        const int64_t end = d == 0 ? hi : dims_[d];
        if (idx[d] < end) break;
        const int64_t start = d == 0 ? lo : 0;
        xo -= (idx[d] - start) * x_stride_[d];
        yo -= (idx[d] - start) * y_stride_[d];
        idx[d] = start;
      }
      if (d < 0) break;
    }
    finish(y_begin, y_len);
  }

  Kind kind_;
  ReduceOp op_;
  bool copy_ = false;
  int groups_ = 0;
  int64_t dims_[kMaxGroups] = {};
  bool red_[kMaxGroups] = {};
  int64_t x_stride_[kMaxGroups] = {};
  int64_t y_stride_[kMaxGroups] = {};
  int64_t count_ = 1, in_elems_ = 0, out_elems_ = 0;
  const char* isa_ = "scalar";
};

template <Kind K>
std::unique_ptr<Op> make() {
  return std::make_unique<Reduce>(K);
}

}  // namespace

void register_reduce_ops(OpTable& table) {
  table.set(fb::OpType::ReduceMean, make<Kind::Mean>);
  table.set(fb::OpType::ReduceSum, make<Kind::Sum>);
  table.set(fb::OpType::ReduceMax, make<Kind::Max>);
  table.set(fb::OpType::ReduceMin, make<Kind::Min>);
  table.set(fb::OpType::ReduceProd, make<Kind::Prod>);
  table.set(fb::OpType::ReduceL2, make<Kind::L2>);
}

}  // namespace pocket::ew
