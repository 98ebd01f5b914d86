// Conv in int8 (format/OPS.md, "Quantization"), channels-last:
//   static   X I8 -> Y I8 (per tensor), W I8 symmetric per output channel or per tensor, B F32,
//            R I8 (optional); group 1 or depthwise;
//   dynamic  X F32 -> Y F32, W I8 as above, group 1: each image is quantized at run time (one
//            scale and zero point per image, over [min(0, lo), max(0, hi)]), R F32.
// Group 1: a 1x1 stride-1 unpadded conv is one int8 GEMM over the pixels; any other shape builds
// int8 im2col rows (out-of-image taps read X's zero point, i.e. real 0) in blocks of output pixels
// small enough to stay in cache, each block one int8 GEMM. Depthwise: kernels::dwconv_qs8. The
// bias, residual, fused activation and clamp run in the GEMM epilogue in f32 before the output is
// requantized (static) or stored (dynamic). Weights are packed once per model (weight cache).
#include <algorithm>
#include <cstring>

#include "engine/ops/nn_common.h"
#include "engine/ops/quant/quant_common.h"
#include "format/format.h"

namespace pocket {

namespace {

using kernels::QParams;

constexpr size_t kIm2colBlockBytes = 256 << 10;  // int8 im2col rows per GEMM block

size_t align64(size_t n) { return (n + 63) / 64 * 64; }

class QConvOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    if (ctx.inputs.size() < 2 || !ctx.has_input(0) || !ctx.has_input(1))
      return ctx.fail(StatusCode::kInvalidModel, "needs inputs X and W");
    const Value& x = ctx.in(0);
    const Value& w = ctx.in(1);
    dynamic_ = x.dtype == DType::F32;
    if (!dynamic_) POCKET_RETURN_IF_ERROR(per_tensor_qparams(ctx, x, "input X", &px_));
    if (x.rank() != 4) return ctx.fail(StatusCode::kInvalidModel, describe_value("input X", x) + " must be NHWC (rank 4)");
    if (!is_q8(&w) || !w.constant || w.rank() != 4)
      return ctx.fail(StatusCode::kUnsupported, describe_value("weight W", w) + " must be a constant quantized I8 [M, C/group, kH, kW]");
    n_ = x.shape[0], h_ = x.shape[1], w_ = x.shape[2], c_ = x.shape[3];
    m_ = w.shape[0];
    const int64_t cg = w.shape[1];
    kh_ = w.shape[2], kw_ = w.shape[3];
    const int64_t group = ctx.attrs().i("group", 1);
    if (group <= 0 || cg <= 0 || c_ != cg * group || m_ <= 0 || m_ % group != 0)
      return ctx.fail(StatusCode::kInvalidModel, describe_value("input X", x) + " (NHWC) does not match " +
                                                     describe_value("weight W", w) + " with group " + std::to_string(group));
    depthwise_ = group > 1 && group == c_ && m_ == c_;
    if (group != 1 && !depthwise_)
      return ctx.fail(StatusCode::kUnsupported, "int8 Conv supports group 1 and depthwise, not group " + std::to_string(group) +
                                                    " with " + std::to_string(c_) + " input channels");
    if (depthwise_ && dynamic_)
      return ctx.fail(StatusCode::kUnsupported, "a depthwise Conv with float input takes dequantized weights (internal)");
    const std::vector<int64_t> ks = ctx.attrs().ints("kernel_shape", {kh_, kw_});
    if (ks.size() != 2 || ks[0] != kh_ || ks[1] != kw_)
      return ctx.fail(StatusCode::kInvalidModel, "kernel_shape does not match weight W " + shape_str(w.shape));
    POCKET_RETURN_IF_ERROR(weight_scales(ctx, w, "weight W", 0, m_, &w_scales_));
    Window2d win;
    POCKET_RETURN_IF_ERROR(resolve_window(ctx, h_, w_, kh_, kw_, false, true, &win));
    win_ = win;
    oh_ = win.out_h, ow_ = win.out_w;
    const Shape out_shape = {n_, oh_, ow_, m_};
    // A hostile window or channel count: refuse outputs no memory could hold before any size or
    // count below is computed from them (fuzz_model: oh * ow overflowed).
    if (num_elements(out_shape) < 0 || num_elements(out_shape) > (int64_t{1} << 40))
      return ctx.fail(StatusCode::kOutOfMemory, "output " + shape_str(out_shape) + " is too large");

    ep_ = kernels::QGemmEpilogue{};
    POCKET_RETURN_IF_ERROR(parse_qactivation(ctx, &ep_));
    ep_.b_scale = w_scales_.data();
    bias_ = nullptr;
    if (ctx.has_input(2)) {
      POCKET_RETURN_IF_ERROR(expect_f32(ctx, 2, 1, "bias B"));
      const Value& b = ctx.in(2);
      if (b.shape[0] != m_ || !b.constant)
        return ctx.fail(StatusCode::kInvalidModel, describe_value("bias B", b) + " must be a constant of " + std::to_string(m_) + " elements");
      bias_ = b.as<float>();
    }
    ep_.bias = bias_;
    residual_ = ctx.has_input(3);
    if (residual_) {
      const Value& r = ctx.in(3);
      if (r.shape != out_shape)
        return ctx.fail(StatusCode::kInvalidModel, describe_value("residual R", r) + " must have the output's shape " + shape_str(out_shape));
      if (dynamic_) {
        if (r.dtype != DType::F32) return ctx.fail(StatusCode::kInvalidModel, describe_value("residual R", r) + " must be F32 like X");
      } else {
        QParams pr;
        POCKET_RETURN_IF_ERROR(per_tensor_qparams(ctx, r, "residual R", &pr));
        ep_.residual_scale = pr.scale;
        ep_.residual_zero_point = pr.zero_point;
      }
      ep_.ld_residual = m_;
    }
    if (dynamic_) {
      Value& y = ctx.out(0);
      y.dtype = DType::F32;
      y.shape = out_shape;
      ep_.out_i8 = false;
    } else {
      QParams py;
      POCKET_RETURN_IF_ERROR(q8_output(ctx, 0, out_shape, &py));
      ep_.out_i8 = true;
      ep_.out_scale = py.scale;
      ep_.out_zero_point = py.zero_point;
    }
    flops_ = saturating_product({2, n_, oh_, ow_, m_, cg, kh_, kw_});

    const int8_t* wsrc = w.as<int8_t>();
    const std::string key = ctx.op_name() + "/" + shape_str(w.shape) + "/";
    if (depthwise_) {
      // OIHW [C][1][kH][kW] -> [kH][kW][C].
      const int64_t c = c_, taps = kh_ * kw_;
      packed_ = pack_weights(ctx.weight_cache, key + "qs8.dw", static_cast<size_t>(taps * c), [&](void* p) {
        int8_t* d = static_cast<int8_t*>(p);
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t t = 0; t < taps; ++t) d[t * c + ch] = wsrc[ch * taps + t];
      });
      ctx.scratch_bytes = 0;
      name_ = "qs8.dwconv";
      return Status::Ok();
    }

    kernel_ = &kernels::qgemm_kernel();
    k_ = kh_ * kw_ * c_;
    pointwise_ = kh_ == 1 && kw_ == 1 && win.stride_h == 1 && win.stride_w == 1 && win.pad_top == 0 && win.pad_left == 0 &&
                 win.pad_bottom == 0 && win.pad_right == 0;
    // B(p, j) = W_ohwi[j][p]: OIHW is OHWI for 1x1 kernels; others are reordered once here.
    const std::string kname = kernels::qgemm_kernel_name(*kernel_);
    const size_t pbytes = kernels::qgemm_packed_b_bytes(*kernel_, k_, m_);
    const int64_t k = k_, m = m_, kh = kh_, kw = kw_, c = c_;
    packed_ = pack_weights(ctx.weight_cache, key + kname, pbytes, [&](void* p) {
      if (kh == 1 && kw == 1) {
        kernels::qgemm_pack_b(*kernel_, k, m, wsrc, 1, k, p);
        return;
      }
      std::vector<int8_t> ohwi(static_cast<size_t>(m * k));
      for (int64_t o = 0; o < m; ++o)
        for (int64_t i = 0; i < c; ++i)
          for (int64_t y0 = 0; y0 < kh; ++y0)
            for (int64_t x0 = 0; x0 < kw; ++x0)
              ohwi[static_cast<size_t>(((o * kh + y0) * kw + x0) * c + i)] = wsrc[((o * c + i) * kh + y0) * kw + x0];
      kernels::qgemm_pack_b(*kernel_, k, m, ohwi.data(), 1, k, p);
    });
    const int64_t pixels = oh_ * ow_;
    block_rows_ = pointwise_ ? pixels
                             : std::min<int64_t>(pixels, std::max<int64_t>(32, static_cast<int64_t>(kIm2colBlockBytes) / k_));
    block_rows_ = std::max<int64_t>(1, block_rows_);
    size_t s = 0;
    qx_off_ = s;
    if (dynamic_) s += align64(static_cast<size_t>(h_ * w_ * c_));
    col_off_ = s;
    if (!pointwise_) s += align64(static_cast<size_t>(block_rows_ * k_));
    gemm_off_ = s;
    s += align64(kernels::qgemm_scratch_bytes(*kernel_, block_rows_, m_, k_, ctx.num_threads));
    ctx.scratch_bytes = s;
    name_ = qgemm_name(dynamic_) + (pointwise_ ? ".conv1x1" : ".im2col");
    return Status::Ok();
  }

  void run(OpContext& ctx) override {
    if (depthwise_) {
      kernels::DwConvQs8Args a;
      a.n = n_, a.h = h_, a.w = w_, a.c = c_, a.kh = kh_, a.kw = kw_;
      a.stride_h = win_.stride_h, a.stride_w = win_.stride_w, a.dilation_h = win_.dilation_h, a.dilation_w = win_.dilation_w;
      a.pad_top = win_.pad_top, a.pad_left = win_.pad_left, a.oh = oh_, a.ow = ow_;
      a.x = ctx.in(0).as<int8_t>();
      a.x_zero_point = px_.zero_point;
      a.weights = packed_->as<int8_t>();
      a.out = ctx.out(0).data;
      a.ep = ep_;
      a.ep.a_scale = &px_.scale;
      a.ep.a_scale_per_row = false;
      if (residual_) a.ep.residual_i8 = ctx.in(3).as<int8_t>();
      kernels::dwconv_qs8(a, ctx.pool);
      return;
    }
    char* scratch = static_cast<char*>(ctx.scratch);
    int8_t* qx = reinterpret_cast<int8_t*>(scratch + qx_off_);
    int8_t* col = reinterpret_cast<int8_t*>(scratch + col_off_);
    void* gemm_scratch = scratch + gemm_off_;
    const int64_t pixels = oh_ * ow_, image = h_ * w_ * c_;
    for (int64_t b = 0; b < n_; ++b) {
      const int8_t* xi;
      QParams p = px_;
      if (dynamic_) {
        p = kernels::quantize_row_dynamic_f32_s8(ctx.in(0).as<float>() + b * image, image, qx);
        xi = qx;
      } else {
        xi = ctx.in(0).as<int8_t>() + b * image;
      }
      a_scale_ = p.scale;
      a_zero_point_ = p.zero_point;
      for (int64_t row0 = 0; row0 < pixels; row0 += block_rows_) {
        const int64_t rows = std::min(block_rows_, pixels - row0);
        kernels::QGemmArgs g;
        g.m = rows, g.n = m_, g.k = k_;
        if (pointwise_) {
          g.a = xi + row0 * c_;
          g.lda = c_;
        } else {
          const int8_t pad = static_cast<int8_t>(p.zero_point);
          const Window2d& w = win_;
          const int64_t hh = h_, ww = w_, cc = c_, kh = kh_, kw = kw_, ow = ow_, k = k_;
          parallel_tiles(ctx.pool, rows, std::max<int64_t>(8, rows / std::max(1, ctx.num_threads)), [&](int64_t s, int64_t n) {
            kernels::im2col_s8(xi, hh, ww, cc, kh, kw, w.stride_h, w.stride_w, w.dilation_h, w.dilation_w, w.pad_top,
                               w.pad_left, ow, row0 + s, n, pad, col + s * k);
          });
          g.a = col;
          g.lda = k_;
        }
        g.a_zero_point = &a_zero_point_;
        g.packed_b = packed_->data();
        const int64_t out_off = (b * pixels + row0) * m_;
        if (dynamic_) g.c_f32 = ctx.out(0).as<float>() + out_off;
        else g.c_i8 = ctx.out(0).as<int8_t>() + out_off;
        g.ldc = m_;
        g.ep = ep_;
        g.ep.a_scale = &a_scale_;
        if (residual_) {
          if (dynamic_) g.ep.residual_f32 = ctx.in(3).as<float>() + out_off;
          else g.ep.residual_i8 = ctx.in(3).as<int8_t>() + out_off;
        }
        kernels::qgemm(*kernel_, g, gemm_scratch, ctx.pool);
      }
    }
  }

  std::string kernel_name() const override { return name_; }
  size_t private_bytes() const override { return w_scales_.capacity() * sizeof(float); }
  int64_t flops(const OpContext&) const override { return flops_; }

 private:
  bool dynamic_ = false, depthwise_ = false, pointwise_ = false, residual_ = false;
  QParams px_;
  int64_t n_ = 0, h_ = 0, w_ = 0, c_ = 0, m_ = 0, kh_ = 0, kw_ = 0, oh_ = 0, ow_ = 0, k_ = 0, block_rows_ = 1;
  Window2d win_;
  std::vector<float> w_scales_;
  const float* bias_ = nullptr;
  kernels::QGemmEpilogue ep_;
  const kernels::QGemmKernel* kernel_ = nullptr;
  std::shared_ptr<const PackedWeights> packed_;
  size_t qx_off_ = 0, col_off_ = 0, gemm_off_ = 0;
  float a_scale_ = 1.f;
  int32_t a_zero_point_ = 0;
  int64_t flops_ = 0;
  std::string name_ = "none";
};

}  // namespace

std::unique_ptr<Op> make_qconv_op() { return std::make_unique<QConvOp>(); }

}  // namespace pocket
