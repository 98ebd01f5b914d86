// --precision int8 (static): the int8 forms of format/OPS.md "Quantization (format 1.2)".
//
// Plan (on the fp32 graph, in topological order): Conv / Gemm / MatMul with constant weights run
// int8 whenever they may (not kept float); Add, GlobalAveragePool, AveragePool and SqueezeExcite
// run int8 when at least one activation input is already int8; MaxPool and the data movement ops
// (Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Identity, Slice, Pad with zeros) when their
// input is int8; Concat when all its inputs are. Outputs of MaxPool and data movement share their
// input's parameters; every other int8 output gets its own from its calibrated range, and so does
// a float value read by an int8 node (through a QuantizeLinear).
//
// Rewrite: weights I8 symmetric per output channel, biases F32; QuantizeLinear where a float value
// enters int8 nodes, DequantizeLinear where an int8 value reaches a float op or a graph output
// (graph inputs and outputs stay F32).
#include <algorithm>
#include <map>
#include <set>

#include "converter/quantize/quantize_internal.h"

namespace pocket::converter::quantize::detail {

namespace {

enum class Kind { kNone, kCompute, kJoin, kShares, kConcat };

struct Role {
  Kind kind = Kind::kNone;
  std::vector<int> act;  // activation input slots
  int weight_axis = -1;  // kCompute: axis of the weight (slot 1)
};

bool optional_constant(const ir::Graph& g, const ir::Node& n, size_t slot) {
  return slot >= n.inputs.size() || n.inputs[slot].empty() || is_f32_constant(g, n.inputs[slot]);
}

bool known_shape(const ir::Graph& g, const std::string& name, std::vector<int64_t>* shape) {
  const ir::Value* v = g.find(name);
  if (!v || !v->shape_known) return false;
  for (int64_t d : v->shape)
    if (d < 0) return false;
  *shape = v->shape;
  return true;
}

Role role_of(const ir::Graph& g, const ir::Node& n) {
  Role r;
  if (n.outputs.size() != 1 || !is_f32_activation(g, n.outputs[0])) return r;
  if (n.inputs.empty() || !is_f32_activation(g, n.inputs[0])) return r;
  const std::string& op = n.op;
  auto weight = [&](size_t rank) {
    if (n.inputs.size() < 2 || !is_f32_constant(g, n.inputs[1])) return false;
    const ir::Value* w = g.find(n.inputs[1]);
    return w->shape.size() == rank && w->elements() > 0;
  };
  if (op == "Conv" && weight(4) && optional_constant(g, n, 2)) {
    r.kind = Kind::kCompute;
    r.act = {0};
    r.weight_axis = 0;
    if (n.inputs.size() > 3 && !n.inputs[3].empty()) {
      if (!is_f32_activation(g, n.inputs[3])) return Role{};
      r.act.push_back(3);
    }
    return r;
  }
  if (op == "MatMul" && weight(2) && optional_constant(g, n, 2)) {
    r.kind = Kind::kCompute;
    r.act = {0};
    r.weight_axis = 1;
    if (n.inputs.size() > 3 && !n.inputs[3].empty()) {
      if (!is_f32_activation(g, n.inputs[3])) return Role{};
      r.act.push_back(3);
    }
    return r;
  }
  if (op == "Gemm" && weight(2) && optional_constant(g, n, 2) && n.i("transA", 0) == 0 &&
      n.f("alpha", 1.f) == 1.f && n.f("beta", 1.f) == 1.f) {
    r.kind = Kind::kCompute;
    r.act = {0};
    r.weight_axis = n.i("transB", 0) ? 0 : 1;
    return r;
  }
  if (op == "Add" && n.inputs.size() == 2 && is_f32_activation(g, n.inputs[1])) {
    std::vector<int64_t> a, b;
    if (known_shape(g, n.inputs[0], &a) && known_shape(g, n.inputs[1], &b) && a == b) {
      r.kind = Kind::kJoin;
      r.act = {0, 1};
    }
    return r;
  }
  if (op == "GlobalAveragePool" || op == "AveragePool" || op == "SqueezeExcite") {
    r.kind = Kind::kJoin;
    r.act = {0};
    return r;
  }
  if (op == "MaxPool" || op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" ||
      op == "Transpose" || op == "Identity" || op == "Slice") {
    for (size_t k = 1; k < n.inputs.size(); ++k)
      if (!n.inputs[k].empty() && is_f32_activation(g, n.inputs[k])) return r;
    r.kind = Kind::kShares;
    r.act = {0};
    return r;
  }
  if (op == "Pad" && n.s("mode", "constant") == "constant" && n.f("value", 0.f) == 0.f) {
    for (size_t k = 1; k < n.inputs.size(); ++k)
      if (!n.inputs[k].empty() && is_f32_activation(g, n.inputs[k])) return r;
    r.kind = Kind::kShares;
    r.act = {0};
    return r;
  }
  if (op == "Concat") {
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (!is_f32_activation(g, n.inputs[k])) return r;
      r.act.push_back(static_cast<int>(k));
    }
    r.kind = Kind::kConcat;
    return r;
  }
  return r;
}

// A row in the report: the layers with weights and the int8 ops that compute (not data movement).
bool reported(const Role& r) { return r.kind == Kind::kCompute || r.kind == Kind::kJoin; }

}  // namespace

StaticPlan plan_int8_static(const ir::Graph& g, const FloatSet& fs) {
  StaticPlan p;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    Role r = role_of(g, n);
    if (r.kind == Kind::kNone || !fs.reason(n).empty()) continue;
    int n_i8 = 0;
    for (int s : r.act) n_i8 += p.i8_values.count(n.inputs[s]) ? 1 : 0;
    bool yes = false;
    switch (r.kind) {
      case Kind::kCompute: yes = true; break;
      case Kind::kJoin: yes = n_i8 > 0; break;
      case Kind::kShares: yes = n_i8 == 1; break;
      case Kind::kConcat: yes = n_i8 == static_cast<int>(r.act.size()); break;
      case Kind::kNone: break;
    }
    if (!yes) continue;
    p.int8_nodes.push_back(static_cast<int>(k));
    if (r.kind != Kind::kShares) p.needs_range.insert(n.outputs[0]);
    for (int s : r.act)
      if (!p.i8_values.count(n.inputs[s])) p.needs_range.insert(n.inputs[s]);
    p.i8_values.insert(n.outputs[0]);
  }
  return p;
}

Status apply_int8_static(ir::Graph& g, const StaticPlan& plan,
                         const std::map<std::string, std::pair<float, float>>& ranges, const FloatSet& fs,
                         QuantizeReport* report) {
  auto params_of = [&](const std::string& v, format::QuantDesc* q) -> Status {
    auto it = ranges.find(v);
    if (it == ranges.end()) return internal_error("int8: no calibrated range for '" + v + "'");
    *q = activation_params(it->second.first, it->second.second);
    return Status::Ok();
  };
  const std::set<int> int8_set(plan.int8_nodes.begin(), plan.int8_nodes.end());
  std::vector<Role> roles(g.nodes.size());
  for (size_t k = 0; k < g.nodes.size(); ++k) roles[k] = role_of(g, g.nodes[k]);

  // Parameters of every I8 value.
  std::map<std::string, format::QuantDesc> qp;
  for (int k : plan.int8_nodes) {
    const ir::Node& n = g.nodes[k];
    const std::string& out = n.outputs[0];
    if (roles[k].kind == Kind::kShares) {
      auto it = qp.find(n.inputs[0]);
      if (it == qp.end()) return internal_error("int8: '" + n.name + "' reads a value without parameters");
      qp[out] = it->second;
    } else {
      POCKET_RETURN_IF_ERROR(params_of(out, &qp[out]));
    }
  }

  // Report rows before the rewrite renames anything (bytes filled after the weights change).
  std::vector<std::pair<int, LayerReport>> rows;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    const Role& r = roles[k];
    const bool gather = n.op == "Gather" && !dynamic_weight_slots(g, n).empty();
    if (!reported(r) && !gather) continue;
    LayerReport row;
    row.name = layer_name(n);
    row.op = n.op;
    std::string why = fs.reason(n);
    if (gather) {
      row.precision = why.empty() ? "int8" : "fp32";
      row.reason = why.empty() ? "int8 embedding table, per row" : why;
    } else if (int8_set.count(static_cast<int>(k))) {
      row.precision = "int8";
      row.reason = r.kind == Kind::kCompute ? "int8 per-channel weights, per-tensor activations" : "int8 activations";
    } else {
      row.precision = "fp32";
      row.reason = !why.empty() ? why : "no int8 input (its producers are float)";
    }
    rows.push_back({static_cast<int>(k), std::move(row)});
  }

  // Weights.
  WeightQuantizer wq(g);
  for (int k : plan.int8_nodes) {
    const Role& r = roles[k];
    if (r.kind == Kind::kCompute) {
      if (!wq.quantize(k, 1, r.weight_axis))
        return internal_error("int8: cannot quantize the weight of '" + g.nodes[k].name + "'");
    } else if (g.nodes[k].op == "SqueezeExcite") {
      for (auto [slot, axis] : dynamic_weight_slots(g, g.nodes[k])) wq.quantize(k, slot, axis);
    }
  }
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (g.nodes[k].op == "Gather" && fs.reason(g.nodes[k]).empty())
      for (auto [slot, axis] : dynamic_weight_slots(g, g.nodes[k])) wq.quantize(static_cast<int>(k), slot, axis);

  std::vector<ir::Node> added;
  int transitions = 0;
  // QuantizeLinear: float values read by int8 nodes.
  std::map<std::string, std::string> q_of;
  for (int k : plan.int8_nodes) {
    for (int s : roles[k].act) {
      const std::string in = g.nodes[k].inputs[s];
      if (plan.i8_values.count(in)) continue;
      auto it = q_of.find(in);
      if (it == q_of.end()) {
        format::QuantDesc q;
        POCKET_RETURN_IF_ERROR(params_of(in, &q));
        const std::string qn = g.unique_name(in + "_q8");
        ir::Value v = g.value(in);
        v.name = qn;
        v.dtype = ir::DType::I8;
        v.has_quant = true;
        v.quant = q;
        v.data.reset();
        g.values[qn] = std::move(v);
        ir::Node qnode;
        qnode.op = "QuantizeLinear";
        qnode.name = in + "/quantize";
        qnode.inputs = {in};
        qnode.outputs = {qn};
        added.push_back(std::move(qnode));
        ++transitions;
        it = q_of.emplace(in, qn).first;
      }
      g.nodes[k].inputs[s] = it->second;
    }
  }
  // DequantizeLinear: int8 values read by float nodes or leaving the graph.
  for (const std::string& v : plan.i8_values) {
    std::vector<int> float_readers, int8_readers;
    for (int c : g.consumers(v)) (int8_set.count(c) ? int8_readers : float_readers).push_back(c);
    ir::Value& val = g.value(v);
    val.dtype = ir::DType::I8;
    val.has_quant = true;
    val.quant = qp.at(v);
    if (g.is_output(v)) {
      // The graph output keeps its name as F32; the int8 value is renamed.
      const std::string qn = g.unique_name(v + "_q8");
      ir::Value copy = val;
      copy.name = qn;
      g.values[qn] = std::move(copy);
      ir::Value& out = g.value(v);
      out.dtype = ir::DType::F32;
      out.has_quant = false;
      out.quant = format::QuantDesc{};
      int p = g.producer(v);
      for (std::string& o : g.nodes[p].outputs)
        if (o == v) o = qn;
      for (int c : int8_readers)
        for (std::string& in : g.nodes[c].inputs)
          if (in == v) in = qn;
      ir::Node dq;
      dq.op = "DequantizeLinear";
      dq.name = v + "/dequantize";
      dq.inputs = {qn};
      dq.outputs = {v};
      added.push_back(std::move(dq));
      ++transitions;
    } else if (!float_readers.empty()) {
      const std::string fn = g.unique_name(v + "_f");
      ir::Value f = g.value(v);
      f.name = fn;
      f.dtype = ir::DType::F32;
      f.has_quant = false;
      f.quant = format::QuantDesc{};
      g.values[fn] = std::move(f);
      for (int c : float_readers)
        for (std::string& in : g.nodes[c].inputs)
          if (in == v) in = fn;
      ir::Node dq;
      dq.op = "DequantizeLinear";
      dq.name = v + "/dequantize";
      dq.inputs = {v};
      dq.outputs = {fn};
      added.push_back(std::move(dq));
      ++transitions;
    }
  }
  for (auto& [k, row] : rows) {
    node_weight_bytes(g, g.nodes[k], &row.bytes_fp32, &row.bytes);
    report->layers.push_back(std::move(row));
  }
  for (ir::Node& n : added) g.nodes.push_back(std::move(n));
  if (!g.topo_sort()) return internal_error("int8: the graph has a cycle after inserting Quantize/DequantizeLinear");
  g.remove_dead();
  report->transitions += transitions;
  return Status::Ok();
}

}  // namespace pocket::converter::quantize::detail
