// The small int8 forms (format/OPS.md, "Quantization"): QuantizeLinear, DequantizeLinear, Gather on
// an int8 embedding table, Add, MaxPool, AveragePool, GlobalAveragePool, SqueezeExcite and Concat.
// Kernels: kernels/quant/quant_ops.h.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/ops/nn_common.h"
#include "engine/ops/quant/quant_common.h"
#include "engine/ops/tensor_util.h"
#include "kernels/activation/activation_f32.h"

namespace pocket {

namespace {

using kernels::QParams;
constexpr int64_t kTile = 16384;  // elements per parallel task of the elementwise int8 kernels

// QuantizeLinear: X F32 -> Y I8 with Y's (per-tensor) parameters.
class QuantizeLinearOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    if (ctx.inputs.size() != 1 || !ctx.has_input(0) || ctx.outputs.size() != 1)
      return ctx.fail(StatusCode::kInvalidModel, "needs one input X and one output Y (the parameters live on Y)");
    const Value& x = ctx.in(0);
    if (x.dtype != DType::F32) return ctx.fail(StatusCode::kInvalidModel, describe_value("input X", x) + " must be F32");
    return q8_output(ctx, 0, x.shape, &py_);
  }
  void run(OpContext& ctx) override {
    const float* x = ctx.in(0).as<float>();
    int8_t* y = ctx.out(0).as<int8_t>();
    const QParams p = py_;
    parallel_tiles(ctx.pool, ctx.in(0).elements(), kTile,
                   [&](int64_t s, int64_t n) { kernels::quantize_f32_s8(x + s, n, p, y + s); });
  }
  std::string kernel_name() const override { return "qs8.quantize"; }

 private:
  QParams py_;
};

// DequantizeLinear: X I8 (per tensor or per axis) -> Y F32.
class DequantizeLinearOp final : public Op {
 public:
  bool accepts_quantized(const OpContext&, size_t i) const override { return i == 0; }
  Status prepare(OpContext& ctx) override {
    if (ctx.inputs.size() != 1 || !ctx.has_input(0) || ctx.outputs.size() != 1)
      return ctx.fail(StatusCode::kInvalidModel, "needs one input X and one output Y (the parameters live on X)");
    const Value& x = ctx.in(0);
    if (!is_q8(&x)) return ctx.fail(StatusCode::kInvalidModel, describe_value("input X", x) + " must be a quantized I8 tensor");
    const fb::Quantization* q = x.quant;
    scales_.assign(q->scales()->begin(), q->scales()->end());
    zps_.assign(scales_.size(), 0);
    if (q->zero_points() && q->zero_points()->size())
      for (size_t k = 0; k < zps_.size(); ++k) zps_[k] = static_cast<int32_t>(q->zero_points()->Get(static_cast<flatbuffers::uoffset_t>(k)));
    outer_ = 1, channels_ = 1, inner_ = x.elements();
    if (q->axis() >= 0) {
      for (int d = 0; d < q->axis(); ++d) outer_ *= x.shape[d];
      channels_ = x.shape[q->axis()];
      inner_ = 1;
      for (int64_t d = q->axis() + 1; d < x.rank(); ++d) inner_ *= x.shape[d];
      if (channels_ != static_cast<int64_t>(scales_.size()))
        return ctx.fail(StatusCode::kInvalidModel, describe_value("input X", x) + " has " + std::to_string(scales_.size()) +
                                                       " scales for axis " + std::to_string(q->axis()));
    }
    Value& y = ctx.out(0);
    y.dtype = DType::F32;
    y.shape = x.shape;
    return Status::Ok();
  }
  void run(OpContext& ctx) override {
    const int8_t* x = ctx.in(0).as<int8_t>();
    float* y = ctx.out(0).as<float>();
    if (channels_ == 1 && scales_.size() == 1) {
      const QParams p{scales_[0], zps_[0]};
      parallel_tiles(ctx.pool, inner_ * outer_, kTile,
                     [&](int64_t s, int64_t n) { kernels::dequantize_s8_f32(x + s, n, p, y + s); });
      return;
    }
    const int64_t per = channels_ * inner_;
    parallel_tiles(ctx.pool, outer_, 1, [&](int64_t s, int64_t n) {
      kernels::dequantize_s8_f32_axis(x + s * per, n, channels_, inner_, scales_.data(), zps_.data(), y + s * per);
    });
  }
  std::string kernel_name() const override { return "qs8.dequantize"; }

 private:
  std::vector<float> scales_;
  std::vector<int32_t> zps_;
  int64_t outer_ = 1, channels_ = 1, inner_ = 0;
};

// Gather on a constant int8 table (embeddings): output F32 rows, each dequantized with its row's
// scale (quantization axis = Gather's axis) or the tensor's.
class QGatherOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 2, 2, 1, 1));
    const Value& x = ctx.in(0);
    const Value& idx = ctx.in(1);
    if (!is_q8(&x) || !x.constant)
      return ctx.fail(StatusCode::kUnsupported, describe_value("data", x) + " must be a constant quantized I8 table");
    if (idx.dtype != DType::I64 && idx.dtype != DType::I32)
      return ctx.fail(StatusCode::kInvalidModel, describe_value("indices", idx) + " must be int64 or int32");
    const int64_t raw_axis = ctx.attrs().i("axis", 0);
    int64_t axis;
    if (!normalize_axis(raw_axis, x.rank(), &axis))
      return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(raw_axis) + " is out of range for " +
                                                     describe_value("data", x));
    const fb::Quantization* q = x.quant;
    const size_t ns = q->scales()->size();
    if (q->axis() != -1 && q->axis() != axis)
      return ctx.fail(StatusCode::kUnsupported, describe_value("data", x) + " is quantized along axis " +
                                                    std::to_string(q->axis()) + "; an int8 table needs one scale per row of axis " +
                                                    std::to_string(axis) + " (or one for all)");
    scales_.assign(q->scales()->begin(), q->scales()->end());
    zps_.assign(ns, 0);
    if (q->zero_points() && q->zero_points()->size())
      for (size_t k = 0; k < ns; ++k) zps_[k] = static_cast<int32_t>(q->zero_points()->Get(static_cast<flatbuffers::uoffset_t>(k)));
    per_row_ = q->axis() != -1;
    Shape out(x.shape.begin(), x.shape.begin() + axis);
    out.insert(out.end(), idx.shape.begin(), idx.shape.end());
    out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
    if (num_elements(out) < 0) return ctx.fail(StatusCode::kInvalidModel, "output shape " + shape_str(out) + " is too large");
    i64_ = idx.dtype == DType::I64;
    num_indices_ = idx.elements();
    axis_dim_ = x.shape[axis];
    outer_ = 1, inner_ = 1;
    for (int64_t d = 0; d < axis; ++d) outer_ *= x.shape[d];
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner_ *= x.shape[d];
    if (axis_dim_ == 0 && num_indices_ > 0 && outer_ * inner_ > 0)
      return ctx.fail(StatusCode::kInvalidModel, "cannot gather from an empty axis of " + describe_value("data", x));
    if (idx.constant && idx.data)
      for (int64_t j = 0; j < num_indices_; ++j) {
        const int64_t i = i64_ ? idx.as<const int64_t>()[j] : idx.as<const int32_t>()[j];
        if (i < -axis_dim_ || i >= axis_dim_)
          return ctx.fail(StatusCode::kInvalidModel, "index " + std::to_string(i) + " is out of range for axis " +
                                                         std::to_string(axis) + " of " + describe_value("data", x));
      }
    ctx.out(0).dtype = DType::F32;
    ctx.out(0).shape = out;
    return Status::Ok();
  }
  void run(OpContext& ctx) override {
    const int8_t* x = ctx.in(0).as<int8_t>();
    const void* idx = ctx.in(1).data;
    float* y = ctx.out(0).as<float>();
    const int64_t rows = outer_ * num_indices_;
    parallel_tiles(ctx.pool, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, inner_)), [&](int64_t s, int64_t n) {
      for (int64_t r = s; r < s + n; ++r) {
        const int64_t o = r / std::max<int64_t>(1, num_indices_), j = r % std::max<int64_t>(1, num_indices_);
        int64_t i = i64_ ? static_cast<const int64_t*>(idx)[j] : static_cast<const int32_t*>(idx)[j];
        if (i < 0) i += axis_dim_;
        i = std::min(std::max<int64_t>(i, 0), axis_dim_ - 1);  // run-time indices: clamped
        const size_t k = per_row_ ? static_cast<size_t>(i) : 0;
        kernels::dequantize_s8_f32(x + (o * axis_dim_ + i) * inner_, inner_, QParams{scales_[k], zps_[k]}, y + r * inner_);
      }
    });
  }
  std::string kernel_name() const override { return "qs8.gather"; }

 private:
  std::vector<float> scales_;
  std::vector<int32_t> zps_;
  bool per_row_ = false, i64_ = true;
  int64_t num_indices_ = 0, axis_dim_ = 0, outer_ = 1, inner_ = 1;
};

// Add: Y = quantize(real(A) + real(B)); same shapes, or one side per channel (last dim) / scalar.
class QAddOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    POCKET_RETURN_IF_ERROR(check_arity(ctx, 2, 2, 1, 1));
    const Value& a = ctx.in(0);
    const Value& b = ctx.in(1);
    POCKET_RETURN_IF_ERROR(per_tensor_qparams(ctx, a, "input A", &pa_));
    POCKET_RETURN_IF_ERROR(per_tensor_qparams(ctx, b, "input B", &pb_));
    swap_ = false;
    const Value* big = &a;
    const Value* small = &b;
    if (b.elements() > a.elements()) {
      std::swap(big, small);
      swap_ = true;
    }
    n_ = big->elements();
    const int64_t ns = small->elements();
    bool ok = small->shape == big->shape;
    channels_ = ok ? 0 : ns;
    if (!ok && ns == 1) ok = true;
    if (!ok && big->rank() >= 1 && ns == big->shape.back() && ns > 0) {
      // [C], [1, C], [1, 1, 1, C]: per channel (the last dim).
      ok = small->rank() <= big->rank() && small->shape.back() == ns;
    }
    if (!ok)
      return ctx.fail(StatusCode::kUnsupported, "int8 Add needs equal shapes or a per-channel / scalar operand, got " +
                                                    describe_value("A", a) + " and " + describe_value("B", b));
    FusedActivation act;
    POCKET_RETURN_IF_ERROR(parse_activation(ctx, &act));
    if (act.has_post()) return ctx.fail(StatusCode::kUnsupported, "int8 Add fuses only Relu/Clip");
    out_min_ = act.out_min, out_max_ = act.out_max;
    return q8_output(ctx, 0, big->shape, &py_);
  }
  void run(OpContext& ctx) override {
    const int8_t* a = ctx.in(0).as<int8_t>();
    const int8_t* b = ctx.in(1).as<int8_t>();
    QParams pa = pa_, pb = pb_;
    if (swap_) std::swap(a, b), std::swap(pa, pb);
    int8_t* y = ctx.out(0).as<int8_t>();
    if (channels_ == 0) {
      parallel_tiles(ctx.pool, n_, kTile, [&](int64_t s, int64_t n) {
        kernels::add_qs8(a + s, pa, b + s, pb, n, n, y + s, py_, out_min_, out_max_);  // b_channels >= n: no broadcast
      });
      return;
    }
    // Broadcast: tiles are whole multiples of the channel count so each starts at channel 0.
    const int64_t c = channels_;
    const int64_t groups = n_ / c;
    parallel_tiles(ctx.pool, groups, std::max<int64_t>(1, kTile / c), [&](int64_t s, int64_t n) {
      kernels::add_qs8(a + s * c, pa, b, pb, n * c, c, y + s * c, py_, out_min_, out_max_);
    });
  }
  std::string kernel_name() const override { return "qs8.add"; }
  int64_t flops(const OpContext&) const override { return n_; }

 private:
  QParams pa_, pb_, py_;
  bool swap_ = false;
  int64_t n_ = 0, channels_ = 0;
  float out_min_ = -INFINITY, out_max_ = INFINITY;
};

// MaxPool / AveragePool on int8 NHWC.
class QPoolOp final : public Op {
 public:
  explicit QPoolOp(bool is_max) : max_(is_max) {}
  Status prepare(OpContext& ctx) override {
    if (ctx.outputs.size() != 1) return ctx.fail(StatusCode::kUnsupported, "only one output is supported (no MaxPool indices)");
    const Value& x = ctx.in(0);
    if (x.rank() != 4) return ctx.fail(StatusCode::kInvalidModel, describe_value("input X", x) + " must be NHWC (rank 4)");
    QParams px;
    POCKET_RETURN_IF_ERROR(per_tensor_qparams(ctx, x, "input X", &px));
    const Attrs a = ctx.attrs();
    const std::vector<int64_t> ks = a.ints("kernel_shape");
    if (ks.size() != 2) return ctx.fail(StatusCode::kInvalidModel, "kernel_shape must have 2 values for input " + shape_str(x.shape));
    Window2d w;
    POCKET_RETURN_IF_ERROR(resolve_window(ctx, x.shape[1], x.shape[2], ks[0], ks[1], a.i("ceil_mode", 0) != 0, max_, &w));
    QParams py;
    const Shape out = {x.shape[0], w.out_h, w.out_w, x.shape[3]};
    POCKET_RETURN_IF_ERROR(q8_output(ctx, 0, out, &py));
    if (max_ && !same_quantization(x.quant, ctx.out(0).quant))
      return ctx.fail(StatusCode::kInvalidModel, "int8 MaxPool output '" + std::string(ctx.out(0).name) +
                                                     "' must have the scale and zero point of " + describe_value("input X", x));
    args_ = kernels::PoolQs8Args{};
    args_.n = x.shape[0], args_.h = x.shape[1], args_.w = x.shape[2], args_.c = x.shape[3];
    args_.kh = w.kernel_h, args_.kw = w.kernel_w, args_.stride_h = w.stride_h, args_.stride_w = w.stride_w;
    args_.dilation_h = w.dilation_h, args_.dilation_w = w.dilation_w;
    args_.pad_top = w.pad_top, args_.pad_left = w.pad_left, args_.oh = w.out_h, args_.ow = w.out_w;
    args_.count_include_pad = !max_ && a.i("count_include_pad", 0) != 0;
    args_.pad_bottom = w.pad_bottom, args_.pad_right = w.pad_right;
    args_.px = px, args_.py = py;
    flops_ = saturating_product({num_elements(out), w.kernel_h, w.kernel_w});
    return Status::Ok();
  }
  void run(OpContext& ctx) override {
    kernels::PoolQs8Args a = args_;
    a.x = ctx.in(0).as<int8_t>();
    a.y = ctx.out(0).as<int8_t>();
    if (max_) kernels::maxpool_qs8(a, ctx.pool);
    else kernels::avgpool_qs8(a, ctx.pool);
  }
  std::string kernel_name() const override { return max_ ? "qs8.maxpool" : "qs8.avgpool"; }
  int64_t flops(const OpContext&) const override { return flops_; }

 private:
  bool max_;
  kernels::PoolQs8Args args_;
  int64_t flops_ = 0;
};

class QGlobalAvgPoolOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    const Value& x = ctx.in(0);
    if (x.rank() != 4) return ctx.fail(StatusCode::kInvalidModel, describe_value("input X", x) + " must be NHWC (rank 4)");
    POCKET_RETURN_IF_ERROR(per_tensor_qparams(ctx, x, "input X", &px_));
    if (x.shape[1] * x.shape[2] <= 0) return ctx.fail(StatusCode::kInvalidModel, describe_value("input X", x) + " is empty");
    return q8_output(ctx, 0, {x.shape[0], 1, 1, x.shape[3]}, &py_);
  }
  void run(OpContext& ctx) override {
    const Value& x = ctx.in(0);
    kernels::global_avgpool_qs8(x.as<int8_t>(), px_, x.shape[0], x.shape[1] * x.shape[2], x.shape[3],
                                ctx.out(0).as<int8_t>(), py_, nullptr);
  }
  std::string kernel_name() const override { return "qs8.global_avgpool"; }
  int64_t flops(const OpContext& ctx) const override { return ctx.in(0).elements(); }

 private:
  QParams px_, py_;
};

// One SqueezeExcite activation attribute group as a kernel pass (ActivationKind values; the
// GELU kinds are not SqueezeExcite activations).
Status se_activation(const OpContext& ctx, const char* what, int64_t kind, float alpha, float beta,
                     kernels::ActivationParams* p) {
  using K = kernels::Activation;
  if (kind < 0 || kind > static_cast<int64_t>(fb::ActivationKind::LeakyRelu))
    return ctx.fail(StatusCode::kUnsupported, std::string("unsupported ") + what + " activation " + std::to_string(kind));
  *p = {static_cast<K>(kind), 0.f, 0.f};
  if (p->kind == K::Clip || p->kind == K::HardSigmoid) p->alpha = alpha, p->beta = beta;
  if (p->kind == K::LeakyRelu) p->alpha = alpha;
  return Status::Ok();
}

// SqueezeExcite on int8 X: the means in f32 from the int8 tensor, the two FC layers and the gate
// in f32, then Y = quantize(real(X) * gate).
class QSqueezeExciteOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    if (ctx.inputs.size() < 4 || ctx.inputs.size() > 5)
      return ctx.fail(StatusCode::kInvalidModel, "needs inputs X, W1, B1, W2[, B2], got " + std::to_string(ctx.inputs.size()));
    const Value& x = ctx.in(0);
    if (x.rank() != 4) return ctx.fail(StatusCode::kInvalidModel, describe_value("input X", x) + " must be NHWC (rank 4)");
    POCKET_RETURN_IF_ERROR(per_tensor_qparams(ctx, x, "input X", &px_));
    n_ = x.shape[0], pixels_ = x.shape[1] * x.shape[2], c_ = x.shape[3];
    if (pixels_ <= 0 || c_ <= 0) return ctx.fail(StatusCode::kInvalidModel, describe_value("input X", x) + " must have H, W and C > 0");
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 1, 4, "weights W1"));
    POCKET_RETURN_IF_ERROR(expect_f32(ctx, 3, 4, "weights W2"));
    const Value& w1 = ctx.in(1);
    const Value& w2 = ctx.in(3);
    c1_ = w1.shape[0];
    if (c1_ <= 0 || w1.shape[1] != c_ || w1.shape[2] != 1 || w1.shape[3] != 1 || w2.shape[0] != c_ || w2.shape[1] != c1_ ||
        w2.shape[2] != 1 || w2.shape[3] != 1)
      return ctx.fail(StatusCode::kInvalidModel, "weights W1 " + shape_str(w1.shape) + " and W2 " + shape_str(w2.shape) +
                                                     " do not match input X " + shape_str(x.shape));
    if (!w1.constant || !w2.constant) return ctx.fail(StatusCode::kInvalidModel, "weights W1 and W2 must be constants");
    for (size_t i : {size_t{2}, size_t{4}}) {
      if (!ctx.has_input(i)) continue;
      POCKET_RETURN_IF_ERROR(expect_f32(ctx, i, 1, i == 2 ? "bias B1" : "bias B2"));
      if (ctx.in(i).shape[0] != (i == 2 ? c1_ : c_) || !ctx.in(i).constant)
        return ctx.fail(StatusCode::kInvalidModel, describe_value(i == 2 ? "bias B1" : "bias B2", ctx.in(i)) +
                                                       " must be a constant of the FC's output size");
    }
    w1_ = w1.as<float>(), w2_ = w2.as<float>();
    b1_ = ctx.has_input(2) ? ctx.in(2).as<float>() : nullptr;
    b2_ = ctx.has_input(4) ? ctx.in(4).as<float>() : nullptr;
    const Attrs a = ctx.attrs();
    POCKET_RETURN_IF_ERROR(se_activation(ctx, "activation", a.i("activation", 0), a.f("act_alpha", 0.f), a.f("act_beta", 0.f), &act_));
    POCKET_RETURN_IF_ERROR(se_activation(ctx, "gate", a.i("gate", 0), a.f("gate_alpha", 0.f), a.f("gate_beta", 0.f), &gate_));
    // Scratch: means [N][C] f32, hidden [N][C1] f32, gate [N][C] f32, int8 means [N][C].
    ctx.scratch_bytes = static_cast<size_t>(n_ * (2 * c_ + c1_)) * sizeof(float) + static_cast<size_t>(n_ * c_) + 64;
    return q8_output(ctx, 0, x.shape, &py_);
  }
  void run(OpContext& ctx) override {
    if (n_ == 0) return;
    float* s = static_cast<float*>(ctx.scratch);
    float* h = s + n_ * c_;
    float* g = h + n_ * c1_;
    int8_t* qs = reinterpret_cast<int8_t*>(g + n_ * c_);
    const int8_t* x = ctx.in(0).as<int8_t>();
    kernels::global_avgpool_qs8(x, px_, n_, pixels_, c_, qs, px_, s);
    for (int64_t b = 0; b < n_; ++b) {
      fc(s + b * c_, c_, w1_, b1_, c1_, h + b * c1_);
      kernels::apply_activation_f32(act_, h + b * c1_, static_cast<size_t>(c1_), nullptr);
      fc(h + b * c1_, c1_, w2_, b2_, c_, g + b * c_);
      kernels::apply_activation_f32(gate_, g + b * c_, static_cast<size_t>(c_), nullptr);
    }
    int8_t* y = ctx.out(0).as<int8_t>();
    for (int64_t b = 0; b < n_; ++b) {
      const int64_t off = b * pixels_ * c_;
      parallel_tiles(ctx.pool, pixels_, std::max<int64_t>(1, kTile / c_), [&](int64_t p0, int64_t np) {
        kernels::scale_channels_qs8(x + off + p0 * c_, px_, g + b * c_, 1, np, c_, y + off + p0 * c_, py_);
      });
    }
  }
  std::string kernel_name() const override { return "qs8.se"; }
  int64_t flops(const OpContext&) const override { return 2 * n_ * (c_ * c1_ * 2) + n_ * pixels_ * c_ * 2; }

 private:
  // out = W in + bias; each dot product in 16 independent partial sums, which the compiler keeps
  // in vector registers (one running sum is a chain of dependent adds: ~10x slower).
  static void fc(const float* in, int64_t n_in, const float* w, const float* bias, int64_t n_out, float* out) {
    constexpr int kLanes = 16;
    for (int64_t j = 0; j < n_out; ++j) {
      const float* row = w + j * n_in;
      float acc[kLanes] = {};
      int64_t i = 0;
      for (; i + kLanes <= n_in; i += kLanes)
        for (int k = 0; k < kLanes; ++k) acc[k] += row[i + k] * in[i + k];
      float sum = bias ? bias[j] : 0.f;
      for (; i < n_in; ++i) sum += row[i] * in[i];
      for (int k = 0; k < kLanes; ++k) sum += acc[k];
      out[j] = sum;
    }
  }
  QParams px_, py_;
  int64_t n_ = 0, pixels_ = 0, c_ = 0, c1_ = 0;
  const float *w1_ = nullptr, *w2_ = nullptr, *b1_ = nullptr, *b2_ = nullptr;
  kernels::ActivationParams act_, gate_;
};

// Concat on int8: inputs with Y's parameters are copied, the others requantized to them.
class QConcatOp final : public Op {
 public:
  Status prepare(OpContext& ctx) override {
    if (ctx.inputs.empty() || ctx.outputs.size() != 1) return ctx.fail(StatusCode::kInvalidModel, "needs inputs and one output");
    const Value& x0 = ctx.in(0);
    const int64_t rank = x0.rank();
    const int64_t raw_axis = ctx.attrs().i("axis", 0);
    int64_t axis;
    if (rank == 0 || !normalize_axis(raw_axis, rank, &axis))
      return ctx.fail(StatusCode::kInvalidModel, "axis " + std::to_string(raw_axis) + " is out of range for " +
                                                     describe_value("input", x0));
    Shape out = x0.shape;
    out[axis] = 0;
    parts_.clear();
    for (size_t i = 0; i < ctx.inputs.size(); ++i) {
      if (!ctx.has_input(i)) return ctx.fail(StatusCode::kInvalidModel, "input " + std::to_string(i) + " is missing");
      const Value& x = ctx.in(i);
      Part p;
      POCKET_RETURN_IF_ERROR(per_tensor_qparams(ctx, x, "input", &p.params));
      bool ok = x.rank() == rank;
      for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis || x.shape[d] == x0.shape[d];
      if (!ok)
        return ctx.fail(StatusCode::kInvalidModel, describe_value("input", x) + " does not match " +
                                                       describe_value("input", x0) + " outside axis " + std::to_string(axis));
      out[axis] += x.shape[axis];
      parts_.push_back(p);
    }
    POCKET_RETURN_IF_ERROR(q8_output(ctx, 0, out, &py_));
    outer_ = 1;
    int64_t inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer_ *= out[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= out[d];
    out_block_ = out[axis] * inner;
    int64_t offset = 0;
    for (size_t i = 0; i < parts_.size(); ++i) {
      parts_[i].block = ctx.in(i).shape[axis] * inner;
      parts_[i].offset = offset;
      parts_[i].copy = parts_[i].params.scale == py_.scale && parts_[i].params.zero_point == py_.zero_point;
      offset += parts_[i].block;
    }
    return Status::Ok();
  }
  void run(OpContext& ctx) override {
    int8_t* y = ctx.out(0).as<int8_t>();
    for (size_t i = 0; i < parts_.size(); ++i) {
      const Part& p = parts_[i];
      const int8_t* x = ctx.in(i).as<int8_t>();
      parallel_tiles(ctx.pool, outer_, std::max<int64_t>(1, kTile / std::max<int64_t>(1, p.block)), [&](int64_t s, int64_t n) {
        for (int64_t o = s; o < s + n; ++o) {
          if (p.copy) std::memcpy(y + o * out_block_ + p.offset, x + o * p.block, static_cast<size_t>(p.block));
          else kernels::requantize_s8(x + o * p.block, p.params, p.block, y + o * out_block_ + p.offset, py_);
        }
      });
    }
  }
  std::string kernel_name() const override { return "qs8.concat"; }

 private:
  struct Part {
    QParams params;
    int64_t block = 0, offset = 0;
    bool copy = true;
  };
  std::vector<Part> parts_;
  QParams py_;
  int64_t outer_ = 1, out_block_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_quantize_linear_op() { return std::make_unique<QuantizeLinearOp>(); }
std::unique_ptr<Op> make_dequantize_linear_op() { return std::make_unique<DequantizeLinearOp>(); }
std::unique_ptr<Op> make_qgather_op() { return std::make_unique<QGatherOp>(); }
std::unique_ptr<Op> make_qadd_op() { return std::make_unique<QAddOp>(); }
std::unique_ptr<Op> make_qmax_pool_op() { return std::make_unique<QPoolOp>(true); }
std::unique_ptr<Op> make_qaverage_pool_op() { return std::make_unique<QPoolOp>(false); }
std::unique_ptr<Op> make_qglobal_average_pool_op() { return std::make_unique<QGlobalAvgPoolOp>(); }
std::unique_ptr<Op> make_qsqueeze_excite_op() { return std::make_unique<QSqueezeExciteOp>(); }
std::unique_ptr<Op> make_qconcat_op() { return std::make_unique<QConcatOp>(); }

}  // namespace pocket
