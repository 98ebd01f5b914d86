#include "engine/ops/tensor_util.h"

#include <cmath>

#include "kernels/transform/dispatch.h"

namespace pocket {

Status check_arity(const OpContext& ctx, size_t min_in, size_t max_in, size_t min_out, size_t max_out) {
  const size_t ni = ctx.inputs.size(), no = ctx.outputs.size();
  if (ni < min_in || ni > max_in)
    return ctx.fail(StatusCode::kInvalidModel, "expects " + std::to_string(min_in) +
                                                   (max_in != min_in ? ".." + std::to_string(max_in) : "") +
                                                   " inputs, has " + std::to_string(ni));
  if (no < min_out || no > max_out)
    return ctx.fail(StatusCode::kInvalidModel, "expects " + std::to_string(min_out) +
                                                   (max_out != min_out ? ".." + std::to_string(max_out) : "") +
                                                   " outputs, has " + std::to_string(no));
  for (size_t i = 0; i < ni; ++i)
    if (!ctx.inputs[i]) return ctx.fail(StatusCode::kInvalidModel, "input " + std::to_string(i) + " is missing");
  for (size_t i = 0; i < no; ++i)
    if (!ctx.outputs[i]) return ctx.fail(StatusCode::kInvalidModel, "output " + std::to_string(i) + " is missing");
  return Status::Ok();
}

Status check_arity_optional(const OpContext& ctx, size_t required, size_t max_in, size_t min_out, size_t max_out) {
  const size_t ni = ctx.inputs.size(), no = ctx.outputs.size();
  if (ni < required || ni > max_in)
    return ctx.fail(StatusCode::kInvalidModel, "expects " + std::to_string(required) +
                                                   (max_in != required ? ".." + std::to_string(max_in) : "") +
                                                   " inputs, has " + std::to_string(ni));
  if (no < min_out || no > max_out)
    return ctx.fail(StatusCode::kInvalidModel, "expects " + std::to_string(min_out) +
                                                   (max_out != min_out ? ".." + std::to_string(max_out) : "") +
                                                   " outputs, has " + std::to_string(no));
  for (size_t i = 0; i < required; ++i)
    if (!ctx.inputs[i]) return ctx.fail(StatusCode::kInvalidModel, "input " + std::to_string(i) + " is missing");
  for (size_t i = 0; i < no; ++i)
    if (!ctx.outputs[i]) return ctx.fail(StatusCode::kInvalidModel, "output " + std::to_string(i) + " is missing");
  return Status::Ok();
}

Status check_movable(const OpContext& ctx, const Value& v) {
  if (dtype_size(v.dtype) == 0)
    return ctx.fail(StatusCode::kUnsupported, describe("tensor", v) + " has dtype " + dtype_name(v.dtype) +
                                                  ", which this op cannot move");
  if (v.elements() < 0) return ctx.fail(StatusCode::kInvalidModel, describe("tensor", v) + " has no valid shape");
  return Status::Ok();
}

bool normalize_axis(int64_t axis, int64_t rank, int64_t* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

std::vector<int64_t> row_major_strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

Status require_known(const OpContext& ctx, size_t input, const char* what) {
  const Value& v = ctx.in(input);
  if (v.constant || v.known) return Status::Ok();
  return ctx.fail(StatusCode::kUnsupported, "shape operand '" + std::string(what) + "' ('" + std::string(v.name) +
                                                "') is computed at run time; Pocket needs it at prepare");
}

Status prepare_ints(const OpContext& ctx, size_t input, const char* attr, std::vector<int64_t>* out, bool* found) {
  out->clear();
  const char* what = attr ? attr : "operand";
  if (ctx.has_input(input)) {
    POCKET_RETURN_IF_ERROR(require_known(ctx, input, what));
    const Value& v = ctx.in(input);
    if (v.dtype != DType::I64 && v.dtype != DType::I32)
      return ctx.fail(StatusCode::kInvalidModel, "shape operand '" + std::string(what) + "' " + describe("", v).substr(1) +
                                                     " must be int64 or int32, not " + dtype_name(v.dtype));
    if (v.rank() > 1 || v.elements() < 0 || (v.elements() > 0 && !v.data))
      return ctx.fail(StatusCode::kInvalidModel, "shape operand '" + std::string(what) + "' " + describe("", v).substr(1) +
                                                     " must be a vector");
    const int64_t n = v.elements();
    out->resize(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) (*out)[k] = v.dtype == DType::I64 ? v.as<const int64_t>()[k] : v.as<const int32_t>()[k];
    *found = true;
    return Status::Ok();
  }
  *found = attr && ctx.attrs().has(attr);
  if (*found) *out = ctx.attrs().ints(attr);
  return Status::Ok();
}

Status prepare_scalar(const OpContext& ctx, size_t input, const char* what, double* f, int64_t* i) {
  if (!ctx.has_input(input)) return ctx.fail(StatusCode::kInvalidModel, "operand '" + std::string(what) + "' is missing");
  POCKET_RETURN_IF_ERROR(require_known(ctx, input, what));
  const Value& v = ctx.in(input);
  if (v.elements() != 1 || v.rank() > 1 || !v.data)
    return ctx.fail(StatusCode::kInvalidModel, "operand '" + std::string(what) + "' " + describe("", v).substr(1) +
                                                   " must be a scalar");
  switch (v.dtype) {
    case DType::F32: *f = *v.as<const float>(); break;
    case DType::F64: *f = *v.as<const double>(); break;
    case DType::I64: *i = *v.as<const int64_t>(); *f = static_cast<double>(*i); break;
    case DType::I32: *i = *v.as<const int32_t>(); *f = static_cast<double>(*i); break;
    default:
      return ctx.fail(StatusCode::kUnsupported, "operand '" + std::string(what) + "' has dtype " + dtype_name(v.dtype) +
                                                    "; expected float32, float64, int64 or int32");
  }
  if (v.dtype == DType::F32 || v.dtype == DType::F64) *i = std::fabs(*f) < 9.2e18 ? static_cast<int64_t>(*f) : 0;
  return Status::Ok();
}

std::string ints_str(const std::vector<int64_t>& v) { return shape_str(v); }

std::string describe(const char* role, const Value& v) {
  return std::string(role) + " '" + std::string(v.name) + "' " + shape_str(v.shape);
}

Status plan_view(const OpContext& ctx, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides,
                 int64_t offset, size_t elem_size, kernels::StridedCopy* plan) {
  if (!kernels::plan_strided_copy(static_cast<int>(dims.size()), dims.data(), strides.data(), offset, elem_size, plan))
    return ctx.fail(StatusCode::kUnsupported, "the copy has more than " + std::to_string(kernels::kMaxCopyDims) +
                                                  " non-mergeable dimensions (" + shape_str(dims) + ")");
  return Status::Ok();
}

void StridedCopyOp::run(OpContext& ctx) { kernels::strided_copy(plan_, ctx.in(0).data, ctx.out(0).data, ctx.pool); }

std::string StridedCopyOp::kernel_name() const {
  const int r = plan_.rank;
  if (r >= 2 && plan_.strides[r - 2] == static_cast<int64_t>(plan_.elem_size)) {
    if (plan_.elem_size == 4) return std::string("transpose2d.x32.") + kernels::transform_kernels().transpose_x32_name;
    if (plan_.elem_size == 1 || plan_.elem_size == 2 || plan_.elem_size == 8) return "transpose2d.scalar";
  }
  return "strided_copy";
}

void ByteCopyOp::run(OpContext& ctx) {
  const Value& in = ctx.in(0);
  const int64_t bytes = static_cast<int64_t>(in.bytes());
  if (bytes > 0 && in.data != ctx.out(0).data) kernels::block_copy(in.data, bytes, ctx.out(0).data, bytes, bytes, 1, ctx.pool);
}

}  // namespace pocket
