// ScatterND and ScatterElements, reduction "none": output = data with the indexed elements
// replaced by updates.
//   ScatterND        data [d0..dr-1], indices [..., k] (int64; int32 accepted), updates
//                    indices.shape[:-1] + data.shape[k:]; each index tuple picks a slice.
//   ScatterElements  data, indices (int64 or int32, the rank of data, no dim larger than data's),
//                    updates (the shape of indices); attr axis (0): out[.., idx[i,j,..], ..] = upd[i,j,..].
// In place (Op::inplace_input): when the session gives the output the data input's buffer (a KV
// cache passed in and returned), run() writes only the updated elements; otherwise it copies data
// first. Indices known at prepare are checked there; indices that come at run time are wrapped
// (negative counts from the end) and an index still out of range is skipped, so run() never
// writes outside the output.
#include <algorithm>
#include <cstring>

#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"
#include "kernels/transform/transform.h"

namespace pocket {

namespace {

int64_t index_at(const Value& idx, int64_t i) {
  return idx.dtype == DType::I64 ? idx.as<const int64_t>()[i] : idx.as<const int32_t>()[i];
}

// Wraps a negative index; -1 when out of [-dim, dim).
int64_t wrap(int64_t v, int64_t dim) {
  if (v < 0) v += dim;
  return v >= 0 && v < dim ? v : -1;
}

void copy_data(const OpContext& ctx) {
  const Value& data = ctx.in(0);
  void* out = ctx.out(0).data;
  const int64_t bytes = static_cast<int64_t>(data.bytes());
  if (bytes > 0 && out != data.data) kernels::block_copy(data.data, bytes, out, bytes, bytes, 1, ctx.pool);
}

Status start_scatter(const OpContext& ctx) {
  POCKET_RETURN_IF_ERROR(check_arity(ctx, 3, 3, 1, 1));
  const Value& data = ctx.in(0);
  const Value& idx = ctx.in(1);
  const Value& upd = ctx.in(2);
  POCKET_RETURN_IF_ERROR(check_movable(ctx, data));
  const std::string reduction = ctx.attrs().s("reduction", "none");
  if (reduction != "none")
    return ctx.fail(StatusCode::kUnsupported, "reduction '" + reduction + "' is not supported (only \"none\")");
  if (idx.dtype != DType::I64 && idx.dtype != DType::I32)
    return ctx.fail(StatusCode::kInvalidModel, describe("indices", idx) + " must be int64 or int32, not " + dtype_name(idx.dtype));
  if (upd.dtype != data.dtype)
    return ctx.fail(StatusCode::kInvalidModel, describe("updates", upd) + " is " + dtype_name(upd.dtype) + " but " +
                                                   describe("data", data) + " is " + dtype_name(data.dtype));
  ctx.out(0).dtype = data.dtype;
  ctx.out(0).shape = data.shape;
  return Status::Ok();
}

class ScatterNDOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(start_scatter(ctx));
    const Value& data = ctx.in(0);
    const Value& idx = ctx.in(1);
    const Value& upd = ctx.in(2);
    if (idx.rank() < 1) return ctx.fail(StatusCode::kInvalidModel, describe("indices", idx) + " must have rank >= 1");
    k_ = idx.shape.back();
    if (k_ < 1 || k_ > data.rank())
      return ctx.fail(StatusCode::kInvalidModel, "the last dim of " + describe("indices", idx) + " must be in [1, rank of " +
                                                     describe("data", data) + "]");
    Shape want(idx.shape.begin(), idx.shape.end() - 1);
    want.insert(want.end(), data.shape.begin() + k_, data.shape.end());
    if (upd.shape != want)
      return ctx.fail(StatusCode::kInvalidModel, describe("updates", upd) + " must have shape " + shape_str(want) + " for " +
                                                     describe("data", data) + " and " + describe("indices", idx));
    dims_.assign(data.shape.begin(), data.shape.begin() + k_);
    slice_ = 1;
    for (int64_t d = k_; d < data.rank(); ++d) slice_ *= data.shape[d];
    strides_.assign(static_cast<size_t>(k_), 0);
    int64_t acc = slice_;
    for (int64_t d = k_; d-- > 0;) {
      strides_[d] = acc;
      acc *= data.shape[d];
    }
    tuples_ = k_ == 0 ? 0 : idx.elements() / k_;
    elem_ = dtype_size(data.dtype);
    if (idx.constant || idx.known) {
      for (int64_t t = 0; t < tuples_; ++t)
        for (int64_t d = 0; d < k_; ++d)
          if (wrap(index_at(idx, t * k_ + d), dims_[d]) < 0)
            return ctx.fail(StatusCode::kInvalidModel, "index " + std::to_string(index_at(idx, t * k_ + d)) + " at " +
                                                           describe("indices", idx) + " (tuple " + std::to_string(t) +
                                                           ", dim " + std::to_string(d) + ") is out of range for " +
                                                           describe("data", data));
    }
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    copy_data(ctx);
    const Value& idx = ctx.in(1);
    const char* upd = static_cast<const char*>(ctx.in(2).data);
    char* out = static_cast<char*>(ctx.out(0).data);
    const size_t slice_bytes = static_cast<size_t>(slice_) * elem_;
    for (int64_t t = 0; t < tuples_; ++t) {
      int64_t off = 0;
      bool ok = true;
      for (int64_t d = 0; d < k_ && ok; ++d) {
        const int64_t v = wrap(index_at(idx, t * k_ + d), dims_[d]);
        ok = v >= 0;
        off += v * strides_[d];
      }
      if (ok && slice_bytes) std::memcpy(out + off * static_cast<int64_t>(elem_), upd + t * static_cast<int64_t>(slice_bytes), slice_bytes);
    }
  }
  std::string kernel_name() const override { return "scatter_nd"; }
  int inplace_input() const override { return 0; }

 private:
  int64_t k_ = 0, slice_ = 0, tuples_ = 0;
  std::vector<int64_t> dims_, strides_;
  size_t elem_ = 4;
};

class ScatterElementsOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(start_scatter(ctx));
    const Value& data = ctx.in(0);
    const Value& idx = ctx.in(1);
    const Value& upd = ctx.in(2);
    const int64_t rank = data.rank();
    const int64_t raw_axis = ctx.attrs().i("axis", 0);
    if (!normalize_axis(raw_axis, rank, &axis_))
      return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(raw_axis) + " is out of range for " + describe("data", data));
    if (idx.rank() != rank)
      return ctx.fail(StatusCode::kInvalidModel, describe("indices", idx) + " must have the rank of " + describe("data", data));
    if (upd.shape != idx.shape)
      return ctx.fail(StatusCode::kInvalidModel, describe("updates", upd) + " must have the shape of " + describe("indices", idx));
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis_ && idx.shape[d] > data.shape[d])
        return ctx.fail(StatusCode::kInvalidModel, describe("indices", idx) + " is larger than " + describe("data", data) +
                                                       " in dim " + std::to_string(d));
    if (rank > kMaxRank) return ctx.fail(StatusCode::kUnsupported, describe("data", data) + " has more than 8 dims");
    idx_shape_ = idx.shape;
    out_strides_ = row_major_strides(data.shape);
    axis_dim_ = data.shape[axis_];
    elem_ = dtype_size(data.dtype);
    if (idx.constant || idx.known) {
      for (int64_t i = 0; i < idx.elements(); ++i)
        if (wrap(index_at(idx, i), axis_dim_) < 0)
          return ctx.fail(StatusCode::kInvalidModel, "index " + std::to_string(index_at(idx, i)) + " (element " +
                                                         std::to_string(i) + " of " + describe("indices", idx) +
                                                         ") is out of range for axis " + std::to_string(axis_) + " of " +
                                                         describe("data", data));
    }
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    copy_data(ctx);
    const Value& idx = ctx.in(1);
    const char* upd = static_cast<const char*>(ctx.in(2).data);
    char* out = static_cast<char*>(ctx.out(0).data);
    const int64_t n = idx.elements(), rank = static_cast<int64_t>(idx_shape_.size());
    int64_t coord[kMaxRank] = {};
    const int64_t e = static_cast<int64_t>(elem_);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = wrap(index_at(idx, i), axis_dim_);
      if (v >= 0) {
        int64_t off = 0;
        for (int64_t d = 0; d < rank; ++d) off += (d == axis_ ? v : coord[d]) * out_strides_[d];
        std::memcpy(out + off * e, upd + i * e, elem_);
      }
      for (int64_t d = rank; d-- > 0;) {
        if (++coord[d] < idx_shape_[d]) break;
        coord[d] = 0;
      }
    }
  }
  std::string kernel_name() const override { return "scatter_elements"; }
  int inplace_input() const override { return 0; }

 private:
  static constexpr int64_t kMaxRank = 8;
  int64_t axis_ = 0, axis_dim_ = 0;
  Shape idx_shape_;
  std::vector<int64_t> out_strides_;
  size_t elem_ = 4;
};

}  // namespace

std::unique_ptr<Op> make_scatter_nd_op() { return std::make_unique<ScatterNDOp>(); }
std::unique_ptr<Op> make_scatter_elements_op() { return std::make_unique<ScatterElementsOp>(); }

}  // namespace pocket
