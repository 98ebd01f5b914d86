// Resize. attrs: scales (floats, one per axis) or sizes (ints, one per axis); mode "nearest"
// (default) or "linear"; coordinate_transformation_mode "half_pixel" (default),
// "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nearest"; nearest_mode
// "round_prefer_floor" (default), "round_prefer_ceil", "floor", "ceil".
// With scales the output dim is floor(in * scale); with sizes the scale is out / in.
// nearest: any dtype, one index gather. linear: f32; bilinear kernel when only the last two
// axes move, otherwise one linear pass per moving axis through scratch (multilinear is
// separable). Modes and source indices: engine/ops/resize_axis.h (shared with the Vulkan op).
#include <algorithm>
#include <cmath>

#include "engine/ops/resize_axis.h"
#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class ResizeOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 1, 1, 1, 1));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
    const Attrs a = ctx.attrs();
    const int64_t rank = x.rank();
    if (rank == 0 || rank > kernels::kMaxCopyDims)
      return ctx.fail(StatusCode::kUnsupported, describe("input", x) + " must have 1.." +
                                                    std::to_string(kernels::kMaxCopyDims) + " dims");
    POCKET_RETURN_IF_ERROR(parse_modes(ctx));
    const std::vector<float> scales_attr = a.floats("scales");
    const std::vector<int64_t> sizes_attr = a.ints("sizes");
    Shape out(rank);
    std::vector<float> scales(rank);
    if (!sizes_attr.empty()) {
      if (static_cast<int64_t>(sizes_attr.size()) != rank)
        return ctx.fail(StatusCode::kInvalidModel, "sizes " + ints_str(sizes_attr) + " need one entry per axis of " + describe("input", x));
      for (int64_t d = 0; d < rank; ++d) {
        if (sizes_attr[d] < 0) return ctx.fail(StatusCode::kInvalidModel, "sizes " + ints_str(sizes_attr) + " has a negative entry");
        out[d] = sizes_attr[d];
        scales[d] = x.shape[d] > 0 ? static_cast<float>(out[d]) / static_cast<float>(x.shape[d]) : 1.f;
      }
    } else if (!scales_attr.empty()) {
      if (static_cast<int64_t>(scales_attr.size()) != rank)
        return ctx.fail(StatusCode::kInvalidModel, "scales need one entry per axis of " + describe("input", x) + ", got " +
                                                       std::to_string(scales_attr.size()));
      for (int64_t d = 0; d < rank; ++d) {
        const float s = scales_attr[d];
        if (!(s > 0.f) || !std::isfinite(s))
          return ctx.fail(StatusCode::kInvalidModel, "scale " + std::to_string(s) + " for axis " + std::to_string(d) +
                                                         " must be positive and finite");
        const double o = std::floor(static_cast<double>(x.shape[d]) * static_cast<double>(s));
        if (o > static_cast<double>(int64_t{1} << 40))
          return ctx.fail(StatusCode::kInvalidModel, "scale " + std::to_string(s) + " makes axis " + std::to_string(d) + " too large");
        out[d] = static_cast<int64_t>(o);
        scales[d] = s;
      }
    } else {
      return ctx.fail(StatusCode::kInvalidModel, "needs attribute 'scales' or 'sizes'");
    }
    for (int64_t d = 0; d < rank; ++d)
      if (x.shape[d] == 0 && out[d] > 0)
        return ctx.fail(StatusCode::kInvalidModel, "cannot resize the empty axis " + std::to_string(d) + " of " +
                                                       describe("input", x) + " to " + std::to_string(out[d]));
    if (num_elements(out) < 0) return ctx.fail(StatusCode::kInvalidModel, "output shape " + shape_str(out) + " is too large");
    // The per-axis index tables are built here, one entry per output index: a hostile size must
    // fail, not exhaust memory (fuzz_model finding; an axis beside a 0 axis has no elements).
    for (int64_t d = 0; d < rank; ++d)
      if (out[d] > (int64_t{1} << 30))
        return ctx.fail(StatusCode::kInvalidModel, "output shape " + shape_str(out) + " is too large (axis " +
                                                       std::to_string(d) + " above 2^30)");
    ctx.out(0).dtype = x.dtype;
    ctx.out(0).shape = out;
    in_shape_ = x.shape;
    out_shape_ = out;
    if (linear_) return prepare_linear(ctx, scales);
    return prepare_nearest(ctx, scales);
  }

  void run(OpContext& ctx) override {
    const Value& x = ctx.in(0);
    Value& y = ctx.out(0);
    if (y.elements() == 0) return;
    if (!linear_) {
      kernels::index_gather(gather_, x.data, y.data, ctx.pool);
      return;
    }
    const int64_t rank = static_cast<int64_t>(in_shape_.size());
    if (passes_.empty()) {
      kernels::block_copy(x.data, 0, y.data, 0, static_cast<int64_t>(x.bytes()), 1, ctx.pool);
      return;
    }
    if (bilinear_) {
      const int64_t ih = rank >= 2 ? in_shape_[rank - 2] : 1, oh = rank >= 2 ? out_shape_[rank - 2] : 1;
      int64_t planes = 1;
      for (int64_t d = 0; d + 2 < rank; ++d) planes *= in_shape_[d];
      kernels::resize_bilinear_f32(x.as<const float>(), y.as<float>(), planes, ih, in_shape_[rank - 1], oh,
                                   out_shape_[rank - 1], axis_view(rank - 2), axis_view(rank - 1), ctx.pool);
      return;
    }
    // One pass per moving axis: input -> scratch A -> scratch B -> ... -> output.
    Shape cur = in_shape_;
    const float* src = x.as<const float>();
    float* bufs[2] = {static_cast<float*>(ctx.scratch), static_cast<float*>(ctx.scratch) + scratch_half_};
    for (size_t p = 0; p < passes_.size(); ++p) {
      const int64_t d = passes_[p];
      int64_t outer = 1, inner = 1;
      for (int64_t k = 0; k < d; ++k) outer *= cur[k];
      for (int64_t k = d + 1; k < rank; ++k) inner *= cur[k];
      float* dst = p + 1 == passes_.size() ? y.as<float>() : bufs[p % 2];
      kernels::resize_linear_axis_f32(src, dst, outer, cur[d], out_shape_[d], inner, axis_view(d), ctx.pool);
      cur[d] = out_shape_[d];
      src = dst;
    }
  }

  std::string kernel_name() const override {
    if (!linear_) return "nearest";
    if (passes_.empty()) return "copy";
    return bilinear_ ? "bilinear" : "linear_separable";
  }

  size_t private_bytes() const override {
    size_t n = passes_.capacity() * sizeof(int64_t);
    for (const auto& t : tables_) n += t.capacity() * sizeof(int64_t);
    for (const auto& t : i0_) n += t.capacity() * sizeof(int64_t);
    for (const auto& t : i1_) n += t.capacity() * sizeof(int64_t);
    for (const auto& t : w_) n += t.capacity() * sizeof(float);
    return n;
  }

 private:
  Status parse_modes(const OpContext& ctx) {
    if (std::string why = parse_resize_modes(ctx.attrs(), &modes_); !why.empty())
      return ctx.fail(StatusCode::kUnsupported, why);
    linear_ = modes_.linear;
    if (ctx.in(0).dtype != DType::F32 && linear_)
      return ctx.fail(StatusCode::kUnsupported, "linear mode needs float32, " + describe("input", ctx.in(0)) + " is " +
                                                    dtype_name(ctx.in(0).dtype));
    return Status::Ok();
  }

  Status prepare_nearest(const OpContext& ctx, const std::vector<float>& scales) {
    const int64_t rank = static_cast<int64_t>(in_shape_.size());
    tables_.assign(rank, {});
    gather_ = kernels::IndexGather{};
    gather_.rank = static_cast<int>(rank);
    gather_.elem_size = dtype_size(ctx.in(0).dtype);
    for (int64_t d = 0; d < rank; ++d) {
      std::vector<int64_t>& t = tables_[d];
      t.resize(out_shape_[d]);
      for (int64_t o = 0; o < out_shape_[d]; ++o)
        t[o] = resize_nearest_index(modes_, o, scales[d], in_shape_[d], out_shape_[d]);
      gather_.in_dims[d] = in_shape_[d];
      gather_.out_dims[d] = out_shape_[d];
      gather_.index_tables[d] = t.data();
    }
    return Status::Ok();
  }

  Status prepare_linear(OpContext& ctx, const std::vector<float>& scales) {
    const int64_t rank = static_cast<int64_t>(in_shape_.size());
    i0_.assign(rank, {});
    i1_.assign(rank, {});
    w_.assign(rank, {});
    passes_.clear();
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t n = in_shape_[d], m = out_shape_[d];
      bool identity = n == m;
      for (int64_t o = 0; o < m; ++o) {
        int64_t lo, hi;
        float w;
        resize_linear_taps(modes_, o, scales[d], n, m, &lo, &hi, &w);
        i0_[d].push_back(lo);
        i1_[d].push_back(hi);
        w_[d].push_back(w);
        identity = identity && lo == o && w == 0.f;
      }
      if (!identity) passes_.push_back(d);
    }
    bilinear_ = rank >= 2 && !passes_.empty() && passes_.front() >= rank - 2;
    ctx.scratch_bytes = 0;
    scratch_half_ = 0;
    if (!bilinear_ && passes_.size() > 1) {
      // Intermediate shapes after each pass but the last.
      Shape cur = in_shape_;
      int64_t largest = 0;
      for (size_t p = 0; p + 1 < passes_.size(); ++p) {
        cur[passes_[p]] = out_shape_[passes_[p]];
        largest = std::max(largest, num_elements(cur));
      }
      scratch_half_ = (largest + 15) / 16 * 16;  // keeps the second half 64-byte aligned
      ctx.scratch_bytes = static_cast<size_t>(scratch_half_) * 2 * sizeof(float);
    }
    return Status::Ok();
  }

  kernels::LinearAxis axis_view(int64_t d) const { return {i0_[d].data(), i1_[d].data(), w_[d].data()}; }

  bool linear_ = false, bilinear_ = false;
  ResizeModes modes_;
  Shape in_shape_, out_shape_;
  std::vector<std::vector<int64_t>> tables_;
  kernels::IndexGather gather_;
  std::vector<std::vector<int64_t>> i0_, i1_;
  std::vector<std::vector<float>> w_;
  std::vector<int64_t> passes_;
  int64_t scratch_half_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_resize_op() { return std::make_unique<ResizeOp>(); }

}  // namespace pocket
