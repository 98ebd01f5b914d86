#include "engine/ops/nn_common.h"

#include <algorithm>
#include <cmath>

namespace pocket {

kernels::ActivationParams FusedActivation::as_pass() const {
  if (has_post()) return post;
  if (std::isinf(out_min) && std::isinf(out_max)) return {};
  return {kernels::Activation::Clip, out_min, out_max};
}

Status parse_activation(const OpContext& ctx, FusedActivation* act) {
  const Attrs a = ctx.attrs();
  const int64_t kind = a.i("activation", 0);
  const float alpha = a.f("act_alpha", 0.f), beta = a.f("act_beta", 0.f);
  *act = FusedActivation{};
  using K = kernels::Activation;
  switch (static_cast<fb::ActivationKind>(kind)) {
    case fb::ActivationKind::None:
      return Status::Ok();
    case fb::ActivationKind::Relu:
      act->out_min = 0.f;
      return Status::Ok();
    case fb::ActivationKind::Clip:
      if (std::isnan(alpha) || std::isnan(beta) || alpha > beta)
        return ctx.fail(StatusCode::kInvalidModel, "fused Clip needs act_alpha <= act_beta, got [" +
                                                       std::to_string(alpha) + ", " + std::to_string(beta) + "]");
      act->out_min = alpha;
      act->out_max = beta;
      return Status::Ok();
    case fb::ActivationKind::HardSigmoid: act->post = {K::HardSigmoid, alpha, beta}; return Status::Ok();
    case fb::ActivationKind::HardSwish: act->post = {K::HardSwish, 0.f, 0.f}; return Status::Ok();
    case fb::ActivationKind::Sigmoid: act->post = {K::Sigmoid, 0.f, 0.f}; return Status::Ok();
    case fb::ActivationKind::SiLU: act->post = {K::SiLU, 0.f, 0.f}; return Status::Ok();
    case fb::ActivationKind::Tanh: act->post = {K::Tanh, 0.f, 0.f}; return Status::Ok();
    case fb::ActivationKind::LeakyRelu: act->post = {K::LeakyRelu, alpha, 0.f}; return Status::Ok();
    case fb::ActivationKind::Gelu: act->post = {K::Gelu, 0.f, 0.f}; return Status::Ok();
    case fb::ActivationKind::GeluTanh: act->post = {K::GeluTanh, 0.f, 0.f}; return Status::Ok();
  }
  return ctx.fail(StatusCode::kUnsupported, "unknown fused activation " + std::to_string(kind));
}

namespace {

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// One spatial axis.
Status resolve_axis(const OpContext& ctx, const char* axis, const std::string& auto_pad, int64_t in, int64_t k,
                    int64_t s, int64_t d, bool ceil_mode, int64_t* pb, int64_t* pe, int64_t* out, int64_t* extra) {
  // Bounds that keep every sum and product below int64 (fuzz_model: pads near INT64_MAX overflowed
  // in + pads): no real window comes near them.
  constexpr int64_t kMaxWindow = int64_t{1} << 31, kMaxExtent = int64_t{1} << 40;
  if (k > kMaxWindow || s > kMaxWindow || d > kMaxWindow || *pb > kMaxWindow || *pe > kMaxWindow || in > kMaxExtent)
    return ctx.fail(StatusCode::kInvalidModel, std::string("window along ") + axis + " out of range: input " +
                                                   std::to_string(in) + ", kernel " + std::to_string(k) + ", stride " +
                                                   std::to_string(s) + ", dilation " + std::to_string(d) + ", pads " +
                                                   std::to_string(*pb) + " and " + std::to_string(*pe) +
                                                   " (each at most 2^31, the input at most 2^40)");
  const int64_t eff = (k - 1) * d + 1;
  *extra = 0;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    *out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>(0, (*out - 1) * s + eff - in);
    if (auto_pad == "SAME_UPPER") *pb = total / 2;
    else *pb = total - total / 2;
    *pe = total - *pb;
    return Status::Ok();
  }
  if (auto_pad == "VALID") *pb = *pe = 0;
  const int64_t span = in + *pb + *pe - eff;
  if (span < 0)
    return ctx.fail(StatusCode::kInvalidModel, std::string("window of ") + std::to_string(eff) + " (kernel " +
                                                   std::to_string(k) + ", dilation " + std::to_string(d) +
                                                   ") is larger than the padded input " + axis + " " +
                                                   std::to_string(in + *pb + *pe));
  if (ceil_mode) {
    *out = (span + s - 1) / s + 1;
    if ((*out - 1) * s >= in + *pb) --*out;
    *extra = std::max<int64_t>(0, (*out - 1) * s + eff - (in + *pb + *pe));
  } else {
    *out = span / s + 1;
  }
  return Status::Ok();
}

}  // namespace

Status resolve_window(const OpContext& ctx, int64_t in_h, int64_t in_w, int64_t kernel_h, int64_t kernel_w,
                      bool ceil_mode, bool allow_dilation, Window2d* w) {
  const Attrs a = ctx.attrs();
  const std::vector<int64_t> strides = a.ints("strides", {1, 1});
  const std::vector<int64_t> dilations = a.ints("dilations", {1, 1});
  const std::vector<int64_t> pads = a.ints("pads", {0, 0, 0, 0});
  const std::string auto_pad = a.s("auto_pad", "NOTSET");
  if (strides.size() != 2 || strides[0] <= 0 || strides[1] <= 0)
    return ctx.fail(StatusCode::kInvalidModel, "strides must be 2 positive values, got " + ints_str(strides));
  if (dilations.size() != 2 || dilations[0] <= 0 || dilations[1] <= 0)
    return ctx.fail(StatusCode::kInvalidModel, "dilations must be 2 positive values, got " + ints_str(dilations));
  if (!allow_dilation && (dilations[0] != 1 || dilations[1] != 1))
    return ctx.fail(StatusCode::kUnsupported, "dilations " + ints_str(dilations) + " are not supported by this op");
  if (pads.size() != 4 || pads[0] < 0 || pads[1] < 0 || pads[2] < 0 || pads[3] < 0)
    return ctx.fail(StatusCode::kInvalidModel,
                    "pads must be 4 non-negative values [top, left, bottom, right], got " + ints_str(pads));
  if (kernel_h <= 0 || kernel_w <= 0)
    return ctx.fail(StatusCode::kInvalidModel,
                    "kernel must be positive, got " + std::to_string(kernel_h) + "x" + std::to_string(kernel_w));
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID")
    return ctx.fail(StatusCode::kInvalidModel, "unknown auto_pad '" + auto_pad + "'");
  *w = Window2d{};
  w->kernel_h = kernel_h;
  w->kernel_w = kernel_w;
  w->stride_h = strides[0];
  w->stride_w = strides[1];
  w->dilation_h = dilations[0];
  w->dilation_w = dilations[1];
  w->pad_top = pads[0];
  w->pad_left = pads[1];
  w->pad_bottom = pads[2];
  w->pad_right = pads[3];
  POCKET_RETURN_IF_ERROR(resolve_axis(ctx, "height", auto_pad, in_h, kernel_h, w->stride_h, w->dilation_h, ceil_mode,
                                      &w->pad_top, &w->pad_bottom, &w->out_h, &w->extra_bottom));
  POCKET_RETURN_IF_ERROR(resolve_axis(ctx, "width", auto_pad, in_w, kernel_w, w->stride_w, w->dilation_w, ceil_mode,
                                      &w->pad_left, &w->pad_right, &w->out_w, &w->extra_right));
  return Status::Ok();
}

Status expect_f32(const OpContext& ctx, size_t i, int64_t rank, const char* role) {
  if (!ctx.has_input(i)) return ctx.fail(StatusCode::kInvalidModel, std::string("missing input ") + role);
  const Value& v = ctx.in(i);
  if (v.dtype != DType::F32)
    return ctx.fail(StatusCode::kUnsupported, std::string(role) + " '" + std::string(v.name) + "' must be f32, got " +
                                                  dtype_name(v.dtype));
  if (rank >= 0 && v.rank() != rank)
    return ctx.fail(StatusCode::kInvalidModel, std::string(role) + " '" + std::string(v.name) + "' must have rank " +
                                                   std::to_string(rank) + ", got shape " + shape_str(v.shape));
  return Status::Ok();
}

std::string conv_transpose_output(const int64_t in[2], const int64_t kernel[2], const std::vector<int64_t>& strides,
                                  const std::vector<int64_t>& dilations, const std::vector<int64_t>& output_padding,
                                  const std::string& auto_pad, std::vector<int64_t>* pads, int64_t out[2]) {
  std::vector<int64_t>& p = *pads;
  constexpr int64_t kMaxWindow = int64_t{1} << 30, kMaxExtent = int64_t{1} << 31;
  for (int d = 0; d < 2; ++d)
    if (in[d] > kMaxExtent || kernel[d] > kMaxWindow || strides[d] > kMaxWindow || dilations[d] > kMaxWindow ||
        output_padding[d] > kMaxWindow || p[d] > kMaxWindow || p[d + 2] > kMaxWindow)
      return std::string("sizes out of range along ") + (d == 0 ? "height" : "width") + ": input " +
             std::to_string(in[d]) + ", kernel " + std::to_string(kernel[d]) + ", stride " + std::to_string(strides[d]) +
             ", dilation " + std::to_string(dilations[d]) + ", pads " + std::to_string(p[d]) + " and " +
             std::to_string(p[d + 2]) + " (the input at most 2^31, the others 2^30)";
  for (int d = 0; d < 2; ++d) {
    const int64_t full = strides[d] * (in[d] - 1) + output_padding[d] + (kernel[d] - 1) * dilations[d] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t total = std::max<int64_t>(0, full - in[d] * strides[d]);
      p[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      p[d + 2] = total - p[d];
    } else if (auto_pad == "VALID") {
      p[d] = p[d + 2] = 0;
    } else if (auto_pad != "NOTSET") {
      return "unknown auto_pad '" + auto_pad + "'";
    }
    out[d] = full - p[d] - p[d + 2];
  }
  return "";
}

}  // namespace pocket
