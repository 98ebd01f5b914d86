// The dispatching ops of the format 1.2 int8 forms: one per op type that has an int8 form. Each
// holds the float op or the int8 op, picked at prepare by the input dtypes, and forwards every
// call to it. Data movement ops have no int8 class: the float op moves the bytes of any dtype and
// the dispatcher checks that Y carries X's quantization (format/OPS.md, "Quantization").
#include <cstring>

#include "engine/ops/quant/quant_common.h"

namespace pocket {

namespace {

// The float factories the tables held before register_quant_ops replaced them. Written once,
// inside op_factory()'s one-time table initialisation.
OpFactory g_float_form[static_cast<int>(fb::OpType::MAX) + 1] = {};

struct Form {
  OpFactory int8_form = nullptr;                          // nullptr: data movement (float op + check)
  bool (*use_int8)(const OpContext& ctx) = nullptr;       // on the inputs as the file gives them
  bool (*accepts)(const OpContext& ctx, size_t i) = nullptr;
};

bool accept_all(const OpContext&, size_t) { return true; }
bool accept_first(const OpContext&, size_t i) { return i == 0; }

// Conv: static when X is int8; dynamic (weight-only) when X is float, W int8 and group 1. A float
// X with int8 W in another group count (depthwise) gets W dequantized and runs the float op.
bool conv_int8(const OpContext& ctx) {
  if (is_q8_input(ctx, 0)) return true;
  if (!ctx.has_input(0) || ctx.in(0).dtype != DType::F32 || !is_q8_input(ctx, 1)) return false;
  return ctx.attrs().i("group", 1) == 1;
}
bool conv_accepts(const OpContext& ctx, size_t i) { return i == 1 || ((i == 0 || i == 3) && is_q8_input(ctx, 0)); }

// Gemm / MatMul: int8 when B is an int8 constant (A int8: static, A float: dynamic), or A int8.
bool dense_int8(const OpContext& ctx) {
  if (is_q8_input(ctx, 0)) return true;
  return ctx.has_input(0) && ctx.in(0).dtype == DType::F32 && is_q8_input(ctx, 1) && ctx.in(1).constant;
}
bool dense_accepts(const OpContext& ctx, size_t i) { return i == 1 || ((i == 0 || i == 3) && is_q8_input(ctx, 0)); }

bool gather_int8(const OpContext& ctx) { return is_q8_input(ctx, 0) && ctx.in(0).constant; }

bool pool_int8(const OpContext& ctx) { return is_q8_input(ctx, 0); }

bool add_int8(const OpContext& ctx) { return is_q8_input(ctx, 0) || (is_q8_input(ctx, 1) && !ctx.in(1).constant); }

bool se_int8(const OpContext& ctx) { return is_q8_input(ctx, 0); }

bool concat_int8(const OpContext& ctx) {
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    if (is_q8_input(ctx, i)) return true;
  return false;
}

bool move_int8(const OpContext& ctx) { return is_q8_input(ctx, 0); }

Form form_of(fb::OpType op) {
  using T = fb::OpType;
  switch (op) {
    case T::Conv: return {&make_qconv_op, &conv_int8, &conv_accepts};
    case T::Gemm: return {&make_qgemm_op, &dense_int8, &dense_accepts};
    case T::MatMul: return {&make_qmatmul_op, &dense_int8, &dense_accepts};
    case T::Gather: return {&make_qgather_op, &gather_int8, &accept_first};
    case T::Add: return {&make_qadd_op, &add_int8, &accept_all};
    case T::MaxPool: return {&make_qmax_pool_op, &pool_int8, &accept_first};
    case T::AveragePool: return {&make_qaverage_pool_op, &pool_int8, &accept_first};
    case T::GlobalAveragePool: return {&make_qglobal_average_pool_op, &pool_int8, &accept_first};
    case T::SqueezeExcite: return {&make_qsqueeze_excite_op, &se_int8, &accept_first};
    case T::Concat: return {&make_qconcat_op, &concat_int8, &accept_all};
    case T::Reshape: case T::Flatten: case T::Squeeze: case T::Unsqueeze: case T::Transpose:
    case T::Identity: case T::Slice: case T::Pad:
      return {nullptr, &move_int8, &accept_first};
    default: return {};
  }
}

class DispatchOp final : public Op {
 public:
  explicit DispatchOp(fb::OpType type) : type_(type), form_(form_of(type)) {}

  bool accepts_quantized(const OpContext& ctx, size_t input) const override {
    return form_.use_int8 && form_.use_int8(ctx) && form_.accepts(ctx, input);
  }

  Status prepare(OpContext& ctx) override {
    int8_ = form_.use_int8 && form_.use_int8(ctx);
    OpFactory f = int8_ && form_.int8_form ? form_.int8_form : g_float_form[static_cast<int>(type_)];
    if (!f) return ctx.fail(StatusCode::kUnsupported, "this build has no kernel for this op");
    inner_ = f();
    POCKET_RETURN_IF_ERROR(inner_->prepare(ctx));
    if (int8_ && !form_.int8_form) {
      // Data movement on int8: Y keeps X's quantization.
      const Value& x = ctx.in(0);
      const Value& y = ctx.out(0);
      if (!same_quantization(x.quant, y.quant))
        return ctx.fail(StatusCode::kInvalidModel, "output '" + std::string(y.name) + "' must carry the quantization of " +
                                                       describe_value("input X", x) + " (int8 data movement keeps it)");
    }
    return Status::Ok();
  }
  Status bind(OpContext& ctx) override { return inner_->bind(ctx); }
  void run(OpContext& ctx) override { inner_->run(ctx); }
  std::string kernel_name() const override { return inner_ ? inner_->kernel_name() : "none"; }
  int64_t flops(const OpContext& ctx) const override { return inner_ ? inner_->flops(ctx) : 0; }
  int alias_input() const override { return inner_ ? inner_->alias_input() : -1; }
  int inplace_input() const override { return inner_ ? inner_->inplace_input() : -1; }
  std::vector<std::string> variants() const override { return inner_ ? inner_->variants() : std::vector<std::string>{}; }
  int chosen_variant() const override { return inner_ ? inner_->chosen_variant() : 0; }
  size_t private_bytes() const override { return inner_ ? inner_->private_bytes() : 0; }

 private:
  fb::OpType type_;
  Form form_;
  bool int8_ = false;
  std::unique_ptr<Op> inner_;
};

template <fb::OpType T>
std::unique_ptr<Op> make_dispatch() {
  return std::make_unique<DispatchOp>(T);
}

template <fb::OpType T>
void wrap(OpTable& table) {
  g_float_form[static_cast<int>(T)] = table.factories[static_cast<int>(T)];
  table.set(T, &make_dispatch<T>);
}

}  // namespace

void register_quant_ops(OpTable& table) {
  using T = fb::OpType;
  table.set(T::QuantizeLinear, &make_quantize_linear_op);
  table.set(T::DequantizeLinear, &make_dequantize_linear_op);
  wrap<T::Conv>(table);
  wrap<T::Gemm>(table);
  wrap<T::MatMul>(table);
  wrap<T::Gather>(table);
  wrap<T::Add>(table);
  wrap<T::MaxPool>(table);
  wrap<T::AveragePool>(table);
  wrap<T::GlobalAveragePool>(table);
  wrap<T::SqueezeExcite>(table);
  wrap<T::Concat>(table);
  wrap<T::Reshape>(table);
  wrap<T::Flatten>(table);
  wrap<T::Squeeze>(table);
  wrap<T::Unsqueeze>(table);
  wrap<T::Transpose>(table);
  wrap<T::Identity>(table);
  wrap<T::Slice>(table);
  wrap<T::Pad>(table);
}

}  // namespace pocket
