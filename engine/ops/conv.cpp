// Conv, channels-last. Inputs: X [N,H,W,C], W const [M, C/group, kH, kW] (ONNX OIHW), B const [M]
// (optional), R [N,OH,OW,M] (optional residual, added before the activation). Attributes:
// strides, dilations, pads [top, left, bottom, right], group, auto_pad, kernel_shape (optional;
// must match W), activation/act_alpha/act_beta. Output [N,OH,OW,M].
//
// The implementation is chosen per node at prepare (see conv_impl.h). Default heuristic, first
// supported candidate wins:
//   depthwise (group == C == M)      pocket.depthwise, xnnpack, pocket.direct
//   3x3 stride 1, group 1            pocket.winograd, pocket.gemm, xnnpack, pocket.direct
//   other group-1 shapes             pocket.gemm, xnnpack, pocket.direct
//   other grouped shapes             xnnpack, pocket.direct
// A tuner may pick any other supported candidate by index (ctx.variant).
#include "engine/ops/nn_ops.h"

#include <cstring>

#include "engine/ops/conv_impl.h"
#include "engine/ops/nn_common.h"

namespace pocket {

namespace {

std::vector<const ConvCandidate*> candidates_for(const ConvDesc& d) {
  std::vector<const ConvCandidate*> order;
  const auto& p = d.p;
  if (d.depthwise()) {
    order = {&kConvDepthwise, &kConvXnnpack, &kConvDirect};
  } else if (p.groups == 1) {
    if (p.kernel_h == 3 && p.kernel_w == 3 && p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 &&
        p.dilation_w == 1)
      order = {&kConvWinograd, &kConvGemm, &kConvXnnpack, &kConvDirect};
    else
      order = {&kConvGemm, &kConvXnnpack, &kConvDirect};
  } else {
    order = {&kConvXnnpack, &kConvDirect};
  }
  std::vector<const ConvCandidate*> out;
  for (const ConvCandidate* c : order)
    if (c->supports(d)) out.push_back(c);
  return out;
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
    ConvDesc d;
    POCKET_RETURN_IF_ERROR(resolve_window(ctx, h, wd, kh, kw, /*ceil_mode=*/false, /*allow_dilation=*/true, &d.win));
    POCKET_RETURN_IF_ERROR(parse_activation(ctx, &d.act));
    const Shape out_shape = {n, d.win.out_h, d.win.out_w, m};
    if (ctx.has_input(3)) {
      POCKET_RETURN_IF_ERROR(expect_f32(ctx, 3, 4, "residual R"));
      if (ctx.in(3).shape != out_shape)
        return ctx.fail(StatusCode::kInvalidModel, "residual R " + shape_str(ctx.in(3).shape) +
                                                       " must have the output's shape " + shape_str(out_shape));
      d.residual = true;
    }

    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = out_shape;

    auto& p = d.p;
    p.batch = n;
    p.in_h = h, p.in_w = wd, p.in_c = c;
    p.out_h = d.win.out_h, p.out_w = d.win.out_w, p.out_c = m;
    p.kernel_h = kh, p.kernel_w = kw;
    p.stride_h = d.win.stride_h, p.stride_w = d.win.stride_w;
    p.dilation_h = d.win.dilation_h, p.dilation_w = d.win.dilation_w;
    p.pad_top = d.win.pad_top, p.pad_left = d.win.pad_left;
    p.groups = group;
    p.out_min = d.act.out_min;
    p.out_max = d.act.out_max;
    p.bias = bias;
    d.bias = bias;
    d.weights_oihw = w.as<float>();
    d.num_threads = ctx.num_threads;
    d.weight_cache = ctx.weight_cache;
    d.cache_key = ctx.op_name() + "/" + shape_str(x.shape) + "/" + shape_str(w.shape);

    // OIHW -> [M][kH][kW][C/g], the layout most implementations start from. For 1x1 kernels and
    // for one channel per group (depthwise) the two layouts are the same bytes: no copy.
    const float* src = w.as<float>();
    std::vector<float> ohwi;
    if ((kh == 1 && kw == 1) || cg == 1) {
      d.weights_ohwi = src;
    } else {
      ohwi.resize(static_cast<size_t>(m * kh * kw * cg));
      for (int64_t o = 0; o < m; ++o)
        for (int64_t i = 0; i < cg; ++i)
          for (int64_t y0 = 0; y0 < kh; ++y0)
            for (int64_t x0 = 0; x0 < kw; ++x0)
              ohwi[((o * kh + y0) * kw + x0) * cg + i] = src[((o * cg + i) * kh + y0) * kw + x0];
      d.weights_ohwi = ohwi.data();
    }
    p.weights = d.weights_ohwi;
    out_elements_ = num_elements(Shape{n, m, d.win.out_h, d.win.out_w});
    if (out_elements_ < 0)
      return ctx.fail(StatusCode::kInvalidModel, "output [" + std::to_string(n) + "," + std::to_string(m) + "," +
                                                     std::to_string(d.win.out_h) + "," + std::to_string(d.win.out_w) +
                                                     "] is too large (its element count overflows)");
    // Saturating: a hostile shape must not overflow the profile's count.
    flops_ = saturating_product({2, out_elements_, cg, kh, kw});
    post_ = d.act.post;

    const std::vector<const ConvCandidate*> cands = candidates_for(d);
    variants_.clear();
    for (const ConvCandidate* cand : cands) variants_.push_back(cand->family);
    impl_.reset();
    chosen_ = -1;
    const int want = ctx.variant;
    if (want >= 0 && want < static_cast<int>(cands.size())) {
      impl_ = cands[want]->create(d);
      if (impl_) chosen_ = want;
    }
    for (size_t i = 0; !impl_ && i < cands.size(); ++i) {
      impl_ = cands[i]->create(d);
      if (impl_) chosen_ = static_cast<int>(i);
    }
    d.weights_ohwi = nullptr;
    if (!impl_) return ctx.fail(StatusCode::kUnsupported, "no convolution implementation accepts this shape");
    ctx.scratch_bytes = impl_->scratch_bytes();
    return Status::Ok();
  }

  Status bind(OpContext& ctx) override {
    Status st = impl_->bind(ctx.in(0).as<float>(), ctx.out(0).as<float>(), ctx.pool);
    if (!st.ok()) return ctx.fail(st.code(), st.message() + " for input " + shape_str(ctx.in(0).shape));
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    float* y = ctx.out(0).as<float>();
    const float* r = ctx.has_input(3) ? ctx.in(3).as<float>() : nullptr;
    impl_->run(ctx.in(0).as<float>(), r, y, ctx.scratch, ctx.pool);
    if (post_.kind != kernels::Activation::None)
      kernels::apply_activation_f32(post_, y, static_cast<size_t>(out_elements_), ctx.pool);
  }

  std::string kernel_name() const override { return impl_ ? impl_->name() : "none"; }
  size_t private_bytes() const override { return impl_ ? impl_->private_bytes() : 0; }
  int64_t flops(const OpContext&) const override { return flops_; }
  std::vector<std::string> variants() const override { return variants_; }
  int chosen_variant() const override { return chosen_; }

 private:
  std::unique_ptr<ConvImpl> impl_;
  std::vector<std::string> variants_;
  int chosen_ = -1;
  kernels::ActivationParams post_;
  int64_t flops_ = 0, out_elements_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_conv() { return std::make_unique<ConvOp>(); }

}  // namespace pocket
