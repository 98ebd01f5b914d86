// Vulkan normalisation ops: Softmax, LogSoftmax (shaders/softmax.comp, softmax_small.comp for
// rows of <= 64 elements), LayerNormalization,
// RMSNormalization (shaders/layernorm.comp) and Attention (shaders/attention.comp). Semantics are
// the CPU ops' (engine/ops/softmax.cpp, layer_norm.cpp, attention.cpp), which have already run
// prepare() on every node a backend sees: shapes and attributes are valid; what is checked here is
// what the shaders can do (dtypes, 32-bit indexing, head sizes).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/backends/vulkan/vk_op.h"
#include "engine/backends/vulkan/vk_util.h"

namespace pocket::vk {

namespace {

// Rows of at most this many elements: one invocation per row (softmax_small.comp); longer rows:
// one workgroup per row (softmax.comp).
constexpr int64_t kSoftmaxSmallRow = 64;
// Element indices in the shaders are 32-bit.
constexpr int64_t kMaxElements = std::numeric_limits<int32_t>::max();
// attention.comp: D is staged in shared memory (MAX_D); each of the 64 invocations keeps VPT = 8
// output columns.
constexpr int64_t kAttentionMaxD = 512;
constexpr int64_t kAttentionMaxDv = 512;
// attention.comp: query rows per workgroup (ROWS).
constexpr int64_t kAttentionRows = 4;

std::string shape_of(const Value& v) { return shape_str(v.shape); }

bool normalize_axis(int64_t axis, int64_t rank, int64_t* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

// A float operand: the input's device range, or for a constant (or prepare-time) input a weight
// uploaded once at prepare.
struct FloatOperand {
  size_t input = 0;
  int weight = -1;
  bool present = false;
  Tensor get(VkRecord& ctx) const { return weight >= 0 ? ctx.weight(weight) : ctx.input(input); }
};

FloatOperand float_operand(VkPrepare& ctx, size_t i) {
  FloatOperand op;
  const NodeView& node = ctx.node();
  if (!node.has_input(i)) return op;
  op.present = true;
  op.input = i;
  const Value& v = *node.inputs[i];
  if ((v.constant || v.known) && v.data != nullptr && v.elements() > 0)  // an empty operand is never bound
    op.weight = ctx.add_weight_floats(static_cast<const float*>(v.data), static_cast<size_t>(v.elements()));
  return op;
}

Support need_f32(const NodeView& node, size_t i, const char* role) {
  const Value& v = *node.inputs[i];
  if (v.dtype != DType::F32) return Support::no(std::string(role) + " dtype " + dtype_name(v.dtype) + ": only F32");
  if (v.elements() > kMaxElements)
    return Support::no(std::string(role) + " " + shape_of(v) + " has more than 2^31 - 1 elements");
  return Support::yes();
}

// ---------------------------------------------------------------------------------------------
// Softmax, LogSoftmax

struct SoftmaxPlan {
  int64_t outer = 1, n = 1, inner = 1;
};

Support plan_softmax(const NodeView& node, SoftmaxPlan* plan) {
  if (node.inputs.size() != 1 || !node.has_input(0) || node.outputs.size() != 1)
    return Support::no("Softmax needs one input and one output");
  if (Support s = need_f32(node, 0, "input"); !s.ok) return s;
  const Value& x = *node.inputs[0];
  int64_t axis = 0;
  if (x.rank() == 0 || !normalize_axis(node.attrs().i("axis", -1), x.rank(), &axis))
    return Support::no("axis out of range for input " + shape_of(x));
  *plan = SoftmaxPlan{};
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d < axis)
      plan->outer *= x.shape[d];
    else if (d == axis)
      plan->n = x.shape[d];
    else
      plan->inner *= x.shape[d];
  }
  return Support::yes();
}

class SoftmaxVk final : public VkOp {
 public:
  explicit SoftmaxVk(bool log) : log_(log) {}

  Status prepare(VkPrepare& ctx) override {
    SoftmaxPlan plan;
    if (Support s = plan_softmax(ctx.node(), &plan); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    push_.rows = static_cast<uint32_t>(plan.outer * plan.inner);
    push_.n = static_cast<uint32_t>(plan.n);
    push_.inner = static_cast<uint32_t>(plan.inner);
    push_.log_softmax = log_ ? 1 : 0;
    if (plan.n == 0) push_.rows = 0;  // nothing to write
    small_ = plan.n <= kSoftmaxSmallRow;
    const uint64_t groups = small_ ? (uint64_t{push_.rows} + 63) / 64 : push_.rows;
    if (!grid_xy(groups, ctx.caps(), &gx_, &gy_))
      return ctx.fail(StatusCode::kUnsupported,
                      std::to_string(push_.rows) + " rows exceed the device's workgroup counts");
    x_ = float_operand(ctx, 0);
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    if (push_.rows == 0) return;
    ctx.dispatch(small_ ? "softmax_small" : "softmax", {x_.get(ctx), ctx.output(0)}, &push_, sizeof(push_), gx_, gy_);
  }

  std::string kernel_name() const override { return log_ ? "vulkan.log_softmax" : "vulkan.softmax"; }

 private:
  struct Push {
    uint32_t rows, n, inner, log_softmax;
  };
  bool log_;
  bool small_ = false;
  Push push_{};
  FloatOperand x_;
  uint32_t gx_ = 0, gy_ = 1;
};

// ---------------------------------------------------------------------------------------------
// LayerNormalization, RMSNormalization

struct RowNormPlan {
  int64_t rows = 0, n = 1;
};

Support plan_row_norm(const NodeView& node, bool rms, RowNormPlan* plan) {
  const size_t max_inputs = rms ? 2 : 3;
  if (node.inputs.size() < 1 || node.inputs.size() > max_inputs || !node.has_input(0) || node.outputs.size() != 1)
    return Support::no(std::string(rms ? "RMSNormalization" : "LayerNormalization") + " arity");
  if (!rms && !node.has_input(1)) return Support::no("LayerNormalization without Scale");
  const char* roles[3] = {"input", "Scale", "B"};
  for (size_t i = 0; i < node.inputs.size(); ++i)
    if (node.has_input(i))
      if (Support s = need_f32(node, i, roles[i]); !s.ok) return s;
  const Value& x = *node.inputs[0];
  int64_t axis = 0;
  if (x.rank() == 0 || !normalize_axis(node.attrs().i("axis", -1), x.rank(), &axis))
    return Support::no("axis out of range for input " + shape_of(x));
  plan->n = num_elements(Shape(x.shape.begin() + axis, x.shape.end()));
  plan->rows = num_elements(Shape(x.shape.begin(), x.shape.begin() + axis));
  for (size_t i = 1; i < node.inputs.size(); ++i)
    if (node.has_input(i) && node.inputs[i]->elements() != plan->n)
      return Support::no(std::string(roles[i]) + " " + shape_of(*node.inputs[i]) + " does not hold the " +
                         std::to_string(plan->n) + " normalised elements");
  return Support::yes();
}

class RowNormVk final : public VkOp {
 public:
  explicit RowNormVk(bool rms) : rms_(rms) {}

  Status prepare(VkPrepare& ctx) override {
    RowNormPlan plan;
    if (Support s = plan_row_norm(ctx.node(), rms_, &plan); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    const Attrs attrs = ctx.node().attrs();
    push_.rows = plan.n == 0 ? 0 : static_cast<uint32_t>(plan.rows);
    push_.n = static_cast<uint32_t>(plan.n);
    push_.epsilon = attrs.f("epsilon", rms_ ? 1e-6f : 1e-5f);
    push_.rms = rms_ ? 1 : 0;
    x_ = float_operand(ctx, 0);
    scale_ = float_operand(ctx, 1);
    bias_ = float_operand(ctx, 2);
    push_.has_scale = scale_.present ? 1 : 0;
    push_.has_bias = bias_.present ? 1 : 0;
    if (!grid_xy(push_.rows, ctx.caps(), &gx_, &gy_))
      return ctx.fail(StatusCode::kUnsupported,
                      std::to_string(push_.rows) + " rows exceed the device's workgroup counts");
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    if (push_.rows == 0) return;
    const Tensor x = x_.get(ctx);
    const Tensor scale = scale_.present ? scale_.get(ctx) : x;  // unused binding when absent
    const Tensor bias = bias_.present ? bias_.get(ctx) : scale;
    ctx.dispatch("layernorm", {x, ctx.output(0), scale, bias}, &push_, sizeof(push_), gx_, gy_);
  }

  std::string kernel_name() const override { return rms_ ? "vulkan.rmsnorm" : "vulkan.layernorm"; }

 private:
  struct Push {
    uint32_t rows, n;
    float epsilon;
    uint32_t rms, has_scale, has_bias;
  };
  bool rms_;
  Push push_{};
  FloatOperand x_, scale_, bias_;
  uint32_t gx_ = 0, gy_ = 1;
};

// ---------------------------------------------------------------------------------------------
// Attention

struct AttentionPush {
  uint32_t units, heads, group, sq, sk, d, dv, q_row, k_row, v_row, y_row;
  float scale;
  uint32_t causal, mask_kind;
  float mask_fill;
  uint32_t ms[4];
};
static_assert(sizeof(AttentionPush) == 76);

Support plan_attention(const NodeView& node, AttentionPush* p) {
  if (node.inputs.size() < 3 || node.inputs.size() > 4 || node.outputs.size() != 1)
    return Support::no("Attention arity");
  const char* roles[3] = {"Q", "K", "V"};
  for (size_t i = 0; i < 3; ++i) {
    if (!node.has_input(i)) return Support::no(std::string(roles[i]) + " missing");
    if (Support s = need_f32(node, i, roles[i]); !s.ok) return s;
    if (node.inputs[i]->rank() != 3)
      return Support::no(std::string(roles[i]) + " " + shape_of(*node.inputs[i]) + " is not rank 3");
  }
  const Value& q = *node.inputs[0];
  const Value& k = *node.inputs[1];
  const Value& v = *node.inputs[2];
  const Attrs attrs = node.attrs();
  const int64_t heads = attrs.i("num_heads", 0);
  const int64_t kv_heads = attrs.i("kv_heads", heads);
  if (heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0 || q.shape[2] % heads != 0 || v.shape[2] % kv_heads != 0)
    return Support::no("num_heads / kv_heads do not divide the packed head dims");
  const int64_t batch = q.shape[0], sq = q.shape[1], sk = k.shape[1];
  const int64_t d = q.shape[2] / heads, dv = v.shape[2] / kv_heads;
  if (k.shape[0] != batch || k.shape[2] != kv_heads * d || v.shape[0] != batch || v.shape[1] != sk)
    return Support::no("Q, K, V shapes do not match");
  if (d == 0) return Support::no("head dim D is 0");
  if (d > kAttentionMaxD)
    return Support::no("head dim D " + std::to_string(d) + " > " + std::to_string(kAttentionMaxD));
  if (dv > kAttentionMaxDv)
    return Support::no("head dim Dv " + std::to_string(dv) + " > " + std::to_string(kAttentionMaxDv));
  const int64_t units = batch * heads * ((sq + kAttentionRows - 1) / kAttentionRows);
  if (units > kMaxElements || batch * sq * heads * std::max(d, dv) > kMaxElements)
    return Support::no("Attention output over 2^31 elements");
  *p = AttentionPush{};
  p->units = static_cast<uint32_t>(units);
  p->heads = static_cast<uint32_t>(heads);
  p->group = static_cast<uint32_t>(heads / kv_heads);
  p->sq = static_cast<uint32_t>(sq);
  p->sk = static_cast<uint32_t>(sk);
  p->d = static_cast<uint32_t>(d);
  p->dv = static_cast<uint32_t>(dv);
  p->q_row = static_cast<uint32_t>(heads * d);
  p->k_row = static_cast<uint32_t>(kv_heads * d);
  p->v_row = static_cast<uint32_t>(kv_heads * dv);
  p->y_row = static_cast<uint32_t>(heads * dv);
  p->scale = attrs.f("scale", d > 0 ? 1.f / std::sqrt(static_cast<float>(d)) : 1.f);
  p->causal = attrs.i("causal", 0) != 0 ? 1 : 0;
  p->mask_fill = attrs.f("mask_fill", -std::numeric_limits<float>::infinity());
  if (!std::isfinite(p->scale) || std::isnan(p->mask_fill)) return Support::no("scale not finite or mask_fill NaN");
  if (node.has_input(3)) {
    const Value& m = *node.inputs[3];
    if (m.dtype == DType::BOOL)
      p->mask_kind = 1;
    else if (m.dtype == DType::F32)
      p->mask_kind = 2;
    else
      return Support::no(std::string("mask dtype ") + dtype_name(m.dtype) + ": only BOOL or F32");
    if (m.rank() > 4) return Support::no("mask " + shape_of(m) + " has rank > 4");
    if (m.elements() > kMaxElements) return Support::no("mask " + shape_of(m) + " over 2^31 elements");
    const int64_t full[4] = {batch, heads, sq, sk};
    int64_t stride = 1;
    for (int64_t i = 0; i < m.rank(); ++i) {
      const int64_t size = m.shape[m.rank() - 1 - i];
      if (size != 1 && size != full[3 - i])
        return Support::no("mask " + shape_of(m) + " does not broadcast to [B, num_heads, Sq, Sk]");
      p->ms[3 - i] = size == 1 ? 0 : static_cast<uint32_t>(stride);
      stride *= size;
    }
  }
  return Support::yes();
}

class AttentionVk final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    if (Support s = plan_attention(ctx.node(), &push_); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    if (push_.dv == 0) push_.units = 0;  // an empty output
    if (!grid_xy(push_.units, ctx.caps(), &gx_, &gy_))
      return ctx.fail(StatusCode::kUnsupported,
                      std::to_string(push_.units) + " query rows exceed the device's workgroup counts");
    for (size_t i = 0; i < 3; ++i) qkv_[i] = float_operand(ctx, i);
    const NodeView& node = ctx.node();
    if (node.has_input(3)) {
      const Value& m = *node.inputs[3];
      mask_.present = m.elements() > 0;  // an empty mask (Sk == 0) is never read
      mask_.input = 3;
      if ((m.constant || m.known) && m.data != nullptr && m.elements() > 0) {
        if (m.dtype == DType::F32) {
          mask_.weight = ctx.add_weight_floats(static_cast<const float*>(m.data), static_cast<size_t>(m.elements()));
        } else {
          const uint8_t* b = static_cast<const uint8_t*>(m.data);
          std::vector<int32_t> words(static_cast<size_t>(m.elements()));
          for (size_t j = 0; j < words.size(); ++j) words[j] = b[j] != 0 ? 1 : 0;
          mask_.weight = ctx.add_weight_ints(words.data(), words.size());
        }
      }
    }
    // Sk == 0 (or every key hidden by causal): the shader writes zeros, as the CPU does.
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    const Tensor y = ctx.output(0);
    if (push_.units == 0) return;
    const Tensor q = qkv_[0].get(ctx), k = qkv_[1].get(ctx), v = qkv_[2].get(ctx);
    // Empty K/V (Sk == 0) still need a valid binding: Q stands in, never read.
    const Tensor kb = k.bytes ? k : q;
    const Tensor vb = v.bytes ? v : q;
    const Tensor m = mask_.present ? mask_.get(ctx) : q;
    const Tensor mb = m.bytes ? m : q;
    ctx.dispatch("attention", {q, kb, vb, y, mb, mb}, &push_, sizeof(push_), gx_, gy_);
  }

  std::string kernel_name() const override { return "vulkan.attention"; }

 private:
  AttentionPush push_{};
  FloatOperand qkv_[3];
  FloatOperand mask_;
  uint32_t gx_ = 0, gy_ = 1;
};

bool is_norm_op(fb::OpType op) {
  switch (op) {
    case fb::OpType::Softmax:
    case fb::OpType::LogSoftmax:
    case fb::OpType::LayerNormalization:
    case fb::OpType::RMSNormalization:
    case fb::OpType::Attention:
      return true;
    default:
      return false;
  }
}

}  // namespace

Support vk_supports_norm(const NodeView& node, const DeviceCaps& caps) {
  (void)caps;
  if (!is_norm_op(node.op())) return Support::no("");
  for (const Value* out : node.outputs)
    if (out == nullptr || out->dtype != DType::F32 || out->elements() > kMaxElements)
      return Support::no("output must be F32 with at most 2^31 - 1 elements");
  switch (node.op()) {
    case fb::OpType::Softmax:
    case fb::OpType::LogSoftmax: {
      SoftmaxPlan plan;
      return plan_softmax(node, &plan);
    }
    case fb::OpType::LayerNormalization:
    case fb::OpType::RMSNormalization: {
      RowNormPlan plan;
      return plan_row_norm(node, node.op() == fb::OpType::RMSNormalization, &plan);
    }
    case fb::OpType::Attention: {
      AttentionPush push;
      return plan_attention(node, &push);
    }
    default:
      return Support::no("");
  }
}

std::unique_ptr<VkOp> make_vk_op_norm(const NodeView& node) {
  switch (node.op()) {
    case fb::OpType::Softmax:
      return std::make_unique<SoftmaxVk>(false);
    case fb::OpType::LogSoftmax:
      return std::make_unique<SoftmaxVk>(true);
    case fb::OpType::LayerNormalization:
      return std::make_unique<RowNormVk>(false);
    case fb::OpType::RMSNormalization:
      return std::make_unique<RowNormVk>(true);
    case fb::OpType::Attention:
      return std::make_unique<AttentionVk>();
    default:
      return nullptr;
  }
}

}  // namespace pocket::vk
