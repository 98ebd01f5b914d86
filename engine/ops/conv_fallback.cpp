// The two Conv implementations that handle every shape: XNNPACK's convolution2d_nhwc_f32
// (depthwise through XNN_FLAG_DEPTHWISE_CONVOLUTION) and the scalar direct reference.
#include <xnnpack.h>

#include <algorithm>

#include "engine/ops/conv_impl.h"
#include "kernels/xnnpack/xnnpack_init.h"

namespace pocket {

namespace {

bool fits_u32(std::initializer_list<int64_t> v) {
  for (int64_t x : v)
    if (x < 0 || x > 0x7fffffff) return false;
  return true;
}

struct ResidualCtx {
  float* y;
  const float* r;
  float lo, hi;
};

void residual_block(void* context, size_t start, size_t count) {
  const auto* c = static_cast<const ResidualCtx*>(context);
  float* y = c->y + start;
  const float* r = c->r + start;
  for (size_t i = 0; i < count; ++i) y[i] = std::min(std::max(y[i] + r[i], c->lo), c->hi);
}

class XnnpackConv final : public ConvImpl {
 public:
  explicit XnnpackConv(const ConvDesc& d) : d_(d) {
    const auto& p = d.p;
    const int64_t cg = p.in_c / p.groups, mg = p.out_c / p.groups;
    depthwise_ = cg == 1 && p.groups > 1;
    std::vector<float> hwg;
    const float* kernel = d.weights_ohwi;
    uint32_t flags = 0;
    if (depthwise_) {
      // Depthwise weights are [kH][kW][C * multiplier].
      const int64_t taps = p.kernel_h * p.kernel_w;
      hwg.resize(static_cast<size_t>(taps * p.out_c));
      for (int64_t o = 0; o < p.out_c; ++o)
        for (int64_t k = 0; k < taps; ++k) hwg[k * p.out_c + o] = d.weights_ohwi[o * taps + k];
      kernel = hwg.data();
      flags = XNN_FLAG_DEPTHWISE_CONVOLUTION;
    }
    // With a residual the clamp must come after the add, so XNNPACK runs unclamped.
    const float lo = d.residual ? -std::numeric_limits<float>::infinity() : p.out_min;
    const float hi = d.residual ? std::numeric_limits<float>::infinity() : p.out_max;
    const auto& w = d.win;
    const xnn_status st = xnn_create_convolution2d_nhwc_f32(
        static_cast<uint32_t>(w.pad_top), static_cast<uint32_t>(w.pad_right), static_cast<uint32_t>(w.pad_bottom),
        static_cast<uint32_t>(w.pad_left), static_cast<uint32_t>(p.kernel_h), static_cast<uint32_t>(p.kernel_w),
        static_cast<uint32_t>(p.stride_h), static_cast<uint32_t>(p.stride_w), static_cast<uint32_t>(p.dilation_h),
        static_cast<uint32_t>(p.dilation_w), static_cast<uint32_t>(p.groups), static_cast<size_t>(cg),
        static_cast<size_t>(mg), static_cast<size_t>(p.in_c), static_cast<size_t>(p.out_c), kernel, d.bias, lo, hi,
        flags, xnn_.out());
    if (st != xnn_status_success) xnn_.reset();
  }
  bool ok() const { return static_cast<bool>(xnn_); }

  std::string name() const override { return depthwise_ ? "xnnpack.dwconv" : "xnnpack.conv2d"; }
  Status bind(const float* x, float* y, pthreadpool_t pool) override {
    const xnn_status st =
        xnn_setup_convolution2d_nhwc_f32(xnn_.get(), static_cast<size_t>(d_.p.batch), static_cast<size_t>(d_.p.in_h),
                                         static_cast<size_t>(d_.p.in_w), x, y, pool);
    if (st != xnn_status_success) return Status(StatusCode::kInternal, "XNNPACK convolution setup failed");
    return Status::Ok();
  }
  void run(const float* x, const float* residual, float* y, void*, pthreadpool_t pool) override {
    xnn_run_operator(xnn_.get(), pool);
    if (residual) {
      const auto& p = d_.p;
      conv_add_residual_clamp(y, residual, static_cast<size_t>(p.batch * p.out_h * p.out_w * p.out_c), p.out_min,
                              p.out_max, pool);
    }
  }

 private:
  ConvDesc d_;
  XnnOp xnn_;
  bool depthwise_ = false;
};

class DirectConv final : public ConvImpl {
 public:
  explicit DirectConv(const ConvDesc& d) : p_(d.p) {
    const size_t n = static_cast<size_t>(p_.out_c * p_.kernel_h * p_.kernel_w * (p_.in_c / p_.groups));
    weights_.assign(d.weights_ohwi, d.weights_ohwi + n);
    if (d.bias) bias_.assign(d.bias, d.bias + p_.out_c);
    p_.weights = weights_.data();
    p_.bias = d.bias ? bias_.data() : nullptr;
    residual_ = d.residual;
    if (residual_) {
      lo_ = p_.out_min, hi_ = p_.out_max;
      p_.out_min = -std::numeric_limits<float>::infinity();
      p_.out_max = std::numeric_limits<float>::infinity();
    }
  }
  std::string name() const override { return "pocket.direct.scalar"; }
  size_t private_bytes() const override { return (weights_.capacity() + bias_.capacity()) * sizeof(float); }
  void run(const float* x, const float* residual, float* y, void*, pthreadpool_t pool) override {
    kernels::conv2d_f32_scalar(p_, x, y, pool);
    if (residual)
      conv_add_residual_clamp(y, residual, static_cast<size_t>(p_.batch * p_.out_h * p_.out_w * p_.out_c), lo_, hi_,
                              pool);
  }

 private:
  kernels::Conv2dF32Params p_;
  std::vector<float> weights_, bias_;
  bool residual_ = false;
  float lo_ = 0, hi_ = 0;
};

bool xnnpack_supports(const ConvDesc& d) {
  const auto& w = d.win;
  return kernels::xnnpack_available() &&
         fits_u32({w.pad_top, w.pad_left, w.pad_bottom, w.pad_right, d.p.kernel_h, d.p.kernel_w, d.p.stride_h,
                   d.p.stride_w, d.p.dilation_h, d.p.dilation_w, d.p.groups});
}

std::unique_ptr<ConvImpl> xnnpack_create(const ConvDesc& d) {
  auto impl = std::make_unique<XnnpackConv>(d);
  if (!impl->ok()) return nullptr;
  return impl;
}

bool direct_supports(const ConvDesc&) { return true; }
std::unique_ptr<ConvImpl> direct_create(const ConvDesc& d) { return std::make_unique<DirectConv>(d); }

}  // namespace

const ConvCandidate kConvXnnpack = {"xnnpack", xnnpack_supports, xnnpack_create};
const ConvCandidate kConvDirect = {"pocket.direct", direct_supports, direct_create};

void conv_add_residual_clamp(float* y, const float* r, size_t n, float lo, float hi, pthreadpool_t pool) {
  ResidualCtx c{y, r, lo, hi};
  pthreadpool_parallelize_1d_tile_1d(pool, residual_block, &c, n, 16384, 0);
}

}  // namespace pocket
