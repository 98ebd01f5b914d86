// MaxPool and AveragePool, channels-last X [N,H,W,C]. Attributes: kernel_shape[2], strides,
// pads [top, left, bottom, right], dilations (MaxPool only), ceil_mode, count_include_pad
// (AveragePool), auto_pad. One output (MaxPool indices are not supported).
// Two implementations (variants(), default order first):
//  - "pocket.pool": the NHWC kernels of kernels/pool/ (AVX2/NEON/scalar), every case;
//  - "xnnpack": only where its semantics equal ONNX's exactly (below).
//  - XNNPACK max pooling reads padded positions as the nearest edge pixel, which equals ignoring
//    them only when every window holds the edge pixel it is clamped to: dilation 1 and pads
//    (ceil_mode extension included) smaller than the kernel;
//  - XNNPACK average pooling divides by the number of input (non-pad) elements when there is any
//    padding and by kH*kW otherwise: that is count_include_pad=0, or any mode without padding.
// By default Pocket's kernels run: in bench/kernels/pool_bench.cpp they match or beat XNNPACK's on the
// fixture models' shapes (1 thread). A tuner may still pick XNNPACK where it is exact.
#include <string>
#include <vector>

#include "engine/ops/nn_common.h"
#include "engine/ops/nn_ops.h"
#include "kernels/pool/pool_f32.h"
#include "kernels/xnnpack/xnnpack_init.h"

namespace pocket {

namespace {

class Pool2dOp final : public Op {
 public:
  explicit Pool2dOp(bool is_max) : max_(is_max) {}

  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 0, 4, "input X"));
    if (ctx.outputs.size() != 1)
      return ctx.fail(StatusCode::kUnsupported, "only one output is supported (no MaxPool indices)");
    const Value& x = ctx.in(0);
    const Attrs a = ctx.attrs();
    const std::vector<int64_t> ks = a.ints("kernel_shape");
    if (ks.size() != 2)
      return ctx.fail(StatusCode::kInvalidModel, "kernel_shape must have 2 values for input " + shape_str(x.shape));
    const int64_t ceil_mode = a.i("ceil_mode", 0);
    Window2d w;
    POCKET_RETURN_IF_ERROR(resolve_window(ctx, x.shape[1], x.shape[2], ks[0], ks[1], ceil_mode != 0, max_, &w));
    const bool include_pad = !max_ && a.i("count_include_pad", 0) != 0;

    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = {x.shape[0], w.out_h, w.out_w, x.shape[3]};
    p_ = kernels::Pool2dF32Params{};
    p_.batch = x.shape[0];
    p_.in_h = x.shape[1], p_.in_w = x.shape[2], p_.channels = x.shape[3];
    p_.out_h = w.out_h, p_.out_w = w.out_w;
    p_.kernel_h = w.kernel_h, p_.kernel_w = w.kernel_w;
    p_.stride_h = w.stride_h, p_.stride_w = w.stride_w;
    p_.dilation_h = w.dilation_h, p_.dilation_w = w.dilation_w;
    p_.pad_top = w.pad_top, p_.pad_left = w.pad_left, p_.pad_bottom = w.pad_bottom, p_.pad_right = w.pad_right;
    p_.count_include_pad = include_pad;
    flops_ = saturating_product({y.elements(), w.kernel_h, w.kernel_w});

    const int64_t pb = w.pad_bottom + w.extra_bottom, pr = w.pad_right + w.extra_right;
    const bool any_pad = w.pad_top || w.pad_left || pb || pr;
    const bool pads_inside = w.pad_top < w.kernel_h && pb < w.kernel_h && w.pad_left < w.kernel_w && pr < w.kernel_w;
    const bool small = w.kernel_h < (1 << 20) && w.kernel_w < (1 << 20) && w.stride_h < (1 << 20) &&
                       w.stride_w < (1 << 20) && w.dilation_h < (1 << 20) && w.dilation_w < (1 << 20);
    bool exact = small && pads_inside;
    if (max_) exact = exact && w.dilation_h == 1 && w.dilation_w == 1;
    else exact = exact && (!include_pad || !any_pad);
    xnn_.reset();
    variants_ = {"pocket.pool"};
    if (exact && kernels::xnnpack_available() && y.elements() > 0) variants_.push_back("xnnpack");
    chosen_ = ctx.variant >= 0 && ctx.variant < static_cast<int>(variants_.size()) ? ctx.variant : 0;
    if (variants_[static_cast<size_t>(chosen_)] == "xnnpack") {
      const float inf = std::numeric_limits<float>::infinity();
      const size_t c = static_cast<size_t>(x.shape[3]);
      xnn_status st;
      if (max_) {
        st = xnn_create_max_pooling2d_nhwc_f32(
            static_cast<uint32_t>(w.pad_top), static_cast<uint32_t>(pr), static_cast<uint32_t>(pb),
            static_cast<uint32_t>(w.pad_left), static_cast<uint32_t>(w.kernel_h), static_cast<uint32_t>(w.kernel_w),
            static_cast<uint32_t>(w.stride_h), static_cast<uint32_t>(w.stride_w), 1, 1, c, c, c, -inf, inf, 0,
            xnn_.out());
      } else {
        st = xnn_create_average_pooling2d_nhwc_f32(
            static_cast<uint32_t>(w.pad_top), static_cast<uint32_t>(pr), static_cast<uint32_t>(pb),
            static_cast<uint32_t>(w.pad_left), static_cast<uint32_t>(w.kernel_h), static_cast<uint32_t>(w.kernel_w),
            static_cast<uint32_t>(w.stride_h), static_cast<uint32_t>(w.stride_w), c, c, c, -inf, inf, 0, xnn_.out());
      }
      if (st != xnn_status_success) {
        xnn_.reset();
        chosen_ = 0;
      }
    }
    return Status::Ok();
  }

  Status bind(OpContext& ctx) override {
    if (!xnn_) return Status::Ok();
    const size_t n = static_cast<size_t>(p_.batch), h = static_cast<size_t>(p_.in_h), w = static_cast<size_t>(p_.in_w);
    const float* x = ctx.in(0).as<float>();
    float* y = ctx.out(0).as<float>();
    const xnn_status st = max_ ? xnn_setup_max_pooling2d_nhwc_f32(xnn_.get(), n, h, w, x, y, ctx.pool)
                               : xnn_setup_average_pooling2d_nhwc_f32(xnn_.get(), n, h, w, x, y, ctx.pool);
    if (st != xnn_status_success) {
      xnn_.reset();  // the NHWC kernel covers every case
      chosen_ = 0;
    }
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    if (xnn_) {
      xnn_run_operator(xnn_.get(), ctx.pool);
      return;
    }
    if (max_) kernels::max_pool2d_f32(kernel_, p_, ctx.in(0).as<float>(), ctx.out(0).as<float>(), ctx.pool);
    else kernels::avg_pool2d_f32(kernel_, p_, ctx.in(0).as<float>(), ctx.out(0).as<float>(), ctx.pool);
  }

  std::string kernel_name() const override {
    if (xnn_) return max_ ? "xnnpack.maxpool2d" : "xnnpack.avgpool2d";
    return std::string(max_ ? "pocket.maxpool2d." : "pocket.avgpool2d.") + kernel_.name;
  }
  int64_t flops(const OpContext&) const override { return flops_; }
  std::vector<std::string> variants() const override { return variants_; }
  int chosen_variant() const override { return chosen_; }

 private:
  bool max_;
  const kernels::PoolF32Kernel& kernel_ = kernels::pool_f32_kernel();
  kernels::Pool2dF32Params p_;
  XnnOp xnn_;
  std::vector<std::string> variants_;
  int chosen_ = 0;
  int64_t flops_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_max_pool() { return std::make_unique<Pool2dOp>(true); }
std::unique_ptr<Op> make_average_pool() { return std::make_unique<Pool2dOp>(false); }

}  // namespace pocket
