// Elementwise ops on Vulkan: unary activations and math (unary.comp), binary and variadic
// arithmetic with numpy broadcasting up to rank 6 (binary.comp, binary_i.comp), comparisons
// (compare.comp, compare_i.comp), And/Or/Xor/Not (logical.comp), Where (where.comp, where_i.comp),
// Cast (cast*.comp, or a view when the storage does not change), and the views Reshape, Flatten,
// Squeeze, Unsqueeze, Identity (alias_input 0). A constant operand becomes a weight.
#include <algorithm>
#include <cstring>
#include <limits>

#include "engine/backends/vulkan/vk_op.h"
#include "engine/backends/vulkan/vk_util.h"

namespace pocket::vk {
namespace {

using fb::OpType;
constexpr size_t kMaxRank = 6;
constexpr uint32_t kGroup = 256;

uint32_t groups_1d(int64_t n, const DeviceCaps& caps) {
  const int64_t g = (n + kGroup - 1) / kGroup;
  return static_cast<uint32_t>(std::min<int64_t>(g, std::min<uint32_t>(caps.max_workgroup_count[0], 65535u)));
}

int unary_code(const NodeView& n) {
  switch (n.op()) {
    case OpType::Relu: return 0;
    case OpType::LeakyRelu: return 1;
    case OpType::Elu: return 2;
    case OpType::Selu: return 3;
    case OpType::Sigmoid: return 4;
    case OpType::HardSigmoid: return 5;
    case OpType::HardSwish: return 6;
    case OpType::Tanh: return 7;
    case OpType::Softplus: return 8;
    case OpType::Softsign: return 9;
    case OpType::Clip: return 10;
    case OpType::Exp: return 11;
    case OpType::Log: return 12;
    case OpType::Sqrt: return 13;
    case OpType::Neg: return 14;
    case OpType::Abs: return 15;
    case OpType::Erf: return 16;
    case OpType::Reciprocal: return 17;
    case OpType::Floor: return 18;
    case OpType::Ceil: return 19;
    case OpType::SiLU: return 20;
    case OpType::Gelu: return n.attrs().s("approximate", "none") == "tanh" ? 22 : 21;
    default: return -1;
  }
}

// binary.comp op codes; variadic ops fold pairwise.
int binary_code(OpType op) {
  switch (op) {
    case OpType::Add: return 0;
    case OpType::Sub: return 1;
    case OpType::Mul: return 2;
    case OpType::Div: return 3;
    case OpType::Pow: return 4;
    case OpType::Max: return 5;
    case OpType::Min: return 6;
    case OpType::PRelu: return 7;
    case OpType::Sum: return 0;
    default: return -1;
  }
}
bool is_variadic(OpType op) { return op == OpType::Sum || op == OpType::Max || op == OpType::Min; }

int compare_code(OpType op) {
  switch (op) {
    case OpType::Equal: return 0;
    case OpType::Less: return 1;
    case OpType::Greater: return 2;
    case OpType::LessOrEqual: return 3;
    case OpType::GreaterOrEqual: return 4;
    default: return -1;
  }
}

int logical_code(OpType op) {
  switch (op) {
    case OpType::And: return 0;
    case OpType::Or: return 1;
    case OpType::Xor: return 2;
    case OpType::Not: return 3;
    default: return -1;
  }
}

bool is_view(OpType op) {
  return op == OpType::Reshape || op == OpType::Flatten || op == OpType::Squeeze || op == OpType::Unsqueeze ||
         op == OpType::Identity;
}

bool is_int(DType d) { return d == DType::I32 || d == DType::I64; }
bool castable(DType d) { return d == DType::F32 || d == DType::I32 || d == DType::I64 || d == DType::BOOL; }

// Cast kinds.
enum class CastKind { kView, kFloatToInt, kFloatToBool, kToFloat, kIntToBool };
CastKind cast_kind(DType from, DType to) {
  if (from == to) return CastKind::kView;
  if (from == DType::F32) return to == DType::BOOL ? CastKind::kFloatToBool : CastKind::kFloatToInt;
  if (to == DType::F32) return CastKind::kToFloat;
  if (to == DType::BOOL) return CastKind::kIntToBool;
  return CastKind::kView;  // I32 <-> I64, BOOL -> I32/I64: the same int32 storage (0/1 for bool)
}

Support check_operands(const NodeView& n) {
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const Value* v = n.inputs[i];
    if (!v) continue;
    if (v->rank() > static_cast<int64_t>(kMaxRank))
      return Support::no("input " + std::to_string(i) + " has rank " + std::to_string(v->rank()) + " (at most 6)");
    if (v->elements() < 0 || v->elements() > std::numeric_limits<int32_t>::max())
      return Support::no("input " + std::to_string(i) + " " + shape_str(v->shape) + " has 2^31 elements or more");
  }
  for (const Value* v : n.outputs) {
    if (!v) continue;
    if (v->rank() > static_cast<int64_t>(kMaxRank))
      return Support::no("output has rank " + std::to_string(v->rank()) + " (at most 6)");
    if (v->elements() < 0 || v->elements() > std::numeric_limits<int32_t>::max())
      return Support::no("output " + shape_str(v->shape) + " has 2^31 elements or more");
  }
  return Support::yes();
}

std::string dtype_reason(const NodeView& n, size_t i) {
  return std::string("dtype ") + dtype_name(n.inputs[i]->dtype) + " of input " + std::to_string(i);
}

// Push constants of the two-operand broadcasting shaders (binary, compare, logical).
struct BinaryPush {
  uint32_t n = 0;
  int32_t op = 0, plain = 0, pad = 0;
  int32_t dims[6], sa[6], sb[6];
};
static_assert(sizeof(BinaryPush) == 88);

bool make_binary_push(const Shape& a, const Shape& b, const Shape& out, int op, BinaryPush* p) {
  p->n = static_cast<uint32_t>(num_elements(out));
  p->op = op;
  p->plain = a == out && b == out ? 1 : 0;
  for (size_t i = 0; i < kMaxRank; ++i) p->dims[i] = 1;
  for (size_t j = 0; j < out.size(); ++j) p->dims[kMaxRank - out.size() + j] = static_cast<int32_t>(out[j]);
  return broadcast_strides(a, out, kMaxRank, p->sa) && broadcast_strides(b, out, kMaxRank, p->sb);
}

class ElementwiseOp final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    const NodeView& n = ctx.node();
    op_ = n.op();
    caps_ = ctx.caps();
    num_inputs_ = n.inputs.size();
    for (const Value* v : n.inputs) in_shapes_.push_back(v ? v->shape : Shape{});
    weights_.assign(n.inputs.size(), -1);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!is_constant_input(n, i)) continue;
      std::string why;
      weights_[i] = add_constant_weight(ctx, *n.inputs[i], &why);
      if (weights_[i] < 0) return ctx.fail(StatusCode::kUnsupported, why);
    }
    const Value& y = *n.outputs[0];
    out_shape_ = y.shape;
    if (unary_code(n) >= 0) {
      shader_ = "unary";
      name_ = "vulkan.unary";
      code_ = unary_code(n);
      const Attrs a = n.attrs();
      const float inf = std::numeric_limits<float>::infinity();
      switch (op_) {
        case OpType::LeakyRelu: alpha_ = a.f("alpha", 0.01f); break;
        case OpType::Elu: alpha_ = a.f("alpha", 1.0f); break;
        case OpType::Selu:
          alpha_ = a.f("alpha", 1.67326319217681884765625f);
          beta_ = a.f("gamma", 1.05070102214813232421875f);
          break;
        case OpType::HardSigmoid:
          alpha_ = a.f("alpha", 0.2f);
          beta_ = a.f("beta", 0.5f);
          break;
        case OpType::Clip:
          alpha_ = a.f("min", -inf);
          beta_ = a.f("max", inf);
          break;
        default: break;
      }
      return Status::Ok();
    }
    if (compare_code(op_) >= 0) {
      code_ = compare_code(op_);
      shader_ = n.inputs[0]->dtype == DType::F32 ? "compare" : "compare_i";
      name_ = "vulkan.compare";
      return Status::Ok();
    }
    if (logical_code(op_) >= 0) {
      code_ = logical_code(op_);
      shader_ = "logical";
      name_ = "vulkan.logical";
      return Status::Ok();
    }
    if (op_ == OpType::Where) {
      shader_ = n.inputs[1]->dtype == DType::F32 ? "where" : "where_i";
      name_ = "vulkan.where";
      return Status::Ok();
    }
    if (op_ == OpType::Cast) {
      const CastKind k = cast_kind(n.inputs[0]->dtype, y.dtype);
      name_ = "vulkan.cast";
      switch (k) {
        case CastKind::kView: alias_ = 0; name_ = "vulkan.view"; break;
        case CastKind::kFloatToInt: shader_ = "cast"; code_ = 0; break;
        case CastKind::kFloatToBool: shader_ = "cast"; code_ = 1; break;
        case CastKind::kToFloat: shader_ = "cast_to_float"; break;
        case CastKind::kIntToBool: shader_ = "cast_int"; code_ = 1; break;
      }
      return Status::Ok();
    }
    if (is_view(op_) || (is_variadic(op_) && n.inputs.size() == 1)) {
      alias_ = 0;
      name_ = "vulkan.view";
      return Status::Ok();
    }
    if (binary_code(op_) >= 0) {
      code_ = binary_code(op_);
      shader_ = n.inputs[0]->dtype == DType::F32 ? "binary" : "binary_i";
      name_ = "vulkan.binary";
      return Status::Ok();
    }
    return ctx.fail(StatusCode::kUnsupported, "not an elementwise op");
  }

  void record(VkRecord& ctx) override {
    if (alias_ >= 0) return;
    const Tensor y = ctx.output(0);
    const int64_t count = y.elements();
    const uint32_t groups = groups_1d(count, caps_);
    if (count == 0) return;
    if (std::strcmp(shader_, "unary") == 0) {
      struct { uint32_t n; int32_t op; float alpha, beta; } p{static_cast<uint32_t>(count), code_, alpha_, beta_};
      ctx.dispatch(shader_, {operand(ctx, 0), y}, &p, sizeof(p), groups);
      return;
    }
    if (op_ == OpType::Where) {
      struct {
        uint32_t n;
        int32_t dims[6], sc[6], sx[6], sz[6];
      } p{};
      p.n = static_cast<uint32_t>(count);
      for (size_t i = 0; i < kMaxRank; ++i) p.dims[i] = 1;
      for (size_t j = 0; j < out_shape_.size(); ++j) p.dims[kMaxRank - out_shape_.size() + j] = static_cast<int32_t>(out_shape_[j]);
      const Tensor c = operand(ctx, 0), x = operand(ctx, 1), z = operand(ctx, 2);
      broadcast_strides(shape_of(ctx, 0), out_shape_, kMaxRank, p.sc);
      broadcast_strides(shape_of(ctx, 1), out_shape_, kMaxRank, p.sx);
      broadcast_strides(shape_of(ctx, 2), out_shape_, kMaxRank, p.sz);
      ctx.dispatch(shader_, {c, x, z, y}, &p, sizeof(p), groups);
      return;
    }
    if (op_ == OpType::Cast) {
      struct { uint32_t n; int32_t mode; } p{static_cast<uint32_t>(count), code_};
      ctx.dispatch(shader_, {operand(ctx, 0), y}, &p, sizeof(p), groups);
      return;
    }
    if (op_ == OpType::Not) {
      BinaryPush p;
      make_binary_push(shape_of(ctx, 0), shape_of(ctx, 0), out_shape_, code_, &p);
      const Tensor a = operand(ctx, 0);
      ctx.dispatch(shader_, {a, a, y}, &p, sizeof(p), groups);
      return;
    }
    // Binary, compare, logical; variadic ops fold into Y.
    BinaryPush p;
    make_binary_push(shape_of(ctx, 0), shape_of(ctx, 1), out_shape_, code_, &p);
    ctx.dispatch(shader_, {operand(ctx, 0), operand(ctx, 1), y}, &p, sizeof(p), groups);
    for (size_t i = 2; i < num_inputs_; ++i) {
      make_binary_push(out_shape_, shape_of(ctx, i), out_shape_, code_, &p);
      ctx.dispatch(shader_, {y, operand(ctx, i), y}, &p, sizeof(p), groups);
    }
  }

  std::string kernel_name() const override { return name_; }
  int alias_input() const override { return alias_; }


 private:
  Tensor operand(VkRecord& ctx, size_t i) const {
    return weights_[i] >= 0 ? ctx.weight(weights_[i]) : ctx.input(i);
  }
  const Shape& shape_of(VkRecord&, size_t i) const { return in_shapes_[i]; }

  DeviceCaps caps_;
  OpType op_ = OpType::Relu;
  const char* shader_ = "";
  std::string name_;
  int code_ = 0;
  float alpha_ = 0.f, beta_ = 0.f;
  int alias_ = -1;
  size_t num_inputs_ = 0;
  std::vector<Shape> in_shapes_;
  std::vector<int> weights_;
  Shape out_shape_;
};

}  // namespace

Support vk_supports_elementwise(const NodeView& n, const DeviceCaps& caps) {
  (void)caps;
  const OpType op = n.op();
  const bool unary = unary_code(n) >= 0, binary = binary_code(op) >= 0, cmp = compare_code(op) >= 0,
             logic = logical_code(op) >= 0, view = is_view(op);
  if (!unary && !binary && !cmp && !logic && !view && op != OpType::Where && op != OpType::Cast) return Support::no("");
  if (n.outputs.empty() || !n.outputs[0]) return Support::no("no output");
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (!n.inputs[i] && !(view && i > 0)) return Support::no("optional input " + std::to_string(i) + " left out");
  Support s = check_operands(n);
  if (!s.ok) return s;
  const Value& y = *n.outputs[0];
  StoreType st;
  if (!store_type_of(y.dtype, &st) || y.dtype == DType::U8) return Support::no(std::string("output dtype ") + dtype_name(y.dtype));
  if (view || (is_variadic(op) && n.inputs.size() == 1)) {
    if (is_constant_input(n, 0)) return Support::no("a view of a constant");
    if (!store_type_of(n.inputs[0]->dtype, &st) || n.inputs[0]->dtype == DType::U8) return Support::no(dtype_reason(n, 0));
    return Support::yes();
  }
  if (unary) {
    if (n.inputs.size() != 1) return Support::no("expected 1 input");
    if (n.inputs[0]->dtype != DType::F32) return Support::no(dtype_reason(n, 0));
    if (op == OpType::Gelu) {
      const std::string a = n.attrs().s("approximate", "none");
      if (a != "none" && a != "tanh") return Support::no("Gelu approximate '" + a + "'");
    }
    return Support::yes();
  }
  if (op == OpType::Cast) {
    if (n.inputs.size() != 1) return Support::no("expected 1 input");
    if (!castable(n.inputs[0]->dtype)) return Support::no(dtype_reason(n, 0));
    if (!castable(y.dtype)) return Support::no(std::string("Cast to ") + dtype_name(y.dtype));
    if (is_constant_input(n, 0) && cast_kind(n.inputs[0]->dtype, y.dtype) == CastKind::kView)
      return Support::no("a view of a constant");
    return Support::yes();
  }
  if (op == OpType::Where) {
    if (n.inputs.size() != 3) return Support::no("expected 3 inputs");
    if (n.inputs[0]->dtype != DType::BOOL) return Support::no(dtype_reason(n, 0));
    const DType d = n.inputs[1]->dtype;
    if (n.inputs[2]->dtype != d || !(d == DType::F32 || is_int(d) || d == DType::BOOL)) return Support::no(dtype_reason(n, 1));
    return Support::yes();
  }
  if (logic) {
    const size_t want = op == OpType::Not ? 1 : 2;
    if (n.inputs.size() != want) return Support::no("expected " + std::to_string(want) + " inputs");
    for (size_t i = 0; i < want; ++i)
      if (n.inputs[i]->dtype != DType::BOOL) return Support::no(dtype_reason(n, i));
    return Support::yes();
  }
  if (cmp) {
    if (n.inputs.size() != 2) return Support::no("expected 2 inputs");
    const DType d = n.inputs[0]->dtype;
    if (n.inputs[1]->dtype != d) return Support::no("inputs differ in dtype");
    if (!(d == DType::F32 || is_int(d) || d == DType::BOOL)) return Support::no(dtype_reason(n, 0));
    return Support::yes();
  }
  // Binary / variadic.
  if (!is_variadic(op) && n.inputs.size() != 2) return Support::no("expected 2 inputs");
  if (n.inputs.empty()) return Support::no("no inputs");
  const DType d = n.inputs[0]->dtype;
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (n.inputs[i]->dtype != d) return Support::no("inputs differ in dtype");
  const bool int_op = op == OpType::Add || op == OpType::Sub || op == OpType::Mul || op == OpType::Div ||
                      op == OpType::Sum || op == OpType::Max || op == OpType::Min;
  if (!(d == DType::F32 || (int_op && is_int(d)))) return Support::no(dtype_reason(n, 0));
  if (y.dtype != d) return Support::no(std::string("output dtype ") + dtype_name(y.dtype));
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    int32_t s6[kMaxRank];
    if (!broadcast_strides(n.inputs[i]->shape, y.shape, kMaxRank, s6))
      return Support::no("input " + std::to_string(i) + " " + shape_str(n.inputs[i]->shape) + " does not broadcast to " +
                         shape_str(y.shape));
  }
  return Support::yes();
}

std::unique_ptr<VkOp> make_vk_op_elementwise(const NodeView& n) {
  const OpType op = n.op();
  if (unary_code(n) < 0 && binary_code(op) < 0 && compare_code(op) < 0 && logical_code(op) < 0 && !is_view(op) &&
      op != OpType::Where && op != OpType::Cast)
    return nullptr;
  (void)n;
  return std::make_unique<ElementwiseOp>();
}

}  // namespace pocket::vk
