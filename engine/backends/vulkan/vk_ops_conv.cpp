// The Vulkan convolution family (issue #7): Conv (general, pointwise, depthwise and grouped, with
// bias, residual and every fused activation), MaxPool, AveragePool, GlobalAveragePool,
// GlobalMaxPool, SqueezeExcite, LRN and ConvTranspose, NHWC as format/OPS.md and the CPU ops (engine/ops/conv.cpp,
// pooling.cpp, global_pool.cpp, squeeze_excite.cpp) define them. Windows (strides, dilations,
// pads, auto_pad, ceil_mode) are resolved by the CPU's own resolve_window(), so both backends
// compute the same padding.
//
// Shaders (engine/backends/vulkan/shaders/):
//   conv1x1   group 1, 1x1 kernel, stride 1, no padding: a GEMM, 4 pixels x 8 channels/invocation
//   dwconv4   group == C == M, C % 4 == 0: 1 pixel x 4 channels per invocation, vector loads
//   dwconv    other depthwise (M = C * multiplier): 1 pixel x 4 channels per invocation
//   conv2d    everything else (any kernel/stride/dilation/padding, grouped): 4 pixels x 4 channels
//   pool2d    MaxPool / AveragePool, one output element per invocation
//   gap       GlobalAveragePool / GlobalMaxPool, one (n, c) per invocation
//   squeeze_excite_{mean,fc,scale}  SqueezeExcite in four dispatches through fp32 scratch
//   conv_transpose  ConvTranspose (gather form), one output element per invocation
//   pool_lrn  LRN (a window of squares over the channel axis), one element per invocation
// Conv weights are repacked on the host (OIHW -> the shader's block layout, see the shaders'
// headers); a missing bias becomes a zero weight so the shaders need no variant for it.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/backends/vulkan/vk_op.h"
#include "engine/ops/nn_common.h"

namespace pocket::vk {

namespace {

constexpr uint32_t kLocal = 64;  // local_size_x of every shader here
// Every index a shader computes is a 32-bit int: tensors stay well below 2^31 elements.
constexpr int64_t kMaxElements = (int64_t{1} << 31) - (int64_t{1} << 24);

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

bool is_const(const Value* v) { return v && (v->constant || v->known) && v->data; }

// A workgroup count for `items` invocations in groups of kLocal: x, folded into z when x would
// pass the device limit (the shaders compute the linear group as z * num_groups.x + x).
struct Grid {
  uint32_t x = 0, z = 1;
};

bool make_grid(int64_t items, int64_t per_invocation, const DeviceCaps& caps, Grid* g) {
  const int64_t invocations = (items + per_invocation - 1) / per_invocation;
  const int64_t groups = (invocations + kLocal - 1) / kLocal;
  const int64_t max_x = std::max<uint32_t>(1, caps.max_workgroup_count[0]);
  const int64_t max_z = std::max<uint32_t>(1, caps.max_workgroup_count[2]);
  if (groups <= max_x) {
    g->x = static_cast<uint32_t>(groups);
    g->z = 1;
    return true;
  }
  const int64_t z = (groups + max_x - 1) / max_x;
  if (z > max_z) return false;
  g->z = static_cast<uint32_t>(z);
  g->x = static_cast<uint32_t>((groups + z - 1) / z);
  return true;
}

// dtype F32 and a shape the shaders can index, for every operand given.
Support check_float_operand(const Value* v, const char* role, const DeviceCaps& caps) {
  if (!v) return Support::yes();
  if (v->dtype == DType::I8)
    return Support::no(std::string("dtype I8 of ") + role + " '" + std::string(v->name) + "' (quantized)");
  if (v->dtype != DType::F32)
    return Support::no(std::string("dtype ") + dtype_name(v->dtype) + " of " + role + " '" + std::string(v->name) +
                       "': only F32");
  const int64_t e = v->elements();
  if (e < 0 || e > kMaxElements)
    return Support::no(std::string(role) + " " + shape_str(v->shape) + " has too many elements for 32-bit indexing");
  if (static_cast<uint64_t>(e) * 4 > caps.max_storage_buffer_range)
    return Support::no(std::string(role) + " " + shape_str(v->shape) + " exceeds the device's storage buffer range (" +
                       std::to_string(caps.max_storage_buffer_range) + " bytes)");
  return Support::yes();
}

#define POCKET_VK_CHECK(expr)          \
  do {                                 \
    Support s_ = (expr);               \
    if (!s_.ok) return s_;             \
  } while (0)

Support check_node_io(const NodeView& node, size_t min_inputs, size_t max_inputs, const DeviceCaps& caps) {
  if (node.inputs.size() < min_inputs || node.inputs.size() > max_inputs || !node.inputs[0])
    return Support::no(std::to_string(node.inputs.size()) + " inputs");
  if (node.outputs.size() != 1) return Support::no(std::to_string(node.outputs.size()) + " outputs: only one");
  const Value* x = node.inputs[0];
  POCKET_VK_CHECK(check_float_operand(x, "input X", caps));
  POCKET_VK_CHECK(check_float_operand(node.outputs[0], "output Y", caps));
  if (x->rank() != 4) return Support::no("input X " + shape_str(x->shape) + " is not NHWC (rank 4)");
  if (x->elements() <= 0 || node.outputs[0]->elements() <= 0)
    return Support::no("empty tensor (input X " + shape_str(x->shape) + ", output " +
                       shape_str(node.outputs[0]->shape) + ")");
  if (is_const(x)) return Support::no("input X is a constant");
  return Support::yes();
}

// ---------------------------------------------------------------------------------------------
// Conv

enum class ConvPath { kGeneral, kPointwise, kDepthwise, kDepthwise4 };

struct ConvPlan {
  int64_t n = 0, h = 0, w = 0, c = 0, m = 0, cg = 0, mg = 0, kh = 0, kw = 0, group = 1;
  Window2d win;
  int act = 0;
  float alpha = 0.f, beta = 0.f;
  ConvPath path = ConvPath::kGeneral;
};

// Reads and checks the node the way ConvOp::prepare does (the CPU already accepted it), plus the
// Vulkan limits. On success fills *plan.
Support plan_conv(const NodeView& node, const DeviceCaps& caps, ConvPlan* plan) {
  POCKET_VK_CHECK(check_node_io(node, 2, 4, caps));
  const Value* x = node.inputs[0];
  const Value* wv = node.inputs[1];
  if (!wv) return Support::no("no weight W");
  POCKET_VK_CHECK(check_float_operand(wv, "weight W", caps));
  if (!is_const(wv)) return Support::no("weight W '" + std::string(wv->name) + "' is not a constant");
  if (wv->rank() != 4) return Support::no("weight W " + shape_str(wv->shape) + " is not OIHW (rank 4)");
  const Value* b = node.has_input(2) ? node.inputs[2] : nullptr;
  const Value* r = node.has_input(3) ? node.inputs[3] : nullptr;
  POCKET_VK_CHECK(check_float_operand(b, "bias B", caps));
  POCKET_VK_CHECK(check_float_operand(r, "residual R", caps));
  if (b && !is_const(b)) return Support::no("bias B '" + std::string(b->name) + "' is not a constant");

  ConvPlan p;
  p.n = x->shape[0], p.h = x->shape[1], p.w = x->shape[2], p.c = x->shape[3];
  p.m = wv->shape[0], p.cg = wv->shape[1], p.kh = wv->shape[2], p.kw = wv->shape[3];
  const Attrs a = node.attrs();
  p.group = a.i("group", 1);
  if (p.group <= 0 || p.cg <= 0 || p.c != p.cg * p.group || p.m <= 0 || p.m % p.group != 0)
    return Support::no("input X " + shape_str(x->shape) + " does not match weight W " + shape_str(wv->shape) +
                       " with group " + std::to_string(p.group));
  p.mg = p.m / p.group;
  if (b && (b->rank() != 1 || b->shape[0] != p.m)) return Support::no("bias B " + shape_str(b->shape));

  OpContext ctx;
  ctx.node = node.node;
  Status st = resolve_window(ctx, p.h, p.w, p.kh, p.kw, /*ceil_mode=*/false, /*allow_dilation=*/true, &p.win);
  if (!st.ok()) return Support::no(st.message());
  const Shape out = {p.n, p.win.out_h, p.win.out_w, p.m};
  if (node.outputs[0]->shape != out)
    return Support::no("output " + shape_str(node.outputs[0]->shape) + " is not the window's " + shape_str(out));
  if (r && r->shape != out) return Support::no("residual R " + shape_str(r->shape) + " is not " + shape_str(out));

  const int64_t kind = a.i("activation", 0);
  if (kind < static_cast<int64_t>(fb::ActivationKind::MIN) || kind > static_cast<int64_t>(fb::ActivationKind::MAX))
    return Support::no("fused activation " + std::to_string(kind) + " is unknown");
  p.act = static_cast<int>(kind);
  p.alpha = a.f("act_alpha", 0.f);
  p.beta = a.f("act_beta", 0.f);

  const Window2d& wn = p.win;
  if (p.group == p.c && p.cg == 1 && p.m == p.c && p.c % 4 == 0) p.path = ConvPath::kDepthwise4;
  else if (p.group == p.c && p.cg == 1) p.path = ConvPath::kDepthwise;
  else if (p.group == 1 && p.kh == 1 && p.kw == 1 && wn.stride_h == 1 && wn.stride_w == 1 && wn.pad_top == 0 &&
           wn.pad_left == 0 && wn.pad_bottom == 0 && wn.pad_right == 0)
    p.path = ConvPath::kPointwise;
  else p.path = ConvPath::kGeneral;

  // Repacked weight sizes and the dispatch grid must fit.
  int64_t packed = 0;
  if (p.path == ConvPath::kDepthwise || p.path == ConvPath::kDepthwise4) packed = p.kh * p.kw * ((p.m + 3) / 4 * 4);
  else packed = p.group * ((p.mg + 3) / 4) * p.kh * p.kw * p.cg * 4;
  if (packed > kMaxElements || static_cast<uint64_t>(packed) * 4 > caps.max_storage_buffer_range)
    return Support::no("repacked weight W " + shape_str(wv->shape) + " is too large for one storage buffer");
  const int64_t pixels = p.n * p.win.out_h * p.win.out_w;
  Grid g;
  if (p.path == ConvPath::kDepthwise || p.path == ConvPath::kDepthwise4) {
    if (!make_grid(pixels * ((p.m + 3) / 4), 1, caps, &g)) return Support::no("output too large for the dispatch grid");
  } else {
    if (!make_grid(pixels, 4, caps, &g)) return Support::no("output too large for the dispatch grid");
    const int64_t gy = p.path == ConvPath::kPointwise ? ((p.m + 3) / 4 + 1) / 2 : p.group * ((p.mg + 3) / 4);
    if (gy > caps.max_workgroup_count[1])
      return Support::no(std::to_string(gy) + " output channel blocks exceed the device's workgroup count limit");
  }
  // Weights must be in range for the tap loop bounds too (the window already checked the span).
  if (wn.stride_h > INT32_MAX || wn.stride_w > INT32_MAX || wn.dilation_h > INT32_MAX || wn.dilation_w > INT32_MAX ||
      wn.pad_top > INT32_MAX || wn.pad_left > INT32_MAX || p.kh > INT32_MAX || p.kw > INT32_MAX)
    return Support::no("window attributes exceed 32 bits");
  *plan = p;
  return Support::yes();
}

struct ConvPushGeneral {
  int32_t H, W, C, OH;
  int32_t OW, M, KH, KW;
  int32_t SH, SW, DH, DW;
  int32_t PT, PL, Cg, Mg;
  int32_t BPG, act, has_res, P;
  float alpha, beta;
};
struct ConvPushPointwise {
  int32_t C, M, blocks, act;
  int32_t has_res, P;
  float alpha, beta;
};
struct ConvPushDepthwise {
  int32_t H, W, C, OH;
  int32_t OW, M, KH, KW;
  int32_t SH, SW, DH, DW;
  int32_t PT, PL, mult, M4;
  int32_t act, has_res, total;
  float alpha, beta;
};

struct DwPush4 {
  int32_t H, W, C4, OH;
  int32_t OW, KH, KW, SH;
  int32_t SW, DH, DW, PT;
  int32_t PL, act, has_res, total;
  float alpha, beta;
};

class VkConv final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    const NodeView& node = ctx.node();
    const Support s = plan_conv(node, ctx.caps(), &p_);
    if (!s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    const float* src = static_cast<const float*>(node.inputs[1]->data);
    const int64_t m = p_.m, cg = p_.cg, kh = p_.kh, kw = p_.kw, mg = p_.mg;
    std::vector<float> packed;
    const bool depthwise = p_.path == ConvPath::kDepthwise || p_.path == ConvPath::kDepthwise4;
    if (depthwise) {
      // OIHW [M][1][KH][KW] -> [KH][KW][M4].
      const int64_t m4 = (m + 3) / 4 * 4;
      packed.assign(static_cast<size_t>(kh * kw * m4), 0.f);
      for (int64_t o = 0; o < m; ++o)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t x = 0; x < kw; ++x)
            packed[static_cast<size_t>((y * kw + x) * m4 + o)] = src[(o * kh + y) * kw + x];
    } else {
      // OIHW [M][Cg][KH][KW] -> [group * BPG blocks][KH][KW][Cg][4], block = 4 output channels of a group.
      const int64_t bpg = (mg + 3) / 4;
      packed.assign(static_cast<size_t>(p_.group * bpg * kh * kw * cg * 4), 0.f);
      for (int64_t o = 0; o < m; ++o) {
        const int64_t g = o / mg, og = o % mg;
        const int64_t blk = g * bpg + og / 4, lane = og % 4;
        for (int64_t i = 0; i < cg; ++i)
          for (int64_t y = 0; y < kh; ++y)
            for (int64_t x = 0; x < kw; ++x)
              packed[static_cast<size_t>((((blk * kh + y) * kw + x) * cg + i) * 4 + lane)] =
                  src[((o * cg + i) * kh + y) * kw + x];
      }
    }
    w_ = ctx.add_weight_floats(packed.data(), packed.size());
    if (node.has_input(2)) {
      b_ = ctx.add_weight_floats(static_cast<const float*>(node.inputs[2]->data), static_cast<size_t>(m));
    } else {
      const std::vector<float> zeros(static_cast<size_t>(m), 0.f);
      b_ = ctx.add_weight_floats(zeros.data(), zeros.size());
    }
    has_res_ = node.has_input(3);
    res_weight_ = -1;
    if (has_res_ && is_const(node.inputs[3]))
      res_weight_ = ctx.add_weight_floats(static_cast<const float*>(node.inputs[3]->data),
                                          static_cast<size_t>(node.inputs[3]->elements()));
    pixels_ = p_.n * p_.win.out_h * p_.win.out_w;
    const bool ok = depthwise ? make_grid(pixels_ * ((m + 3) / 4), 1, ctx.caps(), &grid_)
                                                   : make_grid(pixels_, 4, ctx.caps(), &grid_);
    if (!ok) return ctx.fail(StatusCode::kUnsupported, "output too large for the device's dispatch grid");
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    const Tensor x = ctx.input(0), y = ctx.output(0), w = ctx.weight(w_), b = ctx.weight(b_);
    // Without a residual the shader never reads binding 3: the bias stands in.
    const Tensor r = !has_res_ ? b : res_weight_ >= 0 ? ctx.weight(res_weight_) : ctx.input(3);
    const auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
    const Window2d& wn = p_.win;
    switch (p_.path) {
      case ConvPath::kPointwise: {
        const int64_t blocks = (p_.m + 3) / 4;
        ConvPushPointwise pc{i32(p_.c), i32(p_.m), i32(blocks), p_.act, has_res_ ? 1 : 0, i32(pixels_),
                             p_.alpha, p_.beta};
        ctx.dispatch("conv1x1", {x, w, b, r, y}, &pc, sizeof(pc), grid_.x, static_cast<uint32_t>((blocks + 1) / 2),
                     grid_.z);
        break;
      }
      case ConvPath::kDepthwise: {
        const int64_t m4 = (p_.m + 3) / 4 * 4;
        ConvPushDepthwise pc{i32(p_.h),         i32(p_.w),         i32(p_.c),           i32(wn.out_h),
                             i32(wn.out_w),     i32(p_.m),         i32(p_.kh),          i32(p_.kw),
                             i32(wn.stride_h),  i32(wn.stride_w),  i32(wn.dilation_h),  i32(wn.dilation_w),
                             i32(wn.pad_top),   i32(wn.pad_left),  i32(p_.m / p_.c),    i32(m4),
                             p_.act,            has_res_ ? 1 : 0,  i32(pixels_ * (m4 / 4)),
                             p_.alpha,          p_.beta};
        ctx.dispatch("dwconv", {x, w, b, r, y}, &pc, sizeof(pc), grid_.x, 1, grid_.z);
        break;
      }
      case ConvPath::kDepthwise4: {
        DwPush4 pc{i32(p_.h),        i32(p_.w),         i32(p_.c / 4),      i32(wn.out_h),
                   i32(wn.out_w),    i32(p_.kh),        i32(p_.kw),         i32(wn.stride_h),
                   i32(wn.stride_w), i32(wn.dilation_h), i32(wn.dilation_w), i32(wn.pad_top),
                   i32(wn.pad_left), p_.act,            has_res_ ? 1 : 0,   i32(pixels_ * (p_.c / 4)),
                   p_.alpha,         p_.beta};
        ctx.dispatch("dwconv4", {x, w, b, r, y}, &pc, sizeof(pc), grid_.x, 1, grid_.z);
        break;
      }
      case ConvPath::kGeneral: {
        const int64_t bpg = (p_.mg + 3) / 4;
        ConvPushGeneral pc{i32(p_.h),        i32(p_.w),        i32(p_.c),          i32(wn.out_h),
                           i32(wn.out_w),    i32(p_.m),        i32(p_.kh),         i32(p_.kw),
                           i32(wn.stride_h), i32(wn.stride_w), i32(wn.dilation_h), i32(wn.dilation_w),
                           i32(wn.pad_top),  i32(wn.pad_left), i32(p_.cg),         i32(p_.mg),
                           i32(bpg),         p_.act,           has_res_ ? 1 : 0,   i32(pixels_),
                           p_.alpha,         p_.beta};
        ctx.dispatch("conv2d", {x, w, b, r, y}, &pc, sizeof(pc), grid_.x, static_cast<uint32_t>(p_.group * bpg),
                     grid_.z);
        break;
      }
    }
  }

  std::string kernel_name() const override {
    switch (p_.path) {
      case ConvPath::kPointwise: return "vulkan.conv1x1";
      case ConvPath::kDepthwise: return "vulkan.dwconv";
      case ConvPath::kDepthwise4: return "vulkan.dwconv4";
      case ConvPath::kGeneral: break;
    }
    return "vulkan.conv2d";
  }

 private:
  ConvPlan p_;
  int w_ = -1, b_ = -1, res_weight_ = -1;
  bool has_res_ = false;
  int64_t pixels_ = 0;
  Grid grid_;
};

// ---------------------------------------------------------------------------------------------
// MaxPool, AveragePool

struct PoolPlan {
  Window2d win;
  bool include_pad = false;
};

Support plan_pool(const NodeView& node, bool is_max, const DeviceCaps& caps, PoolPlan* plan) {
  POCKET_VK_CHECK(check_node_io(node, 1, 1, caps));
  const Value* x = node.inputs[0];
  const Attrs a = node.attrs();
  const std::vector<int64_t> ks = a.ints("kernel_shape");
  if (ks.size() != 2) return Support::no("kernel_shape " + ints_str(ks) + " does not have 2 values");
  OpContext ctx;
  ctx.node = node.node;
  PoolPlan p;
  Status st = resolve_window(ctx, x->shape[1], x->shape[2], ks[0], ks[1], a.i("ceil_mode", 0) != 0, is_max, &p.win);
  if (!st.ok()) return Support::no(st.message());
  p.include_pad = !is_max && a.i("count_include_pad", 0) != 0;
  const Shape out = {x->shape[0], p.win.out_h, p.win.out_w, x->shape[3]};
  if (node.outputs[0]->shape != out)
    return Support::no("output " + shape_str(node.outputs[0]->shape) + " is not the window's " + shape_str(out));
  const Window2d& w = p.win;
  for (int64_t v : {w.kernel_h, w.kernel_w, w.stride_h, w.stride_w, w.dilation_h, w.dilation_w, w.pad_top, w.pad_left,
                    w.pad_bottom, w.pad_right})
    if (v > (int64_t{1} << 24)) return Support::no("window attributes too large for 32-bit indexing");
  Grid g;
  if (!make_grid(num_elements(out), 1, caps, &g)) return Support::no("output too large for the dispatch grid");
  *plan = p;
  return Support::yes();
}

struct PoolPush {
  int32_t H, W, C, OH;
  int32_t OW, KH, KW, SH;
  int32_t SW, DH, DW, PT;
  int32_t PL, PB, PR, is_max;
  int32_t include_pad, total;
};

class VkPool final : public VkOp {
 public:
  explicit VkPool(bool is_max) : max_(is_max) {}

  Status prepare(VkPrepare& ctx) override {
    const Support s = plan_pool(ctx.node(), max_, ctx.caps(), &p_);
    if (!s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    x_shape_ = ctx.node().inputs[0]->shape;
    total_ = ctx.node().outputs[0]->elements();
    make_grid(total_, 1, ctx.caps(), &grid_);
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    const auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
    const Window2d& w = p_.win;
    // The average's divisor with count_include_pad stops at the declared padding (ceil_mode's
    // extension never counts), as the CPU kernel: PB/PR are the declared pads.
    PoolPush pc{i32(x_shape_[1]), i32(x_shape_[2]), i32(x_shape_[3]), i32(w.out_h),
                i32(w.out_w),     i32(w.kernel_h),  i32(w.kernel_w),  i32(w.stride_h),
                i32(w.stride_w),  i32(w.dilation_h), i32(w.dilation_w), i32(w.pad_top),
                i32(w.pad_left),  i32(w.pad_bottom), i32(w.pad_right), max_ ? 1 : 0,
                p_.include_pad ? 1 : 0, i32(total_)};
    ctx.dispatch("pool2d", {ctx.input(0), ctx.output(0)}, &pc, sizeof(pc), grid_.x, 1, grid_.z);
  }

  std::string kernel_name() const override { return max_ ? "vulkan.maxpool2d" : "vulkan.avgpool2d"; }

 private:
  bool max_;
  PoolPlan p_;
  Shape x_shape_;
  int64_t total_ = 0;
  Grid grid_;
};

// ---------------------------------------------------------------------------------------------
// GlobalAveragePool, GlobalMaxPool

Support plan_global_pool(const NodeView& node, const DeviceCaps& caps) {
  POCKET_VK_CHECK(check_node_io(node, 1, 1, caps));
  const Value* x = node.inputs[0];
  const Shape out = {x->shape[0], 1, 1, x->shape[3]};
  if (node.outputs[0]->shape != out)
    return Support::no("output " + shape_str(node.outputs[0]->shape) + " is not " + shape_str(out));
  Grid g;
  if (!make_grid(x->shape[0] * x->shape[3], 1, caps, &g)) return Support::no("output too large for the dispatch grid");
  return Support::yes();
}

struct GapPush {
  int32_t pixels, C, is_max, total;
};

class VkGlobalPool final : public VkOp {
 public:
  explicit VkGlobalPool(bool is_max) : max_(is_max) {}

  Status prepare(VkPrepare& ctx) override {
    const Support s = plan_global_pool(ctx.node(), ctx.caps());
    if (!s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    const Shape& x = ctx.node().inputs[0]->shape;
    pc_ = {static_cast<int32_t>(x[1] * x[2]), static_cast<int32_t>(x[3]), max_ ? 1 : 0,
           static_cast<int32_t>(x[0] * x[3])};
    make_grid(x[0] * x[3], 1, ctx.caps(), &grid_);
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    ctx.dispatch("gap", {ctx.input(0), ctx.output(0)}, &pc_, sizeof(pc_), grid_.x, 1, grid_.z);
  }

  std::string kernel_name() const override { return max_ ? "vulkan.globalmaxpool" : "vulkan.globalavgpool"; }

 private:
  bool max_;
  GapPush pc_{};
  Grid grid_;
};

// ---------------------------------------------------------------------------------------------
// SqueezeExcite

struct SePlan {
  int64_t n = 0, pixels = 0, c = 0, c1 = 0;
  int act = 0, gate = 0;
  float act_alpha = 0.f, act_beta = 0.f, gate_alpha = 0.f, gate_beta = 0.f;
};

Support se_bias(const NodeView& node, size_t i, const char* role, int64_t want, const DeviceCaps& caps) {
  if (!node.has_input(i)) return Support::yes();
  const Value* b = node.inputs[i];
  POCKET_VK_CHECK(check_float_operand(b, role, caps));
  if (!is_const(b)) return Support::no(std::string(role) + " '" + std::string(b->name) + "' is not a constant");
  if (b->rank() != 1 || b->shape[0] != want) return Support::no(std::string(role) + " " + shape_str(b->shape));
  return Support::yes();
}

Support plan_se(const NodeView& node, const DeviceCaps& caps, SePlan* plan) {
  POCKET_VK_CHECK(check_node_io(node, 4, 5, caps));
  const Value* x = node.inputs[0];
  const Value* w1 = node.inputs[1];
  const Value* w2 = node.inputs[3];
  if (!w1 || !w2) return Support::no("missing weights W1 or W2");
  POCKET_VK_CHECK(check_float_operand(w1, "weights W1", caps));
  POCKET_VK_CHECK(check_float_operand(w2, "weights W2", caps));
  if (!is_const(w1) || !is_const(w2)) return Support::no("weights W1 and W2 must be constants");
  SePlan p;
  p.n = x->shape[0], p.pixels = x->shape[1] * x->shape[2], p.c = x->shape[3];
  p.c1 = w1->shape.size() == 4 ? w1->shape[0] : 0;
  if (w1->shape != Shape{p.c1, p.c, 1, 1} || p.c1 <= 0)
    return Support::no("weights W1 " + shape_str(w1->shape) + " are not [C1, " + std::to_string(p.c) + ", 1, 1]");
  if (w2->shape != Shape{p.c, p.c1, 1, 1})
    return Support::no("weights W2 " + shape_str(w2->shape) + " are not [" + std::to_string(p.c) + ", " +
                       std::to_string(p.c1) + ", 1, 1]");
  POCKET_VK_CHECK(se_bias(node, 2, "bias B1", p.c1, caps));
  POCKET_VK_CHECK(se_bias(node, 4, "bias B2", p.c, caps));
  if (node.outputs[0]->shape != x->shape)
    return Support::no("output " + shape_str(node.outputs[0]->shape) + " is not X's " + shape_str(x->shape));
  const Attrs a = node.attrs();
  const int64_t act = a.i("activation", 0), gate = a.i("gate", 0);
  for (int64_t k : {act, gate}) {
    if (k < static_cast<int64_t>(fb::ActivationKind::MIN) || k > static_cast<int64_t>(fb::ActivationKind::MAX))
      return Support::no("activation kind " + std::to_string(k) + " is unknown");
    // The CPU op passes these to kernels/activation, which has no Gelu forms (it leaves the values
    // as they are): refused so that both backends agree until the CPU implements them.
    if (k == static_cast<int64_t>(fb::ActivationKind::Gelu) || k == static_cast<int64_t>(fb::ActivationKind::GeluTanh))
      return Support::no("Gelu activation in SqueezeExcite (the CPU op does not implement it)");
  }
  p.act = static_cast<int>(act);
  p.gate = static_cast<int>(gate);
  p.act_alpha = a.f("act_alpha", 0.f), p.act_beta = a.f("act_beta", 0.f);
  p.gate_alpha = a.f("gate_alpha", 0.f), p.gate_beta = a.f("gate_beta", 0.f);
  if (p.n * std::max(p.c, p.c1) > kMaxElements) return Support::no("batch x channels too large");
  Grid g;
  if (!make_grid(x->elements(), 1, caps, &g)) return Support::no("input too large for the dispatch grid");
  *plan = p;
  return Support::yes();
}

struct SeMeanPush {
  int32_t pixels, C, total;
};
struct SeFcPush {
  int32_t n_in, n_out, total, act;
  float alpha, beta;
};
struct SeScalePush {
  int32_t image, C, total;
};

class VkSqueezeExcite final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    const NodeView& node = ctx.node();
    const Support s = plan_se(node, ctx.caps(), &p_);
    if (!s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    const size_t c = static_cast<size_t>(p_.c), c1 = static_cast<size_t>(p_.c1);
    w1_ = ctx.add_weight_floats(static_cast<const float*>(node.inputs[1]->data), c1 * c);
    w2_ = ctx.add_weight_floats(static_cast<const float*>(node.inputs[3]->data), c * c1);
    const auto bias = [&](size_t i, size_t count) {
      if (node.has_input(i)) return ctx.add_weight_floats(static_cast<const float*>(node.inputs[i]->data), count);
      const std::vector<float> zeros(count, 0.f);
      return ctx.add_weight_floats(zeros.data(), zeros.size());
    };
    b1_ = bias(2, c1);
    b2_ = bias(4, c);
    s_ = ctx.add_scratch(static_cast<size_t>(p_.n) * c * sizeof(float));   // means, then the gate
    h_ = ctx.add_scratch(static_cast<size_t>(p_.n) * c1 * sizeof(float));  // FC1 output
    const DeviceCaps& caps = ctx.caps();
    if (!make_grid(p_.n * p_.c, 1, caps, &g_nc_) || !make_grid(p_.n * p_.c1, 1, caps, &g_nc1_) ||
        !make_grid(node.inputs[0]->elements(), 1, caps, &g_all_))
      return ctx.fail(StatusCode::kUnsupported, "input too large for the device's dispatch grid");
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    const Tensor x = ctx.input(0), y = ctx.output(0), s = ctx.scratch(s_), h = ctx.scratch(h_);
    const auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
    const SeMeanPush mean{i32(p_.pixels), i32(p_.c), i32(p_.n * p_.c)};
    ctx.dispatch("squeeze_excite_mean", {x, s}, &mean, sizeof(mean), g_nc_.x, 1, g_nc_.z);
    const SeFcPush fc1{i32(p_.c), i32(p_.c1), i32(p_.n * p_.c1), p_.act, p_.act_alpha, p_.act_beta};
    ctx.dispatch("squeeze_excite_fc", {s, ctx.weight(w1_), ctx.weight(b1_), h}, &fc1, sizeof(fc1), g_nc1_.x, 1,
                 g_nc1_.z);
    const SeFcPush fc2{i32(p_.c1), i32(p_.c), i32(p_.n * p_.c), p_.gate, p_.gate_alpha, p_.gate_beta};
    ctx.dispatch("squeeze_excite_fc", {h, ctx.weight(w2_), ctx.weight(b2_), s}, &fc2, sizeof(fc2), g_nc_.x, 1,
                 g_nc_.z);
    const SeScalePush scale{i32(p_.pixels * p_.c), i32(p_.c), i32(p_.n * p_.pixels * p_.c)};
    ctx.dispatch("squeeze_excite_scale", {x, s, y}, &scale, sizeof(scale), g_all_.x, 1, g_all_.z);
  }

  std::string kernel_name() const override { return "vulkan.squeeze_excite"; }

 private:
  SePlan p_;
  int w1_ = -1, w2_ = -1, b1_ = -1, b2_ = -1, s_ = -1, h_ = -1;
  Grid g_nc_, g_nc1_, g_all_;
};

// ---------------------------------------------------------------------------------------------
// ConvTranspose

struct ConvTPlan {
  int64_t n = 0, h = 0, w = 0, c = 0, m = 0, cg = 0, mg = 0, kh = 0, kw = 0, group = 1;
  int64_t oh = 0, ow = 0, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0;
  int act = 0;
  float alpha = 0.f, beta = 0.f;
};

// As ConvTransposeOp::prepare (the CPU accepted the node already), plus the Vulkan limits.
Support plan_conv_transpose(const NodeView& node, const DeviceCaps& caps, ConvTPlan* plan) {
  POCKET_VK_CHECK(check_node_io(node, 2, 3, caps));
  const Value* x = node.inputs[0];
  const Value* wv = node.inputs[1];
  if (!wv) return Support::no("no weight W");
  POCKET_VK_CHECK(check_float_operand(wv, "weight W", caps));
  if (!is_const(wv)) return Support::no("weight W '" + std::string(wv->name) + "' is not a constant");
  if (wv->rank() != 4) return Support::no("weight W " + shape_str(wv->shape) + " is not rank 4");
  const Value* b = node.has_input(2) ? node.inputs[2] : nullptr;
  POCKET_VK_CHECK(check_float_operand(b, "bias B", caps));
  if (b && !is_const(b)) return Support::no("bias B '" + std::string(b->name) + "' is not a constant");
  ConvTPlan p;
  const Attrs a = node.attrs();
  p.n = x->shape[0], p.h = x->shape[1], p.w = x->shape[2], p.c = x->shape[3];
  p.group = a.i("group", 1);
  p.mg = wv->shape[1], p.kh = wv->shape[2], p.kw = wv->shape[3];
  if (p.group <= 0 || wv->shape[0] != p.c || p.c % p.group != 0 || p.mg <= 0 || p.kh <= 0 || p.kw <= 0)
    return Support::no("input X " + shape_str(x->shape) + " does not match weight W " + shape_str(wv->shape));
  p.cg = p.c / p.group;
  p.m = p.mg * p.group;
  if (b && (b->rank() != 1 || b->shape[0] != p.m)) return Support::no("bias B " + shape_str(b->shape));
  const std::vector<int64_t> strides = a.ints("strides", {1, 1}), dil = a.ints("dilations", {1, 1});
  std::vector<int64_t> pads = a.ints("pads", {0, 0, 0, 0});
  const std::vector<int64_t> opad = a.ints("output_padding", {0, 0});
  const std::string auto_pad = a.s("auto_pad", "NOTSET");
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4 || opad.size() != 2)
    return Support::no("strides/dilations/pads/output_padding of the wrong length");
  const int64_t k[2] = {p.kh, p.kw}, in[2] = {p.h, p.w};
  int64_t out[2];
  if (const std::string bad = conv_transpose_output(in, k, strides, dil, opad, auto_pad, &pads, out); !bad.empty())
    return Support::no(bad);
  const Shape want = {p.n, out[0], out[1], p.m};
  if (node.outputs[0]->shape != want)
    return Support::no("output " + shape_str(node.outputs[0]->shape) + " is not " + shape_str(want));
  p.oh = out[0], p.ow = out[1];
  p.sh = strides[0], p.sw = strides[1], p.dh = dil[0], p.dw = dil[1], p.pt = pads[0], p.pl = pads[1];
  if (p.sh <= 0 || p.sw <= 0 || p.dh <= 0 || p.dw <= 0 || p.pt < 0 || p.pl < 0)
    return Support::no("strides and dilations must be positive, pads non-negative");
  for (int64_t v : {p.sh, p.sw, p.dh, p.dw, p.pt, p.pl, p.kh, p.kw})
    if (v > (int64_t{1} << 24)) return Support::no("window attributes too large for 32-bit indexing");
  const int64_t kind = a.i("activation", 0);
  if (kind < static_cast<int64_t>(fb::ActivationKind::MIN) || kind > static_cast<int64_t>(fb::ActivationKind::MAX))
    return Support::no("fused activation " + std::to_string(kind) + " is unknown");
  p.act = static_cast<int>(kind);
  p.alpha = a.f("act_alpha", 0.f), p.beta = a.f("act_beta", 0.f);
  const int64_t packed = p.m * p.kh * p.kw * p.cg;
  if (packed > kMaxElements || static_cast<uint64_t>(packed) * 4 > caps.max_storage_buffer_range)
    return Support::no("weight W " + shape_str(wv->shape) + " is too large for one storage buffer");
  Grid g;
  if (!make_grid(num_elements(want), 1, caps, &g)) return Support::no("output too large for the dispatch grid");
  *plan = p;
  return Support::yes();
}

struct ConvTPush {
  int32_t H, W, C, OH;
  int32_t OW, M, KH, KW;
  int32_t SH, SW, DH, DW;
  int32_t PT, PL, Cg, Mg;
  int32_t act, total;
  float alpha, beta;
};

class VkConvTranspose final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    const NodeView& node = ctx.node();
    const Support s = plan_conv_transpose(node, ctx.caps(), &p_);
    if (!s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    // [C][M/g][KH][KW] -> [M][KH][KW][C/g].
    const float* src = static_cast<const float*>(node.inputs[1]->data);
    std::vector<float> packed(static_cast<size_t>(p_.m * p_.kh * p_.kw * p_.cg));
    for (int64_t m = 0; m < p_.m; ++m) {
      const int64_t g = m / p_.mg, mm = m % p_.mg;
      for (int64_t y = 0; y < p_.kh; ++y)
        for (int64_t x = 0; x < p_.kw; ++x)
          for (int64_t c = 0; c < p_.cg; ++c)
            packed[static_cast<size_t>(((m * p_.kh + y) * p_.kw + x) * p_.cg + c)] =
                src[(((g * p_.cg + c) * p_.mg + mm) * p_.kh + y) * p_.kw + x];
    }
    w_ = ctx.add_weight_floats(packed.data(), packed.size());
    if (node.has_input(2)) {
      b_ = ctx.add_weight_floats(static_cast<const float*>(node.inputs[2]->data), static_cast<size_t>(p_.m));
    } else {
      const std::vector<float> zeros(static_cast<size_t>(p_.m), 0.f);
      b_ = ctx.add_weight_floats(zeros.data(), zeros.size());
    }
    total_ = node.outputs[0]->elements();
    make_grid(total_, 1, ctx.caps(), &grid_);
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    const auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
    ConvTPush pc{i32(p_.h),  i32(p_.w),  i32(p_.c),  i32(p_.oh), i32(p_.ow), i32(p_.m),  i32(p_.kh),
                 i32(p_.kw), i32(p_.sh), i32(p_.sw), i32(p_.dh), i32(p_.dw), i32(p_.pt), i32(p_.pl),
                 i32(p_.cg), i32(p_.mg), p_.act,     i32(total_), p_.alpha,  p_.beta};
    ctx.dispatch("conv_transpose", {ctx.input(0), ctx.weight(w_), ctx.weight(b_), ctx.output(0)}, &pc, sizeof(pc),
                 grid_.x, 1, grid_.z);
  }

  std::string kernel_name() const override { return "vulkan.conv_transpose"; }

 private:
  ConvTPlan p_;
  int w_ = -1, b_ = -1;
  int64_t total_ = 0;
  Grid grid_;
};

// ---------------------------------------------------------------------------------------------
// LRN (channels-last, window over C)

Support plan_lrn(const NodeView& node, const DeviceCaps& caps) {
  POCKET_VK_CHECK(check_node_io(node, 1, 1, caps));
  const Attrs a = node.attrs();
  const int64_t size = a.i("size", 0);
  const float alpha = a.f("alpha", 1e-4f), bias = a.f("bias", 1.0f);
  if (size <= 0 || size > (int64_t{1} << 24)) return Support::no("size " + std::to_string(size));
  if (!(bias > 0.f) || !(alpha >= 0.f))
    return Support::no("bias " + std::to_string(bias) + " / alpha " + std::to_string(alpha) +
                       ": only bias > 0 and alpha >= 0 (pow of a positive base)");
  if (node.outputs[0]->shape != node.inputs[0]->shape) return Support::no("output shape differs from X");
  Grid g;
  if (!make_grid(node.inputs[0]->elements(), 1, caps, &g)) return Support::no("input too large for the dispatch grid");
  return Support::yes();
}

struct LrnPush {
  int32_t C, lo, hi, total;
  float alpha_over_size, beta, bias;
};

class VkLrn final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    const Support s = plan_lrn(ctx.node(), ctx.caps());
    if (!s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    const Attrs a = ctx.node().attrs();
    const int64_t size = a.i("size", 0);
    const int64_t total = ctx.node().inputs[0]->elements();
    pc_ = {static_cast<int32_t>(ctx.node().inputs[0]->shape[3]), static_cast<int32_t>((size - 1) / 2),
           static_cast<int32_t>(size / 2), static_cast<int32_t>(total),
           a.f("alpha", 1e-4f) / static_cast<float>(size), a.f("beta", 0.75f), a.f("bias", 1.0f)};
    make_grid(total, 1, ctx.caps(), &grid_);
    return Status::Ok();
  }
  void record(VkRecord& ctx) override {
    ctx.dispatch("pool_lrn", {ctx.input(0), ctx.output(0)}, &pc_, sizeof(pc_), grid_.x, 1, grid_.z);
  }
  std::string kernel_name() const override { return "vulkan.lrn"; }

 private:
  LrnPush pc_{};
  Grid grid_;
};

}  // namespace

Support vk_supports_conv(const NodeView& node, const DeviceCaps& caps) {
  switch (node.op()) {
    case fb::OpType::Conv: {
      ConvPlan p;
      return plan_conv(node, caps, &p);
    }
    case fb::OpType::MaxPool:
    case fb::OpType::AveragePool: {
      PoolPlan p;
      return plan_pool(node, node.op() == fb::OpType::MaxPool, caps, &p);
    }
    case fb::OpType::GlobalAveragePool:
    case fb::OpType::GlobalMaxPool:
      return plan_global_pool(node, caps);
    case fb::OpType::SqueezeExcite: {
      SePlan p;
      return plan_se(node, caps, &p);
    }
    case fb::OpType::LRN:
      return plan_lrn(node, caps);
    case fb::OpType::ConvTranspose: {
      ConvTPlan p;
      return plan_conv_transpose(node, caps, &p);
    }
    default:
      return Support::no("");
  }
}

std::unique_ptr<VkOp> make_vk_op_conv(const NodeView& node) {
  switch (node.op()) {
    case fb::OpType::Conv: return std::make_unique<VkConv>();
    case fb::OpType::MaxPool: return std::make_unique<VkPool>(true);
    case fb::OpType::AveragePool: return std::make_unique<VkPool>(false);
    case fb::OpType::GlobalAveragePool: return std::make_unique<VkGlobalPool>(false);
    case fb::OpType::GlobalMaxPool: return std::make_unique<VkGlobalPool>(true);
    case fb::OpType::SqueezeExcite: return std::make_unique<VkSqueezeExcite>();
    case fb::OpType::LRN: return std::make_unique<VkLrn>();
    case fb::OpType::ConvTranspose: return std::make_unique<VkConvTranspose>();
    default: return nullptr;
  }
}

}  // namespace pocket::vk
