// Depthwise Conv (group == C == M, dilation 1): Pocket's kernels of kernels/conv/dwconv_f32.h.
// Weights (+ bias) are packed once at create in the kernel's channel groups; bias, residual and the
// clamp are applied in the kernel's store. 3x3 and 5x5 at stride 1 or 2 run register-blocked
// interiors; other kernel sizes and strides (up to 16x16) run the per-pixel path, still vectorised
// over channels.
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/conv_impl.h"
#include "kernels/conv/dwconv_f32.h"

namespace pocket {

namespace {

class DepthwiseConv final : public ConvImpl {
 public:
  explicit DepthwiseConv(const ConvDesc& d) : kernel_(kernels::dwconv_f32_kernel()) {
    const auto& q = d.p;
    const size_t floats = kernels::dwconv_f32_packed_floats(q.in_c, q.kernel_h, q.kernel_w, kernel_.channel_tile);
    auto pack = [&](void* dst) {
      kernels::dwconv_f32_pack(q.in_c, q.kernel_h, q.kernel_w, kernel_.channel_tile, d.weights_ohwi, d.bias,
                               static_cast<float*>(dst));
    };
    shared_ =
        pack_weights(d.weight_cache, d.cache_key + "/pocket.dwconv." + kernel_.name, floats * sizeof(float), pack);
    p_.packed = shared_->as<float>();
    zeros_.assign(kernels::dwconv_f32_zero_floats(q.in_w, q.in_c), 0.f);
    p_.batch = q.batch;
    p_.in_h = q.in_h, p_.in_w = q.in_w, p_.channels = q.in_c;
    p_.out_h = q.out_h, p_.out_w = q.out_w;
    p_.kernel_h = q.kernel_h, p_.kernel_w = q.kernel_w;
    p_.stride_h = q.stride_h, p_.stride_w = q.stride_w;
    p_.pad_top = q.pad_top, p_.pad_left = q.pad_left;
    p_.zeros = zeros_.data();
    p_.out_min = q.out_min, p_.out_max = q.out_max;
  }

  std::string name() const override {
    const bool blocked = p_.kernel_h == p_.kernel_w && (p_.kernel_h == 3 || p_.kernel_h == 5) &&
                         (p_.stride_w == 1 || p_.stride_w == 2);
    const std::string k =
        blocked ? std::to_string(p_.kernel_h) + "x" + std::to_string(p_.kernel_w) : std::string("generic");
    return "pocket.dwconv" + k + "." + kernel_.name;
  }

  void run(const float* x, const float* residual, float* y, void*, pthreadpool_t pool) override {
    kernels::dwconv_f32(kernel_, p_, x, residual, y, pool);
  }

  size_t private_bytes() const override { return zeros_.capacity() * sizeof(float); }

 private:
  const kernels::DwConvF32Kernel& kernel_;
  kernels::DwConvF32Params p_;
  std::shared_ptr<const PackedWeights> shared_;  // from the model's weight cache, or own (pack_weights)
  std::vector<float> zeros_;
};

bool dw_supports(const ConvDesc& d) {
  const auto& p = d.p;
  return d.depthwise() && p.dilation_h == 1 && p.dilation_w == 1 && p.kernel_h >= 1 &&
         p.kernel_h <= kernels::kDwConvMaxKernel && p.kernel_w >= 1 && p.kernel_w <= kernels::kDwConvMaxKernel &&
         p.stride_h >= 1 && p.stride_w >= 1 && p.pad_top >= 0 && p.pad_left >= 0 &&
         // The zero row is allocated at prepare: a hostile width (beside an empty axis) must not
         // make it huge (fuzz_model finding).
         static_cast<double>(p.in_w) * static_cast<double>(p.in_c) <= static_cast<double>(int64_t{1} << 28);
}

std::unique_ptr<ConvImpl> dw_create(const ConvDesc& d) { return std::make_unique<DepthwiseConv>(d); }

}  // namespace

const ConvCandidate kConvDepthwise = {"pocket.depthwise", dw_supports, dw_create};

}  // namespace pocket
