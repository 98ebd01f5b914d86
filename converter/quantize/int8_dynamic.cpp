// --precision int8-dynamic (weight-only int8): Conv, Gemm and MatMul weights become I8 symmetric
// per output channel (Conv group 1, Gemm and MatMul then run the int8 GEMM on activations
// quantized per row at run time; depthwise Conv gets its weights dequantized at session
// creation), SqueezeExcite's FC weights the same (dequantized at creation), and constant
// embedding tables read by Gather I8 per row. Everything else stays F32.
#include "converter/quantize/quantize_internal.h"

namespace pocket::converter::quantize::detail {

namespace {

constexpr int64_t kMinWeightElements = 16;

// The (slot, axis) pairs of a node's weights that the weight-only form quantizes; empty when the
// node is not a quantizable layer.
std::vector<std::pair<int, int>> weight_slots(const ir::Graph& g, const ir::Node& n) {
  auto ok = [&](size_t slot, size_t rank) {
    if (slot >= n.inputs.size() || !is_f32_constant(g, n.inputs[slot])) return false;
    const ir::Value* v = g.find(n.inputs[slot]);
    return v->shape.size() == rank && v->elements() >= kMinWeightElements;
  };
  if (n.op == "Conv" && ok(1, 4)) return {{1, 0}};
  if (n.op == "MatMul" && ok(1, 2) && !g.is_constant(n.inputs[0])) return {{1, 1}};
  if (n.op == "Gemm" && ok(1, 2) && !g.is_constant(n.inputs[0])) return {{1, n.i("transB", 0) ? 0 : 1}};
  if (n.op == "SqueezeExcite") {
    std::vector<std::pair<int, int>> s;
    if (ok(1, 4)) s.push_back({1, 0});
    if (ok(3, 4)) s.push_back({3, 0});
    return s;
  }
  if (n.op == "Gather" && ok(0, 2) && n.inputs.size() > 1 && !g.is_constant(n.inputs[1])) {
    int64_t axis = n.i("axis", 0);
    if (axis < 0) axis += 2;
    if (axis == 0 || axis == 1) return {{0, static_cast<int>(axis)}};
  }
  return {};
}

}  // namespace

// Also used by the static form for the weight-only parts (Gather, SqueezeExcite, layers left
// float stay F32 there).
std::vector<std::pair<int, int>> dynamic_weight_slots(const ir::Graph& g, const ir::Node& n) {
  return weight_slots(g, n);
}

Status apply_int8_dynamic(ir::Graph& g, const FloatSet& fs, QuantizeReport* report) {
  WeightQuantizer wq(g);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    auto slots = weight_slots(g, g.nodes[k]);
    if (slots.empty()) continue;
    const ir::Node& n0 = g.nodes[k];
    LayerReport row;
    row.name = layer_name(n0);
    row.op = n0.op;
    std::string why = fs.reason(n0);
    if (!why.empty()) {
      row.precision = "fp32";
      row.reason = why;
    } else {
      for (auto [slot, axis] : slots) wq.quantize(static_cast<int>(k), slot, axis);
      const ir::Node& n = g.nodes[k];
      row.precision = "int8-dynamic";
      if (n.op == "Conv" && n.i("group", 1) != 1) row.reason = "weight-only int8 (depthwise: dequantized at load)";
      else if (n.op == "SqueezeExcite") row.reason = "weight-only int8 (dequantized at load)";
      else if (n.op == "Gather") row.reason = "int8 embedding table, per row";
      else row.reason = "int8 weights per channel, activations per row at run time";
    }
    node_weight_bytes(g, g.nodes[k], &row.bytes_fp32, &row.bytes);
    report->layers.push_back(std::move(row));
  }
  g.remove_dead();
  return Status::Ok();
}

}  // namespace pocket::converter::quantize::detail
