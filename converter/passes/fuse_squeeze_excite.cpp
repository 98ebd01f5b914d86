// Squeeze-and-excitation fusion on the channels-last graph:
//   s0 = GlobalAveragePool(x)  s1 = Conv1x1(s0) [act]  s2 = Conv1x1(s1) [gate]  y = Mul(x, s2)
// becomes one SqueezeExcite(x, W1, B1, W2, B2) -> y (format/OPS.md), the convs' fused activations
// becoming its `activation` and `gate` attributes. Runs after convert_to_nhwc (the pool and the
// convs must be NHWC) and after fuse_activations (the gate must already be fused into the second
// conv). s0, s1 and s2 must each have exactly one reader and not be graph outputs; the Mul's other
// operand must be exactly the pool's input, with Y shaped like x; the convs must be 1x1, group 1,
// stride 1, unpadded, with constant f32 weights (and biases) and no residual input.
#include <unordered_map>

#include "converter/passes/passes.h"

namespace pocket::converter {
namespace {

bool onnx_domain(const ir::Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

bool all_equal(const std::vector<int64_t>& v, int64_t want) {
  for (int64_t x : v)
    if (x != want) return false;
  return true;
}

bool static_shape(const ir::Value* v, size_t rank) {
  if (!v || !v->shape_known || v->shape.size() != rank || v->dtype != ir::DType::F32) return false;
  for (int64_t d : v->shape)
    if (d <= 0) return false;
  return true;
}

class SqueezeExciteFuser {
 public:
  explicit SqueezeExciteFuser(ir::Graph& g) : g_(g), removed_(g.nodes.size(), false) {
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      for (const auto& o : g.nodes[n].outputs) producer_[o] = static_cast<int>(n);
      for (const auto& i : g.nodes[n].inputs)
        if (!i.empty()) ++reads_[i];
    }
    for (const auto& o : g.outputs) ++reads_[o];
  }

  void run() {
    for (size_t m = 0; m < g_.nodes.size(); ++m) {
      const ir::Node& mul = g_.nodes[m];
      if (mul.op != "Mul" || !onnx_domain(mul) || mul.inputs.size() != 2 || mul.outputs.size() != 1) continue;
      for (int side = 0; side < 2; ++side)
        if (try_fuse(static_cast<int>(m), mul.inputs[1 - side], mul.inputs[side])) break;
    }
    std::vector<ir::Node> kept;
    kept.reserve(g_.nodes.size());
    for (size_t n = 0; n < g_.nodes.size(); ++n)
      if (!removed_[n]) kept.push_back(std::move(g_.nodes[n]));
    g_.nodes = std::move(kept);
  }

  int fused = 0;

 private:
  // The live node producing v with op `op` whose output v has exactly one reader and is not a
  // graph output; -1 otherwise.
  int single_use_producer(const std::string& v, const char* op) const {
    auto it = producer_.find(v);
    if (it == producer_.end() || removed_[it->second]) return -1;
    const ir::Node& n = g_.nodes[it->second];
    if (n.op != op || !onnx_domain(n) || n.outputs.size() != 1 || n.outputs[0] != v) return -1;
    auto r = reads_.find(v);
    if (r == reads_.end() || r->second != 1 || g_.is_output(v)) return -1;
    return it->second;
  }

  bool constant_f32(const std::string& name, const std::vector<int64_t>& shape) const {
    const ir::Value* v = g_.find(name);
    return v && v->is_constant() && v->dtype == ir::DType::F32 && v->shape_known && v->shape == shape;
  }

  // A Conv 1x1 (group 1, stride 1, no padding, no residual) with constant weights [out, in, 1, 1]
  // and an optional constant bias [out].
  bool pointwise_fc(const ir::Node& c, int64_t in, int64_t out) const {
    if (c.s("layout", "") != "NHWC" || c.inputs.size() < 2 || c.inputs.size() > 3) return false;
    if (c.i("group", 1) != 1 || !all_equal(c.ints("strides", {1, 1}), 1) ||
        !all_equal(c.ints("dilations", {1, 1}), 1) || !all_equal(c.ints("pads", {0, 0, 0, 0}), 0))
      return false;
    const std::string auto_pad = c.s("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
      return false;
    if (c.has("kernel_shape") && !all_equal(c.ints("kernel_shape"), 1)) return false;
    if (!constant_f32(c.inputs[1], {out, in, 1, 1})) return false;
    if (c.inputs.size() == 3 && !c.inputs[2].empty() && !constant_f32(c.inputs[2], {out})) return false;
    return true;
  }

  // Mul(x, gate) -> y at node m.
  bool try_fuse(int m, const std::string& x, const std::string& gate) {
    const int c2 = single_use_producer(gate, "Conv");
    if (c2 < 0) return false;
    const std::string& s1 = g_.nodes[c2].inputs[0];
    const int c1 = single_use_producer(s1, "Conv");
    if (c1 < 0) return false;
    const std::string& s0 = g_.nodes[c1].inputs[0];
    const int pool = single_use_producer(s0, "GlobalAveragePool");
    if (pool < 0) return false;
    const ir::Node& gap = g_.nodes[pool];
    if (gap.inputs.size() != 1 || gap.inputs[0] != x || gap.s("layout", "") != "NHWC") return false;

    const ir::Value* xv = g_.find(x);
    const ir::Value* yv = g_.find(g_.nodes[m].outputs[0]);
    if (!static_shape(xv, 4) || !static_shape(yv, 4) || yv->shape != xv->shape) return false;
    const int64_t n = xv->shape[0], c = xv->shape[3];
    const ir::Value* s0v = g_.find(s0);
    const ir::Value* s1v = g_.find(s1);
    const ir::Value* s2v = g_.find(gate);
    if (!static_shape(s0v, 4) || !static_shape(s1v, 4) || !static_shape(s2v, 4)) return false;
    const int64_t c_mid = s1v->shape[3];
    if (s0v->shape != std::vector<int64_t>{n, 1, 1, c} || s1v->shape != std::vector<int64_t>{n, 1, 1, c_mid} ||
        s2v->shape != std::vector<int64_t>{n, 1, 1, c})
      return false;
    if (!pointwise_fc(g_.nodes[c1], c, c_mid) || !pointwise_fc(g_.nodes[c2], c_mid, c)) return false;

    const ir::Node& fc1 = g_.nodes[c1];
    const ir::Node& fc2 = g_.nodes[c2];
    ir::Node se;
    se.op = "SqueezeExcite";
    se.name = g_.nodes[m].name.empty() ? fc1.name : g_.nodes[m].name;
    se.inputs = {x, fc1.inputs[1], fc1.inputs.size() > 2 ? fc1.inputs[2] : "", fc2.inputs[1],
                 fc2.inputs.size() > 2 ? fc2.inputs[2] : ""};
    if (se.inputs[4].empty()) se.inputs.pop_back();
    se.outputs = g_.nodes[m].outputs;
    se.set_i("activation", fc1.i("activation", 0));
    se.set_f("act_alpha", fc1.f("act_alpha", 0.f));
    se.set_f("act_beta", fc1.f("act_beta", 0.f));
    se.set_i("gate", fc2.i("activation", 0));
    se.set_f("gate_alpha", fc2.f("act_alpha", 0.f));
    se.set_f("gate_beta", fc2.f("act_beta", 0.f));

    for (const std::string* v : {&s0, &s1, &gate}) producer_.erase(*v);
    removed_[pool] = removed_[c1] = removed_[c2] = true;
    const std::string s0_name = s0, s1_name = s1, s2_name = gate;
    g_.nodes[m] = std::move(se);  // invalidates s0, s1, gate (they pointed into the removed nodes)
    producer_[g_.nodes[m].outputs[0]] = m;
    g_.values.erase(s0_name);
    g_.values.erase(s1_name);
    g_.values.erase(s2_name);
    ++fused;
    return true;
  }

  ir::Graph& g_;
  std::vector<bool> removed_;
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, int> reads_;  // readers of a value (nodes and graph outputs)
};

}  // namespace

Status fuse_squeeze_excite(ir::Graph& g, std::vector<std::string>* notes) {
  SqueezeExciteFuser f(g);
  f.run();
  if (!g.topo_sort()) return internal_error("fuse_squeeze_excite: graph has a cycle");
  if (notes && f.fused)
    notes->push_back("fuse_squeeze_excite: fused " + std::to_string(f.fused) +
                     " squeeze-excite blocks (GlobalAveragePool, 2 Conv 1x1, Mul) into SqueezeExcite");
  return Status::Ok();
}

}  // namespace pocket::converter
