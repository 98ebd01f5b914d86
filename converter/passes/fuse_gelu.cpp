// GELU from its decompositions (format/OPS.md Gelu row):
//   erf form:  e = Erf(Div(x, sqrt 2)) or Erf(Mul(x, 1/sqrt 2)) ; e1 = Add(e, 1)
//   tanh form: e = Tanh(Mul(sqrt(2/pi), Add(x, Mul(0.044715, x^3)))) with x^3 = Pow(x, 3),
//              Mul(x, Mul(x, x)) or Mul(Mul(x, x), x) ; e1 = Add(e, 1)
//   then one of  Mul(Mul(x, e1), 0.5) | Mul(Mul(x, 0.5), e1) | Mul(x, Mul(e1, 0.5))
// (every Add and Mul in either operand order) becomes Gelu(x) with approximate "none" / "tanh".
// Every intermediate value must have no reader outside the pattern. fuse_activations later puts a
// Gelu into a producing MatMul/Gemm.
#include <cmath>

#include "converter/passes/graph_match.h"
#include "converter/passes/passes.h"

namespace pocket::converter {
namespace {

constexpr float kSqrt2 = 1.41421356f;
constexpr float kSqrt2OverPi = 0.79788456f;

class GeluFuser {
 public:
  explicit GeluFuser(ir::Graph& g) : m_(g), g_(g) {}

  void run() {
    for (size_t k = 0; k < g_.nodes.size(); ++k) {
      const int e = static_cast<int>(k);
      if (m_.removed(e)) continue;
      const ir::Node& n = g_.nodes[e];
      if (!(n.domain.empty() || n.domain == "ai.onnx") || n.inputs.size() != 1 || n.outputs.size() != 1) continue;
      std::vector<int> gone;
      std::string x;
      bool tanh = false;
      if (n.op == "Erf") {
        if (!erf_argument(n.inputs[0], &x, &gone)) continue;
      } else if (n.op == "Tanh") {
        if (!tanh_argument(n.inputs[0], &x, &gone)) continue;
        tanh = true;
      } else {
        continue;
      }
      gone.push_back(e);
      if (!tail(n.outputs[0], x, &gone)) continue;
      ir::Node gelu;
      gelu.op = "Gelu";
      gelu.name = g_.nodes[gone.back()].name;
      gelu.inputs = {x};
      gelu.outputs = {g_.nodes[gone.back()].outputs[0]};
      gelu.set_s("approximate", tanh ? "tanh" : "none");
      const int last = gone.back();
      gone.pop_back();
      for (auto it = gone.rbegin(); it != gone.rend(); ++it) m_.remove(*it);
      m_.replace(last, std::move(gelu));
      ++(tanh ? tanh_count : erf_count);
    }
    m_.compact();
  }

  int erf_count = 0, tanh_count = 0;

 private:
  // The single-use output `v` of a Mul/Div node with a scalar constant operand: the node index,
  // the other operand and the factor v = other * factor. -1 if v is not that.
  int scaled(const std::string& v, std::string* other, float* factor) const {
    if (!m_.single_use(v)) return -1;
    for (const char* op : {"Mul", "Div"}) {
      int k = m_.producer(v, op);
      if (k < 0 || g_.nodes[k].inputs.size() != 2) continue;
      const ir::Node& n = g_.nodes[k];
      float c;
      if (m_.scalar(n.inputs[1], &c)) {
        if (n.op == "Div" && c == 0.f) return -1;
        *factor = n.op == "Div" ? 1.f / c : c;
        *other = n.inputs[0];
        return k;
      }
      if (n.op == "Mul" && m_.scalar(n.inputs[0], &c)) {
        *factor = c;
        *other = n.inputs[1];
        return k;
      }
    }
    return -1;
  }

  static bool near(float a, float b, float tol = 1e-4f) { return std::fabs(a - b) <= tol * std::fabs(b); }

  bool erf_argument(const std::string& u, std::string* x, std::vector<int>* gone) const {
    float f;
    int k = scaled(u, x, &f);
    if (k < 0 || !near(f, 1.f / kSqrt2)) return false;
    gone->push_back(k);
    return true;
  }

  // x^3 as Pow(x, 3), Mul(x, Mul(x, x)) or Mul(Mul(x, x), x); appends its nodes.
  bool cube(const std::string& c, std::string* x, std::vector<int>* gone) const {
    if (!m_.single_use(c)) return false;
    int p = m_.producer(c, "Pow");
    if (p >= 0) {
      if (g_.nodes[p].inputs.size() != 2 || !m_.scalar_near(g_.nodes[p].inputs[1], 3.f, 0.f)) return false;
      *x = g_.nodes[p].inputs[0];
      gone->push_back(p);
      return true;
    }
    int m = m_.producer(c, "Mul");
    if (m < 0 || g_.nodes[m].inputs.size() != 2) return false;
    for (int side = 0; side < 2; ++side) {
      const std::string& sq = g_.nodes[m].inputs[side];
      const std::string& lin = g_.nodes[m].inputs[1 - side];
      int s = m_.producer(sq, "Mul");
      if (s < 0 || !m_.single_use(sq)) continue;
      const ir::Node& sn = g_.nodes[s];
      if (sn.inputs.size() != 2 || sn.inputs[0] != lin || sn.inputs[1] != lin) continue;
      *x = lin;
      gone->push_back(s);
      gone->push_back(m);
      return true;
    }
    return false;
  }

  bool tanh_argument(const std::string& u, std::string* x, std::vector<int>* gone) const {
    float f;
    std::string inner;
    int k = scaled(u, &inner, &f);
    if (k < 0 || !near(f, kSqrt2OverPi)) return false;
    int add = m_.producer(inner, "Add");
    if (add < 0 || !m_.single_use(inner) || g_.nodes[add].inputs.size() != 2) return false;
    for (int side = 0; side < 2; ++side) {
      const std::string& lin = g_.nodes[add].inputs[side];
      const std::string& term = g_.nodes[add].inputs[1 - side];
      std::string c;
      float a;
      int t = scaled(term, &c, &a);
      if (t < 0 || !near(a, 0.044715f)) continue;
      std::vector<int> nodes;
      std::string cx;
      if (!cube(c, &cx, &nodes) || cx != lin) continue;
      *x = lin;
      gone->insert(gone->end(), nodes.begin(), nodes.end());
      gone->push_back(t);
      gone->push_back(add);
      gone->push_back(k);
      return true;
    }
    return false;
  }

  // The single reader of v if it is a binary op `op`; -1 otherwise.
  int reader(const std::string& v, const char* op) const {
    if (!m_.single_use(v)) return -1;
    int r = m_.readers(v)[0];
    const ir::Node& n = g_.nodes[r];
    return n.op == op && n.inputs.size() == 2 && n.outputs.size() == 1 ? r : -1;
  }

  // e -> Add(e, 1) -> one of the three 0.5 * x * e1 forms. Appends the nodes; the last one
  // pushed writes the Gelu's output.
  bool tail(const std::string& e, const std::string& x, std::vector<int>* gone) const {
    int add = reader(e, "Add");
    if (add < 0 || !m_.scalar_near(other_input(g_.nodes[add], e), 1.f, 0.f)) return false;
    const std::string e1 = g_.nodes[add].outputs[0];
    int m1 = reader(e1, "Mul");
    if (m1 < 0) return false;
    const std::string o = other_input(g_.nodes[m1], e1);
    const std::string m1_out = g_.nodes[m1].outputs[0];
    std::vector<int> nodes = {add};
    if (o == x) {  // Mul(Mul(x, e1), 0.5)
      int m2 = reader(m1_out, "Mul");
      if (m2 < 0 || !m_.scalar_near(other_input(g_.nodes[m2], m1_out), 0.5f, 0.f)) return false;
      nodes.insert(nodes.end(), {m1, m2});
    } else if (m_.scalar_near(o, 0.5f, 0.f)) {  // Mul(x, Mul(e1, 0.5))
      int m2 = reader(m1_out, "Mul");
      if (m2 < 0 || other_input(g_.nodes[m2], m1_out) != x) return false;
      nodes.insert(nodes.end(), {m1, m2});
    } else {  // Mul(Mul(x, 0.5), e1)
      int h = m_.producer(o, "Mul");
      if (h < 0 || !m_.single_use(o) || g_.nodes[h].inputs.size() != 2) return false;
      const std::string half = other_input(g_.nodes[h], x);
      if (half.empty() || !m_.scalar_near(half, 0.5f, 0.f)) return false;
      nodes.insert(nodes.end(), {h, m1});
    }
    // x is read only by the pattern's own nodes, which all disappear; no check needed on x.
    gone->insert(gone->end(), nodes.begin(), nodes.end());
    return true;
  }

  GraphMatch m_;
  ir::Graph& g_;
};

}  // namespace

Status fuse_gelu(ir::Graph& g, std::vector<std::string>* notes) {
  GeluFuser f(g);
  f.run();
  if (!g.topo_sort()) return internal_error("fuse_gelu: graph has a cycle");
  if (notes && f.erf_count)
    notes->push_back("fuse_gelu: fused " + std::to_string(f.erf_count) +
                     " erf-form GELU decompositions (Div, Erf, Add, Mul, Mul) into Gelu");
  if (notes && f.tanh_count)
    notes->push_back("fuse_gelu: fused " + std::to_string(f.tanh_count) +
                     " tanh-form GELU decompositions into Gelu (approximate tanh)");
  return Status::Ok();
}

}  // namespace pocket::converter
