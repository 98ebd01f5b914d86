// Dense (group 1) Conv on Pocket's indirect-GEMM kernels (kernels/conv/igemm_f32.h). Weights are
// packed into the kernel's panels at create; the indirection buffer (one input row pointer per
// output pixel and kernel tap, padding taps at a zero row) is built at bind for the bound input,
// and run() re-bases it when the input moved. A 1x1 convolution without padding is the same
// kernel with one tap: a GEMM over the NHWC rows (strided rows for stride > 1).
#include <algorithm>
#include <vector>

#include "engine/ops/conv_impl.h"
#include "kernels/conv/igemm_f32.h"

namespace pocket {

namespace {

class IgemmConv final : public ConvImpl {
 public:
  explicit IgemmConv(const ConvDesc& d) : p_(d.p), kernel_(kernels::igemm_f32_kernel()) {
    const int64_t k = p_.kernel_h * p_.kernel_w * p_.in_c;
    const size_t floats = kernels::igemm_f32_packed_floats(kernel_, p_.out_c, k);
    packed_ = pack_weights(d.weight_cache, d.cache_key + "/pocket.igemm." + kernel_.name, floats * sizeof(float),
                           [&](void* dst) {
                             kernels::igemm_f32_pack(kernel_, p_.out_c, k, d.weights_ohwi, d.bias,
                                                     static_cast<float*>(dst));
                           });
    indirection_.resize(kernels::igemm_f32_indirection_size(p_, kernel_.mr));
    zero_.assign(static_cast<size_t>(p_.in_c), 0.f);
    gemm1x1_ = p_.kernel_h == 1 && p_.kernel_w == 1 && p_.pad_top == 0 && p_.pad_left == 0 &&
               d.win.pad_bottom == 0 && d.win.pad_right == 0;
  }

  std::string name() const override {
    return std::string(gemm1x1_ ? "pocket.gemm1x1." : "pocket.igemm.") + kernel_.name;
  }

  Status bind(const float* x, float*, pthreadpool_t) override {
    build(x);
    return Status::Ok();
  }

  void run(const float* x, const float* residual, float* y, void*, pthreadpool_t pool) override {
    if (!bound_) build(x);
    kernels::IgemmF32Args a;
    a.pixels = p_.batch * p_.out_h * p_.out_w;
    a.m = p_.out_c;
    a.kc = p_.in_c;
    a.ks = p_.kernel_h * p_.kernel_w;
    a.indirection = indirection_.data();
    a.a_offset = reinterpret_cast<const char*>(x) - reinterpret_cast<const char*>(bound_);
    a.zero = zero_.data();
    a.packed_w = packed_->as<float>();
    a.y = y;
    a.ldy = p_.out_c;
    a.residual = residual;
    a.ldr = p_.out_c;
    a.out_min = p_.out_min;
    a.out_max = p_.out_max;
    kernels::igemm_f32(kernel_, a, pool);
  }

  size_t private_bytes() const override {
    return zero_.capacity() * sizeof(float) + indirection_.capacity() * sizeof(const float*);
  }

 private:
  void build(const float* x) {
    kernels::igemm_f32_build_indirection(p_, kernel_.mr, x, zero_.data(), indirection_.data());
    bound_ = x;
  }

  kernels::Conv2dF32Params p_;
  const kernels::IgemmF32Kernel& kernel_;
  std::shared_ptr<const PackedWeights> packed_;
  std::vector<float> zero_;
  std::vector<const float*> indirection_;
  const float* bound_ = nullptr;
  bool gemm1x1_ = false;
};

bool gemm_supports(const ConvDesc& d) {
  const auto& p = d.p;
  return p.groups == 1 && p.batch > 0 && p.in_c > 0 && p.out_c > 0 && p.out_h > 0 && p.out_w > 0 &&
         p.kernel_h > 0 && p.kernel_w > 0 &&
         // The indirection table (a pointer per output pixel and tap) is built at prepare: a hostile
         // shape must not make it wrap or exhaust memory (fuzz_model finding).
         static_cast<double>(p.batch) * static_cast<double>(p.out_h) * static_cast<double>(p.out_w) *
                 static_cast<double>(p.kernel_h) * static_cast<double>(p.kernel_w) <=
             static_cast<double>(int64_t{1} << 28);
}

std::unique_ptr<ConvImpl> gemm_create(const ConvDesc& d) {
  if (!gemm_supports(d) || !d.weights_ohwi) return nullptr;
  return std::make_unique<IgemmConv>(d);
}

}  // namespace

const ConvCandidate kConvGemm = {"pocket.gemm", gemm_supports, gemm_create};

}  // namespace pocket
