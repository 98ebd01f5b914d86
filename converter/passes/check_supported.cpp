// The support check: one kUnsupported Status listing every node the engine cannot run (op not in
// format/OPS.md, foreign domain, unsupported dtype, rank or attribute), each as
// "OpType 'node name' (opset N)".
#include <map>
#include <set>

#include "converter/convert.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {

// Whether the engine can compute `value` at prepare (constant, Shape, shape arithmetic on those);
// else *why names what it depends on. Defined in normalize.cpp.
bool prepare_computable(const ir::Graph& g, const std::string& value, std::string* why);

namespace {

using ir::DType;

bool known_op(const std::string& op) {
  for (fb::OpType t : fb::EnumValuesOpType())
    if (op == fb::EnumNameOpType(t)) return true;
  return false;
}

// Ops that compute on float data only.
bool float_only(const std::string& op) {
  static const std::set<std::string> ops = {
      "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LRN",
      "Gemm", "MatMul", "Pow", "PRelu", "Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid",
      "HardSwish", "Tanh", "Softplus", "Softsign", "Clip", "Exp", "Log", "Sqrt", "Erf", "Reciprocal",
      "Floor", "Ceil", "SiLU", "Softmax", "LogSoftmax", "InstanceNormalization", "Resize", "ReduceL2",
      "LayerNormalization", "RMSNormalization", "Gelu", "Attention"};
  return ops.count(op) != 0;
}

bool arithmetic(const std::string& op) {
  static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Neg", "Abs",
                                            "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
                                            "ArgMax", "ArgMin"};
  return ops.count(op) != 0;
}

bool spatial(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "MaxPool" || op == "AveragePool" ||
         op == "GlobalAveragePool" || op == "GlobalMaxPool" || op == "LRN";
}

std::string dtype_of(const ir::Graph& g, const ir::Node& n, size_t k) {
  const ir::Value* v = k < n.inputs.size() && !n.inputs[k].empty() ? g.find(n.inputs[k]) : nullptr;
  return v ? fb::EnumNameDType(v->dtype) : "";
}

// Dtype rules of the format 1.1 ops (format/OPS.md); "" when fine or unknown.
std::string dtype_rule(const ir::Graph& g, const ir::Node& n) {
  auto dt = [&](size_t k) -> const ir::Value* {
    return k < n.inputs.size() && !n.inputs[k].empty() ? g.find(n.inputs[k]) : nullptr;
  };
  const std::string& op = n.op;
  if (op == "Where") {
    if (dt(0) && dt(0)->dtype != DType::BOOL) return "condition dtype " + dtype_of(g, n, 0) + " is not BOOL";
    if (dt(1) && dt(2) && dt(1)->dtype != dt(2)->dtype) return "X and Y dtypes differ (" + dtype_of(g, n, 1) + ", " + dtype_of(g, n, 2) + ")";
  } else if (op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual") {
    for (size_t k = 0; k < 2; ++k) {
      const ir::Value* v = dt(k);
      if (!v) continue;
      const bool ok = v->dtype == DType::F32 || v->dtype == DType::F64 || v->dtype == DType::I64 || v->dtype == DType::I32 ||
                      (op == "Equal" && v->dtype == DType::BOOL);
      if (!ok) return "input dtype " + dtype_of(g, n, k) + " is not supported";
    }
    if (dt(0) && dt(1) && dt(0)->dtype != dt(1)->dtype) return "input dtypes differ (" + dtype_of(g, n, 0) + ", " + dtype_of(g, n, 1) + ")";
  } else if (op == "And" || op == "Or" || op == "Xor" || op == "Not") {
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (dt(k) && dt(k)->dtype != DType::BOOL) return "input dtype " + dtype_of(g, n, k) + " is not BOOL";
  } else if (op == "Range") {
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (dt(k) && dt(k)->dtype != DType::F32 && dt(k)->dtype != DType::I64 && dt(k)->dtype != DType::I32)
        return "input dtype " + dtype_of(g, n, k) + " is not float32, int64 or int32";
  } else if (op == "ScatterND" || op == "ScatterElements") {
    if (dt(1) && dt(1)->dtype != DType::I64 && dt(1)->dtype != DType::I32) return "indices must be int64 or int32";
    const std::string reduction = n.s("reduction", "none");
    if (reduction != "none") return "reduction '" + reduction + "' is not supported";
  }
  return "";
}

// Why the engine cannot run this node; "" if it can.
std::string reason(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty()) return "domain '" + n.domain + "' is not supported";
  if (!known_op(n.op)) return "not a .pocket operator (see format/OPS.md)";
  if (n.has("__unsupported_attr")) return "unsupported attribute " + n.s("__unsupported_attr", "");
  const ir::Value* x = n.inputs.empty() || n.inputs[0].empty() ? nullptr : g.find(n.inputs[0]);
  if (x && x->dtype == DType::F16) return "float16 compute is not supported";
  if (x && x->dtype == DType::BF16) return "bfloat16 compute is not supported";
  // Static int8 forms (format/OPS.md "Quantization"): I8 activations into Conv, Gemm, MatMul, pools.
  const bool int8_form = x && x->dtype == DType::I8 && x->has_quant &&
                         (n.op == "Conv" || n.op == "Gemm" || n.op == "MatMul" || n.op == "MaxPool" ||
                          n.op == "AveragePool" || n.op == "GlobalAveragePool" || n.op == "Add");
  if (int8_form) {
    if (n.op == "Conv" || n.op == "Gemm" || n.op == "MatMul") {
      const ir::Value* w = n.inputs.size() > 1 ? g.find(n.inputs[1]) : nullptr;
      if (!w || !w->is_constant() || w->dtype != DType::I8) return "int8 input needs a constant int8 weight";
    }
    const ir::Value* y = n.outputs.empty() ? nullptr : g.find(n.outputs[0]);
    if (y && y->dtype != DType::I8) return "int8 input with a float output is not an int8 form";
  }
  if (n.op == "QuantizeLinear" || n.op == "DequantizeLinear") {
    if (n.inputs.size() != 1) return "scale / zero point inputs left (fold_qdq moves them onto the tensors)";
    const ir::Value* q = g.find(n.op == "QuantizeLinear" ? n.outputs[0] : n.inputs[0]);
    if (!q || q->dtype != DType::I8 || !q->has_quant) return "the quantized tensor is not I8 with quantization";
    if (n.op == "QuantizeLinear" && q->quant.axis >= 0) return "QuantizeLinear output must be per tensor";
  }
  if (!int8_form && x && float_only(n.op) && x->dtype != DType::F32) return std::string("input dtype ") + fb::EnumNameDType(x->dtype) + " is not supported";
  const bool f64_ok = n.op == "Add" || n.op == "Sub" || n.op == "Mul" || n.op == "Div";  // scalar kernels
  if (x && arithmetic(n.op) && !int8_form && x->dtype != DType::F32 && x->dtype != DType::I64 && x->dtype != DType::I32 &&
      !(x->dtype == DType::F64 && f64_ok))
    return std::string("input dtype ") + fb::EnumNameDType(x->dtype) + " is not supported";
  if (spatial(n.op)) {
    if (x && x->shape_known && x->shape.size() != 4)
      return std::to_string(static_cast<int64_t>(x->shape.size()) - 2) + "-D form (rank " +
             std::to_string(x->shape.size()) + " input) is not supported; only 1-D and 2-D";
    if (n.op == "Conv" || n.op == "ConvTranspose") {
      if (n.inputs.size() < 2 || !g.is_constant(n.inputs[1])) return "weights are not a constant";
      if (n.inputs.size() > 2 && !n.inputs[2].empty() && !g.is_constant(n.inputs[2])) return "bias is not a constant";
    }
  }
  if (n.op == "InstanceNormalization")
    for (size_t k = 1; k < 3; ++k)
      if (k >= n.inputs.size() || !g.is_constant(n.inputs[k])) return "scale and B must be constants";
  // Operands that the format keeps as attributes, or as inputs known at prepare (format/OPS.md).
  static const std::set<std::string> single_input = {"Clip", "Resize", "ReduceMean", "ReduceSum",
                                                     "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2"};
  if (single_input.count(n.op) && n.inputs.size() > 1) return "operand input " + n.inputs[1] + " is not a constant";
  static const std::map<std::string, size_t> max_inputs = {
      {"Reshape", 2}, {"Slice", 5}, {"Pad", 3}, {"Split", 2}, {"Squeeze", 2}, {"Unsqueeze", 2}, {"Tile", 2},
      {"Expand", 2}, {"ConstantOfShape", 1}, {"Range", 3}, {"Trilu", 2}};
  auto it = max_inputs.find(n.op);
  if (it != max_inputs.end()) {
    if (n.inputs.size() > it->second) return "has " + std::to_string(n.inputs.size()) + " inputs (at most " + std::to_string(it->second) + ")";
    const size_t first = n.op == "ConstantOfShape" || n.op == "Range" ? 0 : 1;
    for (size_t k = first; k < n.inputs.size(); ++k) {
      std::string why;
      if (!n.inputs[k].empty() && !prepare_computable(g, n.inputs[k], &why))
        return "operand '" + n.inputs[k] + "' depends on run-time data (" + why + "); Pocket needs it at prepare";
    }
  }
  if (std::string why = dtype_rule(g, n); !why.empty()) return why;
  if (n.op == "Gather" && n.inputs.size() == 2) {
    const ir::Value* idx = g.find(n.inputs[1]);
    if (idx && idx->dtype != DType::I64 && idx->dtype != DType::I32) return "indices must be int64 or int32";
  }
  if (n.op == "Pad") {
    std::string mode = n.s("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge") return "mode '" + mode + "' is not supported";
  }
  if (n.op == "Resize") {
    std::string mode = n.s("mode", "nearest");
    if (mode != "nearest" && mode != "linear") return "mode '" + mode + "' is not supported";
  }
  if (n.op == "Cast") {
    int64_t to = n.i("to", -1);
    if (to < static_cast<int64_t>(DType::MIN) || to > static_cast<int64_t>(DType::MAX)) return "unknown target dtype";
  }
  return "";
}

}  // namespace

Status check_supported(const ir::Graph& g) {
  std::vector<std::string> lines;
  for (const ir::Node& n : g.nodes) {
    std::string why = reason(g, n);
    if (!why.empty())
      lines.push_back(n.op + " '" + n.name + "' (opset " + std::to_string(g.opset) + "): " + why);
  }
  for (const std::string& in : g.inputs) {
    const ir::Value* v = g.find(in);
    if (v && (v->dtype == DType::F16 || v->dtype == DType::BF16))
      lines.push_back("graph input '" + in + "' has an unsupported dtype");
  }
  if (lines.empty()) return Status::Ok();
  std::string msg = std::to_string(lines.size()) + " node(s) are not supported by the engine:";
  for (const auto& l : lines) msg += (&l == &lines.front() ? " " : "; ") + l;
  return unsupported(msg);
}

}  // namespace pocket::converter
