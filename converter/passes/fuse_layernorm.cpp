// LayerNorm and RMSNorm from their decompositions (format/OPS.md LayerNormalization and
// RMSNormalization rows).
//   LayerNorm (PyTorch 1.13, opset < 17): m = ReduceMean(x) ; d = Sub(x, m) ; p = Pow(d, 2) or
//     Mul(d, d) ; v = ReduceMean(p) ; Add(v, eps) ; Sqrt ; n = Div(d, .) [; Mul(n, gamma)]
//     [; Add(., beta)]  ->  LayerNormalization(x, Scale, B)
//   RMSNorm: p = Pow(x, 2) or Mul(x, x) ; ReduceMean ; Add eps ; s = Sqrt ; Div(x, s) or
//     Mul(x, Reciprocal(s)) or Mul(x, Div(1, s)) [; Mul(., gamma)]  ->  RMSNormalization(x, Scale)
// Both ReduceMeans reduce the same trailing axes with keepdims; eps and the exponent are scalar
// constants; gamma and beta are constants that broadcast over the normalised dims only; every
// intermediate value has no reader outside the pattern. Without gamma the Scale is ones.
#include <algorithm>
#include <cstring>
#include <set>

#include "converter/passes/graph_match.h"
#include "converter/passes/passes.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {
namespace {

using Dims = std::vector<int64_t>;

class NormFuser {
 public:
  explicit NormFuser(ir::Graph& g) : m_(g), g_(g) {}

  void run() {
    for (size_t k = 0; k < g_.nodes.size(); ++k) {
      if (m_.removed(static_cast<int>(k))) continue;
      const ir::Node& n = g_.nodes[k];
      if (n.op != "Sqrt" || !(n.domain.empty() || n.domain == "ai.onnx") || n.inputs.size() != 1) continue;
      if (!try_layernorm(static_cast<int>(k))) try_rmsnorm(static_cast<int>(k));
    }
    m_.compact();
  }

  int layernorms = 0, rmsnorms = 0;

 private:
  // The normalised trailing axes of ReduceMean node r over a rank-`rank` input: their count k,
  // or 0 if r is not a keepdims mean over the last k axes.
  int trailing_axes(const ir::Node& r, int64_t rank) const {
    if (r.i("keepdims", 1) != 1 || rank <= 0) return 0;
    IntsOperand ax = ints_operand(g_, r, 1, "axes");
    if (!ax.ok || !ax.found || ax.v.empty()) return 0;
    std::set<int64_t> axes;
    for (int64_t a : ax.v) {
      int64_t n = norm_axis(a, rank);
      if (n < 0) return 0;
      axes.insert(n);
    }
    int64_t k = static_cast<int64_t>(axes.size());
    if (*axes.begin() != rank - k || *axes.rbegin() != rank - 1) return 0;
    return static_cast<int>(k);
  }

  int64_t rank_of(const std::string& v) const {
    const ir::Value* val = g_.find(v);
    return val && val->shape_known ? static_cast<int64_t>(val->shape.size()) : -1;
  }

  // The single reader of v if it is op `op` (and v is not a graph output), else -1.
  int only_reader(const std::string& v, const char* op) const {
    if (!m_.single_use(v)) return -1;
    int r = m_.readers(v)[0];
    return g_.nodes[r].op == op ? r : -1;
  }

  // A constant gamma/beta broadcast to the normalised dims `norm` (static). False if it does not
  // broadcast over exactly those dims (a leading dim other than 1 would vary along the batch).
  bool norm_param(const std::string& name, const Dims& norm, std::string* out) {
    const ir::Value* v = g_.find(name);
    if (!v || !v->is_constant() || v->dtype != ir::DType::F32 || !v->shape_known) return false;
    Dims s = v->shape;
    while (s.size() > norm.size()) {
      if (s.front() != 1) return false;
      s.erase(s.begin());
    }
    Dims padded(norm.size() - s.size(), 1);
    padded.insert(padded.end(), s.begin(), s.end());
    for (size_t i = 0; i < norm.size(); ++i)
      if (padded[i] != 1 && padded[i] != norm[i]) return false;
    if (padded == norm) {
      if (v->shape == norm) {
        *out = name;
      } else {
        *out = g_.add_constant(name + "__norm", ir::DType::F32, norm, *v->data);
      }
      return true;
    }
    // Broadcast the constant to the normalised dims.
    int64_t total = 1;
    for (int64_t d : norm) total *= d;
    std::vector<float> dst(total);
    const float* src = v->as<float>();
    Dims idx(norm.size(), 0);
    for (int64_t o = 0; o < total; ++o) {
      int64_t s_off = 0, stride = 1;
      for (size_t d = norm.size(); d-- > 0;) {
        if (padded[d] != 1) s_off += idx[d] * stride;
        stride *= padded[d];
      }
      dst[o] = src[s_off];
      for (size_t d = norm.size(); d-- > 0;) {
        if (++idx[d] < norm[d]) break;
        idx[d] = 0;
      }
    }
    std::vector<uint8_t> bytes(total * 4);
    std::memcpy(bytes.data(), dst.data(), bytes.size());
    *out = g_.add_constant(name + "__norm", ir::DType::F32, norm, std::move(bytes));
    return true;
  }

  std::string ones(const std::string& base, const Dims& norm) {
    int64_t total = 1;
    for (int64_t d : norm) total *= d;
    std::vector<float> one(total, 1.f);
    std::vector<uint8_t> bytes(total * 4);
    std::memcpy(bytes.data(), one.data(), bytes.size());
    return g_.add_constant(base + "__ones", ir::DType::F32, norm, std::move(bytes));
  }

  // The normalised dims of x (the last k), if all static.
  bool norm_dims(const std::string& x, int k, Dims* out) const {
    const ir::Value* v = g_.find(x);
    if (!v || !v->shape_known || v->dtype != ir::DType::F32 || static_cast<int>(v->shape.size()) < k) return false;
    out->assign(v->shape.end() - k, v->shape.end());
    for (int64_t d : *out)
      if (d <= 0) return false;
    return true;
  }

  // Walks from the Sqrt back to the mean of squares: Sqrt(Add(ReduceMean(p), eps)). Fills the
  // indices of the Add and the ReduceMean, eps, and p.
  bool variance(int sqrt, int* add, int* mean, float* eps, std::string* p) const {
    const std::string& s_in = g_.nodes[sqrt].inputs[0];
    *add = m_.producer(s_in, "Add");
    if (*add < 0 || !m_.single_use(s_in)) return false;
    const ir::Node& a = g_.nodes[*add];
    if (a.inputs.size() != 2) return false;
    for (int side = 0; side < 2; ++side) {
      if (!m_.scalar(a.inputs[1 - side], eps)) continue;
      const std::string& v = a.inputs[side];
      *mean = m_.producer(v, "ReduceMean");
      if (*mean < 0 || !m_.single_use(v)) return false;
      *p = g_.nodes[*mean].inputs[0];
      return *eps >= 0.f;
    }
    return false;
  }

  // p = Pow(x, 2) or Mul(x, x): its index, and x.
  int square_of(const std::string& p, std::string* x) const {
    if (!m_.single_use(p)) return -1;
    int k = m_.producer(p, "Pow");
    if (k >= 0) {
      const ir::Node& n = g_.nodes[k];
      if (n.inputs.size() != 2 || !m_.scalar_near(n.inputs[1], 2.f, 0.f)) return -1;
      *x = n.inputs[0];
      return k;
    }
    k = m_.producer(p, "Mul");
    if (k < 0) return -1;
    const ir::Node& n = g_.nodes[k];
    if (n.inputs.size() != 2 || n.inputs[0] != n.inputs[1]) return -1;
    *x = n.inputs[0];
    return k;
  }

  // Optional Mul(y, gamma) [Add(., beta)] after y: extends `out` and `gone`; fills scale/bias.
  void affine(const std::string& y, const Dims& norm, bool with_beta, std::string* out, std::vector<int>* gone,
              std::string* scale, std::string* bias) {
    *out = y;
    int mul = only_reader(y, "Mul");
    if (mul < 0) return;
    std::string gamma = other_input(g_.nodes[mul], y);
    if (gamma.empty() || gamma == y || !norm_param(gamma, norm, scale)) return;
    gone->push_back(mul);
    *out = g_.nodes[mul].outputs[0];
    if (!with_beta) return;
    int add = only_reader(*out, "Add");
    if (add < 0) return;
    std::string beta = other_input(g_.nodes[add], *out);
    if (beta.empty() || beta == *out || !norm_param(beta, norm, bias)) return;
    gone->push_back(add);
    *out = g_.nodes[add].outputs[0];
  }

  void emit(const char* op, int last, const std::string& x, const std::string& scale, const std::string& bias,
            int k, float eps, const std::vector<int>& gone) {
    ir::Node n;
    n.op = op;
    n.name = g_.nodes[last].name;
    n.inputs = {x, scale};
    if (!bias.empty()) n.inputs.push_back(bias);
    n.outputs = {g_.nodes[last].outputs[0]};
    n.set_i("axis", -k);
    n.set_f("epsilon", eps);
    for (auto it = gone.rbegin(); it != gone.rend(); ++it)
      if (*it != last) m_.remove(*it);
    m_.replace(last, std::move(n));
  }

  bool try_layernorm(int sqrt) {
    int add, mean2;
    float eps;
    std::string p, d;
    if (!variance(sqrt, &add, &mean2, &eps, &p)) return false;
    int sq = square_of(p, &d);
    if (sq < 0) return false;
    int sub = m_.producer(d, "Sub");
    if (sub < 0 || g_.is_output(d)) return false;
    const ir::Node& s = g_.nodes[sub];
    if (s.inputs.size() != 2) return false;
    const std::string x = s.inputs[0], mean = s.inputs[1];
    int mean1 = m_.producer(mean, "ReduceMean");
    if (mean1 < 0 || !m_.single_use(mean) || g_.nodes[mean1].inputs[0] != x) return false;
    // d is read by the square (once or twice) and by the Div only.
    const std::string& sqrt_out = g_.nodes[sqrt].outputs[0];
    int div = only_reader(sqrt_out, "Div");
    if (div < 0 || g_.nodes[div].inputs[0] != d || g_.nodes[div].inputs[1] != sqrt_out) return false;
    int square_reads = g_.nodes[sq].op == "Mul" ? 2 : 1;
    if (m_.reads(d) != square_reads + 1) return false;
    int64_t rank = rank_of(x);
    int k = trailing_axes(g_.nodes[mean1], rank);
    Dims norm;
    if (k == 0 || trailing_axes(g_.nodes[mean2], rank) != k || !norm_dims(x, k, &norm)) return false;
    if (rank_of(d) != rank) return false;  // Sub must not broadcast x up

    std::vector<int> gone = {mean1, sub, sq, mean2, add, sqrt, div};
    std::string out, scale, bias;
    affine(g_.nodes[div].outputs[0], norm, true, &out, &gone, &scale, &bias);
    if (scale.empty()) scale = ones(x, norm);
    emit("LayerNormalization", gone.back(), x, scale, bias, k, eps, gone);
    ++layernorms;
    return true;
  }

  bool try_rmsnorm(int sqrt) {
    int add, mean;
    float eps;
    std::string p, x;
    if (!variance(sqrt, &add, &mean, &eps, &p)) return false;
    int sq = square_of(p, &x);
    if (sq < 0) return false;
    const std::string& s_out = g_.nodes[sqrt].outputs[0];
    if (!m_.single_use(s_out)) return false;
    std::vector<int> gone = {sq, mean, add, sqrt};
    int r = m_.readers(s_out)[0];
    const ir::Node& rn = g_.nodes[r];
    std::string y;
    if (rn.op == "Div" && rn.inputs.size() == 2 && rn.inputs[1] == s_out) {
      float one;
      if (rn.inputs[0] == x) {
        y = rn.outputs[0];
        gone.push_back(r);
      } else if (m_.scalar(rn.inputs[0], &one) && one == 1.f) {
        y = recip_times_x(rn.outputs[0], x, r, &gone);
      }
    } else if (rn.op == "Reciprocal") {
      y = recip_times_x(rn.outputs[0], x, r, &gone);
    }
    if (y.empty()) return false;
    int64_t rank = rank_of(x);
    int k = trailing_axes(g_.nodes[mean], rank);
    Dims norm;
    if (k == 0 || !norm_dims(x, k, &norm) || rank_of(y) != rank) return false;
    std::string out, scale, bias;
    affine(y, norm, false, &out, &gone, &scale, &bias);
    if (scale.empty()) scale = ones(x, norm);
    emit("RMSNormalization", gone.back(), x, scale, "", k, eps, gone);
    ++rmsnorms;
    return true;
  }

  // inv = 1/s (node r); y = Mul(x, inv).
  std::string recip_times_x(const std::string& inv, const std::string& x, int r, std::vector<int>* gone) {
    int mul = only_reader(inv, "Mul");
    if (mul < 0 || other_input(g_.nodes[mul], inv) != x) return "";
    gone->push_back(r);
    gone->push_back(mul);
    return g_.nodes[mul].outputs[0];
  }

  GraphMatch m_;
  ir::Graph& g_;
};

}  // namespace

Status fuse_layernorm(ir::Graph& g, std::vector<std::string>* notes) {
  NormFuser f(g);
  f.run();
  if (!g.topo_sort()) return internal_error("fuse_layernorm: graph has a cycle");
  if (notes && f.layernorms)
    notes->push_back("fuse_layernorm: fused " + std::to_string(f.layernorms) +
                     " LayerNorm decompositions (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) "
                     "into LayerNormalization");
  if (notes && f.rmsnorms)
    notes->push_back("fuse_layernorm: fused " + std::to_string(f.rmsnorms) +
                     " RMSNorm decompositions (Pow, ReduceMean, Add, Sqrt, Div, Mul) into RMSNormalization");
  return Status::Ok();
}

}  // namespace pocket::converter
