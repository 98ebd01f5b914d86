// 3x3 stride-1 group-1 Conv by Winograd (kernels/conv/winograd_conv.h): F(4x4, 3x3) on 6x6 tiles,
// or F(2x2, 3x3) on 4x4 tiles where the output is too small for 4x4 tiles to pay (choose_tile).
// Weights are transformed once here, at create; run() only uses arena scratch.
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

#include "engine/ops/conv_impl.h"
#include "kernels/conv/winograd_conv.h"

namespace pocket {

namespace {

struct AlignedFree {
  void operator()(float* p) const { ::operator delete[](p, std::align_val_t(64)); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;
AlignedFloats aligned_floats(size_t n) {
  return AlignedFloats(
      static_cast<float*>(::operator new[](std::max<size_t>(n, 1) * sizeof(float), std::align_val_t(64))));
}

// F(4,3) on outputs of at least 16 x 16; F(2,3) below. Measured on ResNet-18's shapes (AVX2, 1
// thread, bench/kernels/winograd_bench.cpp): F(4,3) is 1.5x faster than F(2,3) at 56x56 and 28x28
// but 1.2-1.3x slower at 14x14 (4x4 tiles cover 16x16: 30 % waste) and 7x7, where its 36
// transformed weight matrices (vs 16) are streamed for only 4 tiles.
int choose_tile(const ConvDesc& d) { return std::min(d.p.out_h, d.p.out_w) >= 16 ? 4 : 2; }

class WinogradConv final : public ConvImpl {
 public:
  WinogradConv(const ConvDesc& d, int tile) : kernel_(kernels::winograd_f32_kernel()) {
    const auto& p = d.p;
    a_.tile = tile;
    a_.batch = p.batch;
    a_.in_h = p.in_h, a_.in_w = p.in_w, a_.c = p.in_c;
    a_.out_h = p.out_h, a_.out_w = p.out_w, a_.m = p.out_c;
    a_.pad_top = p.pad_top, a_.pad_left = p.pad_left;
    a_.out_min = p.out_min, a_.out_max = p.out_max;
    const size_t floats = kernels::winograd_packed_floats(tile, p.in_c, p.out_c);
    packed_ = pack_weights(d.weight_cache, d.cache_key + "/pocket.winograd" + std::to_string(tile) + "." + kernel_.name,
                           floats * sizeof(float), [&](void* dst) {
                             kernels::winograd_pack_weights(tile, p.in_c, p.out_c, d.weights_ohwi,
                                                            static_cast<float*>(dst));
                           });
    const size_t mpad = static_cast<size_t>(kernels::winograd_round16(p.out_c));
    bias_ = aligned_floats(mpad);
    std::fill(bias_.get(), bias_.get() + mpad, 0.f);
    if (d.bias) std::memcpy(bias_.get(), d.bias, static_cast<size_t>(p.out_c) * sizeof(float));
    a_.packed = packed_->as<float>();
    a_.bias = bias_.get();
    const int64_t total = kernels::winograd_total_tiles(tile, p.batch, p.out_h, p.out_w);
    a_.block_tiles = kernels::winograd_block_tiles(tile, p.in_c, p.out_c, total, kernel_.gemm_rows);
    scratch_ = kernels::winograd_scratch_floats(tile, p.in_c, p.out_c, a_.block_tiles) * sizeof(float);
  }

  std::string name() const override {
    return std::string(a_.tile == 4 ? "pocket.winograd4x4." : "pocket.winograd2x2.") + kernel_.name;
  }
  size_t scratch_bytes() const override { return scratch_; }
  void run(const float* x, const float* residual, float* y, void* scratch, pthreadpool_t pool) override {
    kernels::WinogradConvArgs a = a_;
    a.x = x;
    a.y = y;
    a.residual = residual;
    a.scratch = static_cast<float*>(scratch);
    kernels::winograd_conv_f32(kernel_, a, pool);
  }

 private:
  const kernels::WinogradF32Kernel& kernel_;
  kernels::WinogradConvArgs a_;
  std::shared_ptr<const PackedWeights> packed_;
  AlignedFloats bias_;
  size_t scratch_ = 0;
};

bool wino_supports(const ConvDesc& d) {
  const auto& p = d.p;
  if (p.kernel_h != 3 || p.kernel_w != 3 || p.stride_h != 1 || p.stride_w != 1 || p.dilation_h != 1 ||
      p.dilation_w != 1 || p.groups != 1)
    return false;
  // Padding beyond the kernel would give outputs whose windows miss the image entirely; they are
  // still correct here (zero input), but such layers are not worth a special path.
  if (p.pad_top > 2 || p.pad_left > 2 || d.win.pad_bottom > 2 || d.win.pad_right > 2) return false;
  // Few channels: the transforms cost as much as the saved multiplications (stems with C = 3).
  return p.in_c >= 16 && p.out_c >= 16 && p.out_h >= 2 && p.out_w >= 2;
}

std::unique_ptr<ConvImpl> wino_create(const ConvDesc& d) { return std::make_unique<WinogradConv>(d, choose_tile(d)); }

}  // namespace

const ConvCandidate kConvWinograd = {"pocket.winograd", wino_supports, wino_create};

}  // namespace pocket
