// Conv, channels-last. Inputs: X [N,H,W,C], W const [M, C/group, kH, kW] (ONNX OIHW), B const [M]
// (optional). Attributes: strides, dilations, pads [top, left, bottom, right], group, auto_pad,
// kernel_shape (optional; must match W), activation/act_alpha/act_beta. Output [N,OH,OW,M].
// XNNPACK convolution2d_nhwc_f32 runs every shape it accepts (depthwise through
// XNN_FLAG_DEPTHWISE_CONVOLUTION); the direct kernel runs the rest.
#include "engine/ops/nn_ops.h"

#include <cstring>

#include "engine/ops/nn_common.h"
#include "kernels/conv/conv2d_f32.h"
#include "kernels/xnnpack/xnnpack_init.h"

namespace pocket {

namespace {

bool fits_u32(std::initializer_list<int64_t> v) {
  for (int64_t x : v)
    if (x < 0 || x > 0x7fffffff) return false;
  return true;
}

class ConvOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 0, 4, "input X"));
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 1, 4, "weight W"));
    const Value& x = ctx.in(0);
    const Value& w = ctx.in(1);
    if (!w.constant || !w.data)
      return ctx.fail(StatusCode::kUnsupported, "weight W '" + std::string(w.name) + "' must be a constant");
    const int64_t n = x.shape[0], h = x.shape[1], wd = x.shape[2], c = x.shape[3];
    const int64_t m = w.shape[0], cg = w.shape[1], kh = w.shape[2], kw = w.shape[3];
    const int64_t group = ctx.attrs().i("group", 1);
    if (group <= 0) return ctx.fail(StatusCode::kInvalidModel, "group must be positive, got " + std::to_string(group));
    if (cg <= 0 || c != cg * group || m <= 0 || m % group != 0)
      return ctx.fail(StatusCode::kInvalidModel,
                      "input X " + shape_str(x.shape) + " (NHWC) does not match weight W " + shape_str(w.shape) +
                          " with group " + std::to_string(group) +
                          ": need C = W[1] * group and W[0] divisible by group");
    const std::vector<int64_t> ks = ctx.attrs().ints("kernel_shape", {kh, kw});
    if (ks.size() != 2 || ks[0] != kh || ks[1] != kw)
      return ctx.fail(StatusCode::kInvalidModel, "kernel_shape does not match weight W " + shape_str(w.shape));
    const float* bias = nullptr;
    if (ctx.has_input(2)) {
      POCKET_RETURN_IF_ERROR(expect_f32(ctx, 2, 1, "bias B"));
      const Value& b = ctx.in(2);
      if (b.shape[0] != m)
        return ctx.fail(StatusCode::kInvalidModel,
                        "bias B " + shape_str(b.shape) + " must have " + std::to_string(m) + " elements");
      if (!b.constant) return ctx.fail(StatusCode::kUnsupported, "bias B '" + std::string(b.name) + "' must be a constant");
      bias = b.as<float>();
    }
    Window2d win;
    POCKET_RETURN_IF_ERROR(resolve_window(ctx, h, wd, kh, kw, /*ceil_mode=*/false, /*allow_dilation=*/true, &win));
    POCKET_RETURN_IF_ERROR(parse_activation(ctx, &act_));

    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = {n, win.out_h, win.out_w, m};

    p_ = kernels::Conv2dF32Params{};
    p_.batch = n;
    p_.in_h = h, p_.in_w = wd, p_.in_c = c;
    p_.out_h = win.out_h, p_.out_w = win.out_w, p_.out_c = m;
    p_.kernel_h = kh, p_.kernel_w = kw;
    p_.stride_h = win.stride_h, p_.stride_w = win.stride_w;
    p_.dilation_h = win.dilation_h, p_.dilation_w = win.dilation_w;
    p_.pad_top = win.pad_top, p_.pad_left = win.pad_left;
    p_.groups = group;
    p_.out_min = act_.out_min;
    p_.out_max = act_.out_max;
    if (bias) bias_.assign(bias, bias + m);

    // OIHW -> [M][kH][kW][C/g], XNNPACK's grouped layout and the direct kernel's.
    const float* src = w.as<float>();
    weights_.resize(static_cast<size_t>(m * kh * kw * cg));
    for (int64_t o = 0; o < m; ++o)
      for (int64_t i = 0; i < cg; ++i)
        for (int64_t y0 = 0; y0 < kh; ++y0)
          for (int64_t x0 = 0; x0 < kw; ++x0)
            weights_[((o * kh + y0) * kw + x0) * cg + i] = src[((o * cg + i) * kh + y0) * kw + x0];
    p_.weights = weights_.data();
    p_.bias = bias ? bias_.data() : nullptr;
    flops_ = 2 * n * win.out_h * win.out_w * m * cg * kh * kw;

    if (kernels::xnnpack_available() &&
        fits_u32({win.pad_top, win.pad_left, win.pad_bottom, win.pad_right, kh, kw, win.stride_h, win.stride_w,
                  win.dilation_h, win.dilation_w, group})) {
      create_xnnpack(win, group, cg, m / group);
    }
    if (xnn_) {
      weights_.clear();
      weights_.shrink_to_fit();
      p_.weights = nullptr;
    }
    return Status::Ok();
  }

  Status bind(OpContext& ctx) override {
    if (!xnn_) return Status::Ok();
    const xnn_status st = xnn_setup_convolution2d_nhwc_f32(xnn_.get(), static_cast<size_t>(p_.batch),
                                                           static_cast<size_t>(p_.in_h), static_cast<size_t>(p_.in_w),
                                                           ctx.in(0).as<float>(), ctx.out(0).as<float>(), ctx.pool);
    if (st != xnn_status_success)
      return ctx.fail(StatusCode::kInternal, "XNNPACK convolution setup failed for input " + shape_str(ctx.in(0).shape));
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    float* y = ctx.out(0).as<float>();
    if (xnn_) xnn_run_operator(xnn_.get(), ctx.pool);
    else kernels::conv2d_f32_scalar(p_, ctx.in(0).as<float>(), y, ctx.pool);
    if (act_.has_post())
      kernels::apply_activation_f32(act_.post, y, static_cast<size_t>(ctx.out(0).elements()), ctx.pool);
  }

  std::string kernel_name() const override { return xnn_ ? (depthwise_ ? "xnnpack.dwconv" : "xnnpack.conv2d") : "scalar"; }
  int64_t flops(const OpContext&) const override { return flops_; }

 private:
  void create_xnnpack(const Window2d& win, int64_t group, int64_t cg, int64_t mg) {
    const int64_t kh = p_.kernel_h, kw = p_.kernel_w, m = p_.out_c;
    depthwise_ = cg == 1 && group > 1;
    std::vector<float> hwg;
    const float* kernel = weights_.data();
    uint32_t flags = 0;
    if (depthwise_) {
      // Depthwise weights are [kH][kW][C * multiplier].
      hwg.resize(static_cast<size_t>(kh * kw * m));
      for (int64_t o = 0; o < m; ++o)
        for (int64_t k = 0; k < kh * kw; ++k) hwg[k * m + o] = weights_[o * kh * kw + k];
      kernel = hwg.data();
      flags = XNN_FLAG_DEPTHWISE_CONVOLUTION;
    }
    const xnn_status st = xnn_create_convolution2d_nhwc_f32(
        static_cast<uint32_t>(win.pad_top), static_cast<uint32_t>(win.pad_right), static_cast<uint32_t>(win.pad_bottom),
        static_cast<uint32_t>(win.pad_left), static_cast<uint32_t>(kh), static_cast<uint32_t>(kw),
        static_cast<uint32_t>(win.stride_h), static_cast<uint32_t>(win.stride_w), static_cast<uint32_t>(win.dilation_h),
        static_cast<uint32_t>(win.dilation_w), static_cast<uint32_t>(group), static_cast<size_t>(cg),
        static_cast<size_t>(mg), static_cast<size_t>(p_.in_c), static_cast<size_t>(m), kernel,
        p_.bias, act_.out_min, act_.out_max, flags, xnn_.out());
    if (st != xnn_status_success) xnn_.reset();
  }

  kernels::Conv2dF32Params p_;
  std::vector<float> weights_, bias_;
  FusedActivation act_;
  XnnOp xnn_;
  bool depthwise_ = false;
  int64_t flops_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_conv() { return std::make_unique<ConvOp>(); }

}  // namespace pocket
