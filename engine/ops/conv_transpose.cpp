// ConvTranspose, channels-last. Inputs: X [N,H,W,C], W const [C, M/group, kH, kW] (ONNX), B const
// [M] (optional). Attributes: strides, dilations, pads [top, left, bottom, right],
// output_padding [2], group, auto_pad, activation/act_alpha/act_beta. Output [N,OH,OW,M] with
// OH = stride*(H-1) + output_padding + dilation*(kH-1) + 1 - pad_top - pad_bottom.
// XNNPACK deconvolution2d_nhwc_f32 (output_padding as its adjustment) or the direct kernel.
#include <cstring>

#include "engine/ops/nn_common.h"
#include "engine/ops/nn_ops.h"
#include "kernels/conv/conv2d_f32.h"
#include "kernels/xnnpack/xnnpack_init.h"

namespace pocket {

namespace {

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

class ConvTransposeOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 0, 4, "input X"));
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 1, 4, "weight W"));
    const Value& x = ctx.in(0);
    const Value& w = ctx.in(1);
    if (!w.constant || !w.data)
      return ctx.fail(StatusCode::kUnsupported, "weight W '" + std::string(w.name) + "' must be a constant");
    const Attrs a = ctx.attrs();
    const int64_t n = x.shape[0], h = x.shape[1], wd = x.shape[2], c = x.shape[3];
    const int64_t group = a.i("group", 1);
    if (group <= 0) return ctx.fail(StatusCode::kInvalidModel, "group must be positive, got " + std::to_string(group));
    const int64_t mg = w.shape[1], kh = w.shape[2], kw = w.shape[3];
    if (w.shape[0] != c || c % group != 0 || mg <= 0 || kh <= 0 || kw <= 0)
      return ctx.fail(StatusCode::kInvalidModel, "input X " + shape_str(x.shape) + " (NHWC) does not match weight W " +
                                                     shape_str(w.shape) + " with group " + std::to_string(group) +
                                                     ": need W[0] = C, C divisible by group");
    const int64_t cg = c / group, m = mg * group;
    const std::vector<int64_t> ks = a.ints("kernel_shape", {kh, kw});
    if (ks.size() != 2 || ks[0] != kh || ks[1] != kw)
      return ctx.fail(StatusCode::kInvalidModel, "kernel_shape does not match weight W " + shape_str(w.shape));
    const std::vector<int64_t> strides = a.ints("strides", {1, 1});
    const std::vector<int64_t> dil = a.ints("dilations", {1, 1});
    std::vector<int64_t> pads = a.ints("pads", {0, 0, 0, 0});
    const std::vector<int64_t> opad = a.ints("output_padding", {0, 0});
    const std::string auto_pad = a.s("auto_pad", "NOTSET");
    if (strides.size() != 2 || strides[0] <= 0 || strides[1] <= 0)
      return ctx.fail(StatusCode::kInvalidModel, "strides must be 2 positive values, got " + ints_str(strides));
    if (dil.size() != 2 || dil[0] <= 0 || dil[1] <= 0)
      return ctx.fail(StatusCode::kInvalidModel, "dilations must be 2 positive values, got " + ints_str(dil));
    if (pads.size() != 4 || pads[0] < 0 || pads[1] < 0 || pads[2] < 0 || pads[3] < 0)
      return ctx.fail(StatusCode::kInvalidModel, "pads must be 4 non-negative values, got " + ints_str(pads));
    if (opad.size() != 2 || opad[0] < 0 || opad[1] < 0 || opad[0] >= std::max(strides[0], dil[0]) ||
        opad[1] >= std::max(strides[1], dil[1]))
      return ctx.fail(StatusCode::kInvalidModel,
                      "output_padding " + ints_str(opad) + " must be non-negative and below max(stride, dilation)");
    const int64_t k[2] = {kh, kw}, in[2] = {h, wd};
    int64_t out[2];
    if (const std::string bad = conv_transpose_output(in, k, strides, dil, opad, auto_pad, &pads, out); !bad.empty())
      return ctx.fail(StatusCode::kInvalidModel, bad);
    for (int d = 0; d < 2; ++d) {
      if (out[d] <= 0 && in[d] > 0)
        return ctx.fail(StatusCode::kInvalidModel, "pads " + ints_str(pads) + " leave no output for input " +
                                                       shape_str(x.shape));
    }
    const float* bias = nullptr;
    if (ctx.has_input(2)) {
      POCKET_RETURN_IF_ERROR(expect_f32(ctx, 2, 1, "bias B"));
      const Value& b = ctx.in(2);
      if (b.shape[0] != m)
        return ctx.fail(StatusCode::kInvalidModel,
                        "bias B " + shape_str(b.shape) + " must have " + std::to_string(m) + " elements");
      if (!b.constant) return ctx.fail(StatusCode::kUnsupported, "bias B '" + std::string(b.name) + "' must be a constant");
      bias = b.as<float>();
      bias_.assign(bias, bias + m);
    }
    POCKET_RETURN_IF_ERROR(parse_activation(ctx, &act_));
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = {n, std::max<int64_t>(out[0], 0), std::max<int64_t>(out[1], 0), m};

    p_ = kernels::Conv2dF32Params{};
    p_.batch = n;
    p_.in_h = h, p_.in_w = wd, p_.in_c = c;
    p_.out_h = y.shape[1], p_.out_w = y.shape[2], p_.out_c = m;
    p_.kernel_h = kh, p_.kernel_w = kw;
    p_.stride_h = strides[0], p_.stride_w = strides[1];
    p_.dilation_h = dil[0], p_.dilation_w = dil[1];
    p_.pad_top = pads[0], p_.pad_left = pads[1];
    p_.groups = group;
    p_.out_min = act_.out_min;
    p_.out_max = act_.out_max;
    p_.bias = bias ? bias_.data() : nullptr;
    adjust_h_ = static_cast<uint32_t>(opad[0]);
    adjust_w_ = static_cast<uint32_t>(opad[1]);
    flops_ = saturating_product({2, n, h, wd, c, mg, kh, kw});

    // [C][M/g][kH][kW] -> [g][M/g][kH][kW][C/g].
    const float* src = w.as<float>();
    weights_.resize(static_cast<size_t>(m * kh * kw * cg));
    for (int64_t g = 0; g < group; ++g)
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t mo = 0; mo < mg; ++mo)
          for (int64_t kk = 0; kk < kh * kw; ++kk)
            weights_[((g * mg + mo) * kh * kw + kk) * cg + ci] = src[((g * cg + ci) * mg + mo) * kh * kw + kk];
    p_.weights = weights_.data();

    // XNNPACK takes the adjustment only below the stride.
    if (kernels::xnnpack_available() && opad[0] < strides[0] && opad[1] < strides[1]) {
      const xnn_status st = xnn_create_deconvolution2d_nhwc_f32(
          static_cast<uint32_t>(pads[0]), static_cast<uint32_t>(pads[3]), static_cast<uint32_t>(pads[2]),
          static_cast<uint32_t>(pads[1]), static_cast<uint32_t>(kh), static_cast<uint32_t>(kw),
          static_cast<uint32_t>(strides[0]), static_cast<uint32_t>(strides[1]), static_cast<uint32_t>(dil[0]),
          static_cast<uint32_t>(dil[1]), static_cast<uint32_t>(group), static_cast<size_t>(cg), static_cast<size_t>(mg),
          static_cast<size_t>(c), static_cast<size_t>(m), weights_.data(), p_.bias, act_.out_min, act_.out_max, 0,
          xnn_.out());
      if (st != xnn_status_success) xnn_.reset();
    }
    return Status::Ok();
  }

  Status bind(OpContext& ctx) override {
    if (!xnn_) return Status::Ok();
    const xnn_status st = xnn_setup_deconvolution2d_nhwc_f32(
        xnn_.get(), static_cast<size_t>(p_.batch), static_cast<size_t>(p_.in_h), static_cast<size_t>(p_.in_w),
        adjust_h_, adjust_w_, ctx.in(0).as<float>(), ctx.out(0).as<float>(), ctx.pool);
    if (st != xnn_status_success) xnn_.reset();  // the direct kernel still has everything it needs
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    float* y = ctx.out(0).as<float>();
    if (xnn_) xnn_run_operator(xnn_.get(), ctx.pool);
    else kernels::deconv2d_f32_scalar(p_, ctx.in(0).as<float>(), y, ctx.pool);
    if (act_.has_post())
      kernels::apply_activation_f32(act_.post, y, static_cast<size_t>(ctx.out(0).elements()), ctx.pool);
  }

  std::string kernel_name() const override { return xnn_ ? "xnnpack.deconv2d" : "scalar"; }
  size_t private_bytes() const override { return (weights_.capacity() + bias_.capacity()) * sizeof(float); }
  int64_t flops(const OpContext&) const override { return flops_; }

 private:
  kernels::Conv2dF32Params p_;
  std::vector<float> weights_, bias_;
  FusedActivation act_;
  XnnOp xnn_;
  uint32_t adjust_h_ = 0, adjust_w_ = 0;
  int64_t flops_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_conv_transpose() { return std::make_unique<ConvTransposeOp>(); }

}  // namespace pocket
