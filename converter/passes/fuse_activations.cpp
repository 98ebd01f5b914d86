// Fuses one elementwise activation into the Conv/ConvTranspose/Gemm/MatMul that produces its
// input (attributes "activation", "act_alpha", "act_beta"; see format/OPS.md; Gelu only into
// Gemm/MatMul), and rewrites the
// stand-alone patterns x * HardSigmoid(x; 1/6, 1/2) and x * Sigmoid(x) as HardSwish / SiLU.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "converter/passes/passes.h"

namespace pocket::converter {
namespace {

using Kind = fb::ActivationKind;

bool onnx_domain(const ir::Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

bool is_producer_op(const ir::Node& n) {
  return onnx_domain(n) &&
         (n.op == "Conv" || n.op == "ConvTranspose" || n.op == "Gemm" || n.op == "MatMul");
}

struct Activation {
  Kind kind = Kind::None;
  float alpha = 0.f, beta = 0.f;
};

// A scalar f32 constant operand, if `name` is one.
bool scalar_constant(const ir::Graph& g, const std::string& name, float* out) {
  const ir::Value* v = g.find(name);
  if (!v || !v->is_constant() || v->elements() != 1 || v->data->size() < sizeof(float)) return false;
  if (v->dtype != ir::DType::F32) return false;
  std::memcpy(out, v->data->data(), sizeof(float));
  return true;
}

// The activation a single-input node computes, or kind None if it is not one we fuse.
Activation activation_of(const ir::Graph& g, const ir::Node& n) {
  Activation a;
  if (!onnx_domain(n) || n.inputs.empty() || n.inputs[0].empty() || n.outputs.size() != 1) return a;
  if (n.op == "Relu") {
    a.kind = Kind::Relu;
  } else if (n.op == "Clip") {
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (n.has("min")) lo = n.f("min", lo);  // opset < 11
    if (n.has("max")) hi = n.f("max", hi);
    if (n.inputs.size() > 1 && !n.inputs[1].empty() && !scalar_constant(g, n.inputs[1], &lo)) return a;
    if (n.inputs.size() > 2 && !n.inputs[2].empty() && !scalar_constant(g, n.inputs[2], &hi)) return a;
    a = {Kind::Clip, lo, hi};
  } else if (n.op == "HardSigmoid") {
    a = {Kind::HardSigmoid, n.f("alpha", 0.2f), n.f("beta", 0.5f)};
  } else if (n.op == "HardSwish") {
    a.kind = Kind::HardSwish;
  } else if (n.op == "Sigmoid") {
    a.kind = Kind::Sigmoid;
  } else if (n.op == "SiLU") {
    a.kind = Kind::SiLU;
  } else if (n.op == "Tanh") {
    a.kind = Kind::Tanh;
  } else if (n.op == "LeakyRelu") {
    a = {Kind::LeakyRelu, n.f("alpha", 0.01f), 0.f};
  } else if (n.op == "Gelu") {
    const std::string approx = n.s("approximate", "none");
    if (approx == "none") a.kind = Kind::Gelu;
    else if (approx == "tanh") a.kind = Kind::GeluTanh;
  }
  return a;
}

// Gelu epilogues exist for the dense ops only (format/OPS.md: fused into a producing MatMul/Gemm).
bool accepts(const ir::Node& producer, Kind kind) {
  if (kind != Kind::Gelu && kind != Kind::GeluTanh) return true;
  return producer.op == "MatMul" || producer.op == "Gemm";
}

bool is_hardswish_gate(const ir::Node& n) {
  return n.op == "HardSigmoid" && onnx_domain(n) && std::fabs(n.f("alpha", 0.2f) - 1.f / 6.f) < 1e-5f &&
         std::fabs(n.f("beta", 0.5f) - 0.5f) < 1e-5f;
}

void set_activation(ir::Node& p, const Activation& a) {
  p.set_i("activation", static_cast<int64_t>(a.kind));
  p.set_f("act_alpha", a.alpha);
  p.set_f("act_beta", a.beta);
}

class Fuser {
 public:
  explicit Fuser(ir::Graph& g) : g_(g), removed_(g.nodes.size(), false) {
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      for (const auto& o : g.nodes[n].outputs) producer_[o] = static_cast<int>(n);
      for (const auto& i : g.nodes[n].inputs)
        if (!i.empty()) {
          auto& u = users_[i];
          if (u.empty() || u.back() != static_cast<int>(n)) u.push_back(static_cast<int>(n));
        }
    }
  }

  void run() {
    for (size_t n = 0; n < g_.nodes.size(); ++n) {
      if (removed_[n]) continue;
      if (g_.nodes[n].op == "Mul" && onnx_domain(g_.nodes[n])) {
        try_gated(static_cast<int>(n));
        continue;
      }
      Activation a = activation_of(g_, g_.nodes[n]);
      if (a.kind == Kind::None) continue;
      const std::string& x = g_.nodes[n].inputs[0];
      int p = fusable_producer(x, 1, /*merge_clamps=*/true);
      if (p < 0 || !accepts(g_.nodes[p], a.kind)) continue;
      if (!merge_clamp(g_.nodes[p], &a)) continue;
      fuse(p, a, {static_cast<int>(n)}, g_.nodes[n].outputs[0]);
    }
    std::vector<ir::Node> kept;
    kept.reserve(g_.nodes.size());
    for (size_t n = 0; n < g_.nodes.size(); ++n)
      if (!removed_[n]) kept.push_back(std::move(g_.nodes[n]));
    g_.nodes = std::move(kept);
  }

  int fused = 0, rewritten = 0;

 private:
  int use_count(const std::string& v) const {
    auto it = users_.find(v);
    return it == users_.end() ? 0 : static_cast<int>(it->second.size());
  }

  // The node producing x if an activation may be fused into it: a conv/dense op, x its first
  // output, x read by exactly `readers` nodes and not a graph output, no activation yet (or,
  // with merge_clamps, a Relu/Clip one that a further Relu/Clip may narrow).
  int fusable_producer(const std::string& x, int readers, bool merge_clamps = false) const {
    auto it = producer_.find(x);
    if (it == producer_.end() || removed_[it->second]) return -1;
    const ir::Node& p = g_.nodes[it->second];
    if (!is_producer_op(p) || p.outputs.empty() || p.outputs[0] != x) return -1;
    int64_t have = p.i("activation", 0);
    if (have != 0 && !(merge_clamps && (have == static_cast<int64_t>(Kind::Relu) ||
                                        have == static_cast<int64_t>(Kind::Clip))))
      return -1;
    if (use_count(x) != readers || g_.is_output(x)) return -1;
    return it->second;
  }

  // A second clamp after a fused Relu/Clip (old exporters write Relu6 as Relu then Clip(0, 6)):
  // clamp(clamp(x, l1, h1), l2, h2) = clamp(x, max(l1, l2), min(h1, h2)) when the ranges meet.
  // False if `a` cannot be combined with p's activation.
  static bool merge_clamp(const ir::Node& p, Activation* a) {
    int64_t have = p.i("activation", 0);
    if (have == 0) return true;
    const float inf = std::numeric_limits<float>::infinity();
    auto range = [&](Kind k, float lo, float hi, float* l, float* h) {
      if (k == Kind::Relu) *l = 0.f, *h = inf;
      else if (k == Kind::Clip) *l = lo, *h = hi;
      else return false;
      return true;
    };
    float l1, h1, l2, h2;
    if (!range(static_cast<Kind>(have), p.f("act_alpha", 0.f), p.f("act_beta", 0.f), &l1, &h1) ||
        !range(a->kind, a->alpha, a->beta, &l2, &h2))
      return false;
    float lo = std::max(l1, l2), hi = std::min(h1, h2);
    if (lo > hi) return false;
    if (lo == 0.f && hi == inf) *a = {Kind::Relu, 0.f, 0.f};
    else *a = {Kind::Clip, lo, hi};
    return true;
  }

  // Producer p now writes `out` with the activation applied; `gone` nodes disappear.
  void fuse(int p, const Activation& a, const std::vector<int>& gone, const std::string& out) {
    ir::Node& prod = g_.nodes[p];
    std::string old = prod.outputs[0];
    set_activation(prod, a);
    prod.outputs[0] = out;
    producer_[out] = p;
    for (int k : gone) removed_[k] = true;
    g_.values.erase(old);
    ++fused;
  }

  // Mul(x, G(x)) with G = HardSigmoid(1/6, 1/2) (HardSwish) or Sigmoid (SiLU).
  void try_gated(int m) {
    const ir::Node& mul = g_.nodes[m];
    if (mul.inputs.size() != 2 || mul.outputs.size() != 1) return;
    for (int side = 0; side < 2; ++side) {
      const std::string x = mul.inputs[side];
      const std::string gate = mul.inputs[1 - side];
      auto it = producer_.find(gate);
      if (it == producer_.end() || removed_[it->second]) continue;
      const ir::Node& gn = g_.nodes[it->second];
      if (gn.inputs.empty() || gn.inputs[0] != x || gn.outputs.size() != 1) continue;
      Kind kind = Kind::None;
      if (is_hardswish_gate(gn)) kind = Kind::HardSwish;
      else if (gn.op == "Sigmoid" && onnx_domain(gn)) kind = Kind::SiLU;
      if (kind == Kind::None) continue;
      if (use_count(gate) != 1 || g_.is_output(gate) || x == gate) continue;
      int g_index = it->second;
      std::string out = mul.outputs[0];
      int p = fusable_producer(x, 2);
      if (p >= 0) {
        fuse(p, Activation{kind, 0.f, 0.f}, {g_index, m}, out);
        g_.values.erase(gate);
        return;
      }
      // Stand-alone: the Mul becomes the single-input op.
      ir::Node& node = g_.nodes[m];
      node.op = kind == Kind::HardSwish ? "HardSwish" : "SiLU";
      node.inputs = {x};
      node.attrs.clear();
      removed_[g_index] = true;
      auto& xu = users_[x];
      xu.erase(std::remove(xu.begin(), xu.end(), g_index), xu.end());
      g_.values.erase(gate);
      ++rewritten;
      return;
    }
  }

  ir::Graph& g_;
  std::vector<bool> removed_;
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, std::vector<int>> users_;
};

}  // namespace

Status fuse_activations(ir::Graph& g, std::vector<std::string>* notes) {
  Fuser f(g);
  f.run();
  if (!g.topo_sort()) return internal_error("fuse_activations: graph has a cycle");
  if (notes && f.fused)
    notes->push_back("fuse_activations: fused " + std::to_string(f.fused) +
                     " activations (Relu, Clip, ..., Gelu) into Conv/ConvTranspose/Gemm/MatMul");
  if (notes && f.rewritten)
    notes->push_back("fuse_activations: rewrote " + std::to_string(f.rewritten) +
                     " x*HardSigmoid(x) / x*Sigmoid(x) patterns as HardSwish / SiLU");
  return Status::Ok();
}

}  // namespace pocket::converter
