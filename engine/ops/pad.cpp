// Pad. attrs: pads (ints, 2*rank: all begins then all ends; negative crops), mode ("constant"
// default, "reflect", "edge"), value (float, constant mode, converted to the tensor's dtype).
// reflect mirrors without repeating the edge element (numpy "reflect"); pads larger than the
// dim keep bouncing, so any pad is well defined for a dim > 1.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/ops/tensor_ops.h"
#include "engine/ops/tensor_util.h"

namespace pocket {

namespace {

class PadOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity_optional(ctx, 1, 3, 1, 1));
    const Value& x = ctx.in(0);
    POCKET_RETURN_IF_ERROR(check_movable(ctx, x));
    const Attrs a = ctx.attrs();
    const int64_t rank = x.rank();
    std::vector<int64_t> pads;
    bool found = false;
    POCKET_RETURN_IF_ERROR(prepare_ints(ctx, 1, "pads", &pads, &found));
    if (static_cast<int64_t>(pads.size()) != 2 * rank)
      return ctx.fail(StatusCode::kInvalidModel, "pads " + ints_str(pads) + " must have 2 * rank entries for " + describe("input", x));
    if (rank > kernels::kMaxCopyDims)
      return ctx.fail(StatusCode::kUnsupported, describe("input", x) + " has more than " +
                                                    std::to_string(kernels::kMaxCopyDims) + " dims");
    const std::string mode = a.s("mode", "constant");
    plan_ = kernels::PadPlan{};
    if (mode == "constant") plan_.mode = kernels::PadMode::kConstant;
    else if (mode == "reflect") plan_.mode = kernels::PadMode::kReflect;
    else if (mode == "edge") plan_.mode = kernels::PadMode::kEdge;
    else return ctx.fail(StatusCode::kUnsupported, "mode '" + mode + "' is not constant, reflect or edge");
    plan_.rank = static_cast<int>(rank);
    plan_.elem_size = dtype_size(x.dtype);
    Shape out(rank);
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t pb = pads[d], pe = pads[d + rank];
      const int64_t o = x.shape[d] + pb + pe;
      if (o < 0 || pb > (int64_t{1} << 40) || pe > (int64_t{1} << 40))
        return ctx.fail(StatusCode::kInvalidModel, "pads " + ints_str(pads) + " give a negative or huge dim " +
                                                       std::to_string(d) + " for " + describe("input", x));
      if (plan_.mode != kernels::PadMode::kConstant && x.shape[d] == 0 && o > 0)
        return ctx.fail(StatusCode::kInvalidModel, mode + " padding needs a non-empty dim " + std::to_string(d) +
                                                       " in " + describe("input", x));
      out[d] = o;
      plan_.in_dims[d] = x.shape[d];
      plan_.out_dims[d] = o;
      plan_.pads_begin[d] = pb;
    }
    if (num_elements(out) < 0) return ctx.fail(StatusCode::kInvalidModel, "output shape " + shape_str(out) + " is too large");
    const float value = a.f("value", 0.f);
    if (!kernels::cast_supported(static_cast<int>(DType::F32), static_cast<int>(x.dtype)))
      return ctx.fail(StatusCode::kUnsupported, "cannot pad " + std::string(dtype_name(x.dtype)) + " tensors");
    kernels::cast(&value, static_cast<int>(DType::F32), plan_.value, static_cast<int>(x.dtype), 1, nullptr);
    if (x.dtype == DType::I8 && x.quant) {
      // Quantized int8 (format 1.2): the pad value is real, stored as quantize(value) with X's
      // parameters (0.0 -> the zero point).
      const fb::Quantization* q = x.quant;
      if (!q->scales() || q->scales()->size() != 1)
        return ctx.fail(StatusCode::kUnsupported, describe("input", x) + " must be quantized per tensor to be padded");
      const float scale = q->scales()->Get(0);
      const int64_t zp = q->zero_points() && q->zero_points()->size() ? q->zero_points()->Get(0) : 0;
      const float r = std::nearbyint(value / scale) + static_cast<float>(zp);
      const int8_t qv = static_cast<int8_t>(std::min(127.f, std::max(-128.f, r)));
      std::memcpy(plan_.value, &qv, 1);
    }
    if (ctx.has_input(2)) {
      POCKET_RETURN_IF_ERROR(require_known(ctx, 2, "value"));
      const Value& v = ctx.in(2);
      if (v.dtype != x.dtype || v.elements() != 1 || v.rank() > 1)
        return ctx.fail(StatusCode::kInvalidModel, describe("value", v) + " must be a " + dtype_name(x.dtype) + " scalar");
      std::memcpy(plan_.value, v.data, dtype_size(v.dtype));
    }
    ctx.out(0).dtype = x.dtype;
    ctx.out(0).shape = out;
    return Status::Ok();
  }

  void run(OpContext& ctx) override { kernels::pad(plan_, ctx.in(0).data, ctx.out(0).data, ctx.pool); }
  std::string kernel_name() const override { return "pad"; }

 private:
  kernels::PadPlan plan_;
};

}  // namespace

std::unique_ptr<Op> make_pad_op() { return std::make_unique<PadOp>(); }

}  // namespace pocket
