// Static shape and dtype inference over the IR. Understands both the ONNX forms (operands as
// inputs, old-opset attributes) and the format's normalised forms, so it can run before and after
// normalize(). Shapes it cannot derive keep what ONNX's own shape inference found.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "converter/passes/passes.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {

namespace {

using ir::DType;
using Dims = std::vector<int64_t>;
using Names = std::vector<std::string>;

struct Shaped {
  Dims s;
  Names n;  // empty or one per dim
  std::string name(size_t i) const { return i < n.size() ? n[i] : ""; }
};

const std::set<std::string>& same_shape_ops() {
  static const std::set<std::string> ops = {
      "Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softplus",
      "Softsign", "Clip", "Exp", "Log", "Sqrt", "Neg", "Abs", "Erf", "Reciprocal", "Floor", "Ceil",
      "SiLU", "Softmax", "LogSoftmax", "Identity", "InstanceNormalization", "LRN", "BatchNormalization",
      "Sign", "Round", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh",
      "Atanh", "Gelu", "Mish", "Celu", "ThresholdedRelu", "Shrink", "CumSum", "Trilu", "Hardmax",
      "LayerNormalization", "MeanVarianceNormalization", "LpNormalization", "Dropout", "IsNaN", "IsInf",
      "Not", "SqueezeExcite", "RMSNormalization", "ScatterND", "ScatterElements"};
  return ops;
}

const std::set<std::string>& broadcast_ops() {
  static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Pow", "Sum", "Max", "Min",
                                            "Mean", "PRelu", "Mod", "Equal", "Less", "Greater",
                                            "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor",
                                            "BitShift", "Where"};
  return ops;
}

bool is_bool_op(const std::string& op) {
  return op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" ||
         op == "GreaterOrEqual" || op == "And" || op == "Or" || op == "Xor" || op == "Not" ||
         op == "IsNaN" || op == "IsInf";
}

// One entry of a 1-D integer value (a shape operand): a constant, or a dim that is only known
// symbolically (sym: the value is unknown, `name` the dim's name when it has one).
struct Entry {
  bool sym = false;
  int64_t c = 0;
  std::string name;
};

class Inferer {
 public:
  explicit Inferer(ir::Graph& g) : g_(g) {}

  void run() {
    for (ir::Node& n : g_.nodes) node(n);
  }
  void node(const ir::Node& n);

 private:
  ir::Graph& g_;

  const ir::Value* in(const ir::Node& n, size_t k) const {
    if (k >= n.inputs.size() || n.inputs[k].empty()) return nullptr;
    return g_.find(n.inputs[k]);
  }
  bool known(const ir::Node& n, size_t k, Shaped* out) const {
    const ir::Value* v = in(n, k);
    if (!v || !v->shape_known) return false;
    out->s = v->shape;
    out->n = v->dim_names;
    return true;
  }
  DType dtype_of(const ir::Node& n, size_t k) const {
    const ir::Value* v = in(n, k);
    return v ? v->dtype : DType::F32;
  }
  void set(const ir::Node& n, size_t k, DType dt, const Dims& s, const Names& names = {}) {
    if (k >= n.outputs.size() || n.outputs[k].empty()) return;
    ir::Value& v = g_.value(n.outputs[k]);
    if (v.is_constant()) return;
    v.name = n.outputs[k];
    v.dtype = dt;
    v.shape = s;
    v.shape_known = true;
    bool symbolic = std::any_of(s.begin(), s.end(), [](int64_t d) { return d < 0; });
    if (symbolic) {
      v.dim_names = names.size() == s.size() ? names : Names(s.size());
      for (size_t i = 0; i < s.size(); ++i)
        if (s[i] >= 0) v.dim_names[i].clear();
    } else {
      v.dim_names.clear();
    }
  }
  void set_dtype(const ir::Node& n, size_t k, DType dt) {
    if (k >= n.outputs.size() || n.outputs[k].empty()) return;
    ir::Value& v = g_.value(n.outputs[k]);
    if (v.is_constant()) return;
    v.name = n.outputs[k];
    v.dtype = dt;
  }

  void pool_like(const ir::Node& n, bool conv, bool transpose);
  // The entries of a 1-D integer value computed from constants and Shape of tensors with known
  // (static or named symbolic) dims through Concat, Unsqueeze, Squeeze, Gather and Cast: what a
  // graph exported with dynamic axes feeds Reshape and Expand. False if any step is unknown.
  bool entries(const std::string& v, std::vector<Entry>* out, int depth = 0) const;
  void reshape_symbolic(const ir::Node& n, bool has_x, const Shaped& x, const std::vector<Entry>& t);
  void einsum(const ir::Node& n);
};

bool Inferer::entries(const std::string& v, std::vector<Entry>* out, int depth) const {
  out->clear();
  if (depth > 16 || v.empty()) return false;
  Dims c;
  if (const_ints(g_, v, &c)) {
    for (int64_t d : c) out->push_back({false, d, ""});
    return true;
  }
  int p = g_.producer(v);
  if (p < 0) return false;
  const ir::Node& n = g_.nodes[p];
  if (!n.domain.empty()) return false;
  if (n.op == "Shape") {
    const ir::Value* t = g_.find(n.inputs[0]);
    if (!t || !t->shape_known) return false;
    const int64_t rank = static_cast<int64_t>(t->shape.size());
    int64_t s0 = n.i("start", 0), e0 = n.i("end", rank);
    if (s0 < 0) s0 += rank;
    if (e0 < 0) e0 += rank;
    s0 = std::clamp<int64_t>(s0, 0, rank);
    e0 = std::clamp<int64_t>(e0, 0, rank);
    for (int64_t i = s0; i < e0; ++i) {
      if (t->shape[i] >= 0) out->push_back({false, t->shape[i], ""});
      else out->push_back({true, -1, i < static_cast<int64_t>(t->dim_names.size()) ? t->dim_names[i] : ""});
    }
    return true;
  }
  if (n.op == "Concat") {
    if (n.i("axis", 0) != 0 && n.i("axis", 0) != -1) return false;
    for (const auto& in : n.inputs) {
      std::vector<Entry> part;
      if (!entries(in, &part, depth + 1)) return false;
      out->insert(out->end(), part.begin(), part.end());
    }
    return true;
  }
  if (n.op == "Unsqueeze" || n.op == "Squeeze" || n.op == "Cast" || n.op == "Identity" || n.op == "Reshape")
    return entries(n.inputs[0], out, depth + 1);
  if (n.op == "Slice") {
    IntsOperand st = ints_operand(g_, n, 1, "starts"), en = ints_operand(g_, n, 2, "ends"),
                ax = ints_operand(g_, n, 3, "axes"), sp = ints_operand(g_, n, 4, "steps");
    if (!st.ok || !en.ok || !ax.ok || !sp.ok || st.v.size() != 1 || en.v.size() != 1) return false;
    if ((!ax.v.empty() && ax.v != Dims{0}) || (!sp.v.empty() && sp.v != Dims{1})) return false;
    std::vector<Entry> data;
    if (!entries(n.inputs[0], &data, depth + 1)) return false;
    const int64_t size = static_cast<int64_t>(data.size());
    int64_t b = st.v[0] < 0 ? st.v[0] + size : st.v[0], e = en.v[0] < 0 ? en.v[0] + size : en.v[0];
    b = std::clamp<int64_t>(b, 0, size);
    e = std::clamp<int64_t>(e, 0, size);
    out->assign(data.begin() + b, data.begin() + std::max(b, e));
    return true;
  }
  if (n.op == "Gather" && n.inputs.size() == 2 && n.i("axis", 0) == 0) {
    std::vector<Entry> data;
    Dims idx;
    if (!const_ints(g_, n.inputs[1], &idx) || !entries(n.inputs[0], &data, depth + 1)) return false;
    for (int64_t i : idx) {
      if (i < 0) i += static_cast<int64_t>(data.size());
      if (i < 0 || i >= static_cast<int64_t>(data.size())) return false;
      out->push_back(data[i]);
    }
    return true;
  }
  return false;
}

// Reshape whose target holds symbolic entries. A -1 entry is inferred by cancelling the target's
// known dims (static sizes and dim names) against the input's.
void Inferer::reshape_symbolic(const ir::Node& n, bool has_x, const Shaped& x, const std::vector<Entry>& t) {
  const bool allowzero = n.i("allowzero", 0) != 0;
  Dims out(t.size());
  Names names(t.size());
  int64_t infer_at = -1;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i].sym) { out[i] = -1; names[i] = t[i].name; continue; }
    if (t[i].c == 0 && !allowzero) {
      if (!has_x || i >= x.s.size()) return set_dtype(n, 0, dtype_of(n, 0));
      out[i] = x.s[i];
      names[i] = x.name(i);
      continue;
    }
    if (t[i].c == -1) {
      if (infer_at >= 0) return set_dtype(n, 0, dtype_of(n, 0));
      infer_at = static_cast<int64_t>(i);
    }
    out[i] = t[i].c;
  }
  if (infer_at >= 0) {
    out[infer_at] = -1;
    names[infer_at].clear();
    if (has_x) {
      int64_t px = 1, pt = 1;
      std::multiset<std::string> nx, nt;
      bool ok = true;
      for (size_t i = 0; i < x.s.size(); ++i) {
        if (x.s[i] >= 0) px *= x.s[i];
        else if (x.name(i).empty()) ok = false;
        else nx.insert(x.name(i));
      }
      for (size_t i = 0; i < out.size(); ++i) {
        if (static_cast<int64_t>(i) == infer_at) continue;
        if (out[i] >= 0) pt *= out[i];
        else if (names[i].empty()) ok = false;
        else nt.insert(names[i]);
      }
      for (const auto& nm : nt) {
        auto it = nx.find(nm);
        if (it == nx.end()) { ok = false; break; }
        nx.erase(it);
      }
      if (ok && pt > 0 && px % pt == 0) {
        if (nx.empty()) out[infer_at] = px / pt;
        else if (nx.size() == 1 && px == pt) names[infer_at] = *nx.begin();
      }
    }
  }
  set(n, 0, dtype_of(n, 0), out, names);
}

// Einsum with explicit output ("ij,jk->ik", "..." allowed): each output index takes its size from
// an operand that has it.
void Inferer::einsum(const ir::Node& n) {
  std::string eq = n.s("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  size_t arrow = eq.find("->");
  if (arrow == std::string::npos) return set_dtype(n, 0, dtype_of(n, 0));
  std::vector<std::string> terms;
  std::string lhs = eq.substr(0, arrow), rhs = eq.substr(arrow + 2);
  for (size_t s0 = 0;;) {
    size_t c = lhs.find(',', s0);
    terms.push_back(lhs.substr(s0, c == std::string::npos ? std::string::npos : c - s0));
    if (c == std::string::npos) break;
    s0 = c + 1;
  }
  if (terms.size() != n.inputs.size()) return set_dtype(n, 0, dtype_of(n, 0));
  std::map<char, std::pair<int64_t, std::string>> size;
  Shaped ell;
  bool have_ell = false;
  for (size_t k = 0; k < terms.size(); ++k) {
    Shaped s;
    if (!known(n, k, &s)) return set_dtype(n, 0, dtype_of(n, 0));
    const std::string& t = terms[k];
    size_t e = t.find("...");
    size_t letters = t.size() - (e == std::string::npos ? 0 : 3);
    if (letters > s.s.size() || (e == std::string::npos && letters != s.s.size())) return;
    size_t ell_rank = s.s.size() - letters, dim = 0;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t.compare(i, 3, "...") == 0) {
        Shaped part;
        part.s.assign(s.s.begin() + dim, s.s.begin() + dim + ell_rank);
        for (size_t j = 0; j < ell_rank; ++j) part.n.push_back(s.name(dim + j));
        if (!have_ell) ell = part, have_ell = true;
        else {
          Shaped r;
          if (!broadcast_shapes(ell.s, ell.n, part.s, part.n, &r.s, &r.n)) return;
          ell = r;
        }
        dim += ell_rank;
        i += 2;
        continue;
      }
      auto it = size.find(t[i]);
      if (it == size.end() || (it->second.first < 0 && s.s[dim] >= 0) || it->second.first == 1)
        size[t[i]] = {s.s[dim], s.name(dim)};
      ++dim;
    }
  }
  Dims out;
  Names names;
  for (size_t i = 0; i < rhs.size(); ++i) {
    if (rhs.compare(i, 3, "...") == 0) {
      for (size_t j = 0; j < ell.s.size(); ++j) { out.push_back(ell.s[j]); names.push_back(ell.name(j)); }
      i += 2;
      continue;
    }
    auto it = size.find(rhs[i]);
    if (it == size.end()) return;
    out.push_back(it->second.first);
    names.push_back(it->second.second);
  }
  set(n, 0, dtype_of(n, 0), out, names);
}

// Spatial output size of a conv/pool window; -1 when the input is symbolic.
int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                   const std::string& auto_pad, bool ceil_mode) {
  if (in < 0) return -1;
  int64_t dk = (k - 1) * d + 1;
  if (s <= 0) s = 1;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return (in + s - 1) / s;
  if (auto_pad == "VALID") return in < dk ? 0 : (in - dk) / s + 1;
  int64_t span = in + pb + pe - dk;
  if (span < 0) return 0;
  if (!ceil_mode) return span / s + 1;
  int64_t out = (span + s - 1) / s + 1;
  if ((out - 1) * s >= in + pb) --out;  // the last window must start inside the input or left pad
  return out;
}

void Inferer::pool_like(const ir::Node& n, bool conv, bool transpose) {
  Shaped x;
  if (!known(n, 0, &x) || x.s.size() < 3) return;
  const bool nhwc = n.s("layout", "") == "NHWC";
  const size_t rank = x.s.size(), nsp = rank - 2, sp0 = nhwc ? 1 : 2;
  const size_t c_axis = nhwc ? rank - 1 : 1;
  Dims kernel = n.ints("kernel_shape");
  int64_t channels = x.s[c_axis];
  if (conv) {
    Shaped w;
    if (!known(n, 1, &w) || w.s.size() != rank) return;
    if (kernel.empty()) kernel.assign(w.s.begin() + 2, w.s.end());
    int64_t group = n.i("group", 1);
    channels = transpose ? w.s[1] * group : w.s[0];
  }
  const bool global = n.op == "GlobalAveragePool" || n.op == "GlobalMaxPool" || n.op == "GlobalLpPool";
  if (!global && kernel.size() != nsp) return;
  Dims strides = n.ints("strides", Dims(nsp, 1)), dil = n.ints("dilations", Dims(nsp, 1));
  Dims pads = n.ints("pads", Dims(2 * nsp, 0));
  if (strides.size() != nsp || dil.size() != nsp || pads.size() != 2 * nsp) return;
  std::string auto_pad = n.s("auto_pad", "NOTSET");
  Dims out = x.s;
  Names names = x.n;
  if (names.size() != rank) names = Names(rank);
  out[c_axis] = channels;
  for (size_t i = 0; i < nsp; ++i) {
    int64_t d = x.s[sp0 + i];
    if (global) out[sp0 + i] = 1;
    else if (transpose) {
      Dims oshape = n.ints("output_shape"), opad = n.ints("output_padding", Dims(nsp, 0));
      if (oshape.size() == nsp) out[sp0 + i] = oshape[i];
      else if (d < 0) out[sp0 + i] = -1;
      else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") out[sp0 + i] = d * strides[i];
      else
        out[sp0 + i] = strides[i] * (d - 1) + (opad.size() == nsp ? opad[i] : 0) + (kernel[i] - 1) * dil[i] + 1 -
                       pads[i] - pads[nsp + i];
    } else {
      out[sp0 + i] = window_out(d, kernel[i], strides[i], dil[i], pads[i], pads[nsp + i], auto_pad,
                                n.i("ceil_mode", 0) != 0);
    }
    if (out[sp0 + i] >= 0) names[sp0 + i].clear();
  }
  set(n, 0, dtype_of(n, 0), out, names);
  if (n.op == "MaxPool" && n.outputs.size() > 1) set(n, 1, DType::I64, out, names);
}

void Inferer::node(const ir::Node& n) {
  const std::string& op = n.op;
  if (!n.domain.empty()) return;
  Shaped x;
  const bool has_x = known(n, 0, &x);
  const int64_t rank = has_x ? static_cast<int64_t>(x.s.size()) : -1;

  if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    // ONNX form: the zero point's type (uint8 without one); the format's form (no scale input,
    // after fold_qdq): I8. DequantizeLinear gives float.
    DType dt = DType::F32;
    if (op == "QuantizeLinear")
      dt = n.inputs.size() > 2 && !n.inputs[2].empty() ? dtype_of(n, 2) : n.inputs.size() > 1 ? DType::U8 : DType::I8;
    if (has_x) set(n, 0, dt, x.s, x.n);
    else set_dtype(n, 0, dt);
    return;
  }
  if (same_shape_ops().count(op)) {
    DType dt = is_bool_op(op) ? DType::BOOL : dtype_of(n, 0);
    if (has_x) set(n, 0, dt, x.s, x.n);
    else set_dtype(n, 0, dt);
    if (op == "Dropout" && has_x) set(n, 1, DType::BOOL, x.s, x.n);
    if (op == "BatchNormalization" || op == "LayerNormalization") {
      // training-mode extra outputs are not inferred; inference graphs leave them out
    }
    return;
  }
  if (broadcast_ops().count(op)) {
    Shaped acc;
    bool ok = true;
    for (size_t k = 0; k < n.inputs.size() && ok; ++k) {
      Shaped s;
      if (!known(n, k, &s)) { ok = false; break; }
      if (k == 0) acc = s;
      else {
        Shaped r;
        if (!broadcast_shapes(acc.s, acc.n, s.s, s.n, &r.s, &r.n)) ok = false;
        acc = r;
      }
    }
    DType dt = is_bool_op(op) ? DType::BOOL : op == "Where" ? dtype_of(n, 1) : dtype_of(n, 0);
    if (op == "PRelu" && has_x) { set(n, 0, dt, x.s, x.n); return; }
    if (ok && !n.inputs.empty()) set(n, 0, dt, acc.s, acc.n);
    else set_dtype(n, 0, dt);
    return;
  }
  if (op == "Conv" || op == "ConvTranspose") return pool_like(n, true, op == "ConvTranspose");
  if (op == "MaxPool" || op == "AveragePool" || op == "LpPool" || op == "GlobalAveragePool" ||
      op == "GlobalMaxPool" || op == "GlobalLpPool")
    return pool_like(n, false, false);

  if (op == "Gemm") {
    Shaped a, b;
    if (!known(n, 0, &a) || !known(n, 1, &b) || a.s.size() != 2 || b.s.size() != 2) return set_dtype(n, 0, dtype_of(n, 0));
    int64_t m = n.i("transA", 0) ? a.s[1] : a.s[0], nn = n.i("transB", 0) ? b.s[0] : b.s[1];
    std::string mn = n.i("transA", 0) ? a.name(1) : a.name(0);
    return set(n, 0, dtype_of(n, 0), {m, nn}, {mn, ""});
  }
  if (op == "MatMul") {
    Shaped a, b;
    if (!known(n, 0, &a) || !known(n, 1, &b) || a.s.empty() || b.s.empty()) return set_dtype(n, 0, dtype_of(n, 0));
    Shaped a2 = a, b2 = b;
    if (a.s.size() == 1) { a2.s.insert(a2.s.begin(), 1); if (!a2.n.empty()) a2.n.insert(a2.n.begin(), ""); }
    if (b.s.size() == 1) { b2.s.push_back(1); if (!b2.n.empty()) b2.n.push_back(""); }
    Dims ba(a2.s.begin(), a2.s.end() - 2), bb(b2.s.begin(), b2.s.end() - 2);
    Names na = a2.n.empty() ? Names() : Names(a2.n.begin(), a2.n.end() - 2);
    Names nb = b2.n.empty() ? Names() : Names(b2.n.begin(), b2.n.end() - 2);
    Shaped out;
    if (!broadcast_shapes(ba, na, bb, nb, &out.s, &out.n)) return;
    if (out.n.empty()) out.n = Names(out.s.size());
    if (a.s.size() > 1) { out.s.push_back(a2.s[a2.s.size() - 2]); out.n.push_back(a2.name(a2.s.size() - 2)); }
    if (b.s.size() > 1) { out.s.push_back(b2.s.back()); out.n.push_back(b2.name(b2.s.size() - 1)); }
    return set(n, 0, dtype_of(n, 0), out.s, out.n);
  }
  if (op == "Concat") {
    Shaped acc;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      Shaped s;
      if (!known(n, k, &s)) return set_dtype(n, 0, dtype_of(n, 0));
      if (k == 0) { acc = s; continue; }
      int64_t ax = norm_axis(n.i("axis", 0), static_cast<int64_t>(acc.s.size()));
      if (ax < 0 || s.s.size() != acc.s.size()) return;
      acc.s[ax] = acc.s[ax] < 0 || s.s[ax] < 0 ? -1 : acc.s[ax] + s.s[ax];
      if (acc.n.size() == acc.s.size() && acc.s[ax] < 0) acc.n[ax].clear();
    }
    return set(n, 0, dtype_of(n, 0), acc.s, acc.n);
  }
  if (op == "Split") {
    if (!has_x) return;
    int64_t ax = norm_axis(n.i("axis", 0), rank);
    if (ax < 0) return;
    IntsOperand sp = ints_operand(g_, n, 1, "split");
    if (!sp.ok) return;
    Dims sizes = sp.v;
    int64_t parts = static_cast<int64_t>(n.outputs.size());
    if (!sp.found || sizes.empty()) {
      if (x.s[ax] < 0) { sizes.assign(parts, -1); }
      else {
        int64_t each = (x.s[ax] + parts - 1) / parts;
        for (int64_t k = 0; k < parts; ++k) sizes.push_back(std::min(each, x.s[ax] - k * each));
      }
    }
    if (static_cast<int64_t>(sizes.size()) != parts) return;
    for (int64_t k = 0; k < parts; ++k) {
      Dims s = x.s;
      s[ax] = sizes[k];
      set(n, k, dtype_of(n, 0), s, x.n);
    }
    return;
  }
  if (op == "Slice") {
    if (!has_x) return set_dtype(n, 0, dtype_of(n, 0));
    IntsOperand st = ints_operand(g_, n, 1, "starts"), en = ints_operand(g_, n, 2, "ends"),
                ax = ints_operand(g_, n, 3, "axes"), sp = ints_operand(g_, n, 4, "steps");
    if (!st.ok || !en.ok || !ax.ok || !sp.ok) {
      // Starts or ends computed from symbolic dims: the sliced axes get unknown sizes.
      std::vector<Entry> se;
      const bool starts_sym = !st.ok, ends_sym = !en.ok;
      if (!ax.ok || !sp.ok || (starts_sym && !entries(n.inputs[1], &se)) || (ends_sym && !entries(n.inputs[2], &se)))
        return set_dtype(n, 0, dtype_of(n, 0));
      const size_t count = starts_sym ? (entries(n.inputs[1], &se), se.size()) : st.v.size();
      Dims axes = ax.v;
      if (axes.empty()) for (size_t i = 0; i < count; ++i) axes.push_back(static_cast<int64_t>(i));
      Dims out = x.s;
      Names names = x.n.empty() ? Names(rank) : x.n;
      for (int64_t a : axes) {
        int64_t k = norm_axis(a, rank);
        if (k < 0) return set_dtype(n, 0, dtype_of(n, 0));
        out[k] = -1;
        names[k].clear();
      }
      return set(n, 0, dtype_of(n, 0), out, names);
    }
    if (st.v.size() != en.v.size()) return set_dtype(n, 0, dtype_of(n, 0));
    Dims axes = ax.v, steps = sp.v;
    if (axes.empty()) for (size_t i = 0; i < st.v.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(st.v.size(), 1);
    if (axes.size() != st.v.size() || steps.size() != st.v.size()) return;
    Dims out = x.s;
    Names names = x.n;
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t a = norm_axis(axes[i], rank);
      if (a < 0 || steps[i] == 0) return;
      int64_t d = x.s[a];
      if (d < 0) { out[a] = -1; if (!names.empty()) names[a].clear(); continue; }
      int64_t s = st.v[i], e = en.v[i], step = steps[i];
      if (s < 0) s += d;
      if (e < 0 && e > INT64_MIN / 2) e += d;
      if (step > 0) {
        s = std::clamp<int64_t>(s, 0, d);
        e = std::clamp<int64_t>(e, 0, d);
        out[a] = e > s ? (e - s + step - 1) / step : 0;
      } else {
        s = std::clamp<int64_t>(s, 0, d - 1);
        e = std::clamp<int64_t>(e, -1, d - 1);
        out[a] = s > e ? (s - e - step - 1) / (-step) : 0;
      }
    }
    return set(n, 0, dtype_of(n, 0), out, names);
  }
  if (op == "Reshape") {
    IntsOperand sh = ints_operand(g_, n, 1, "shape");
    if (sh.found && !sh.ok) {
      std::vector<Entry> t;
      if (entries(n.inputs[1], &t)) return reshape_symbolic(n, has_x, x, t);
    }
    if (!sh.found || !sh.ok) return set_dtype(n, 0, dtype_of(n, 0));
    Dims out = sh.v;
    Names names(out.size());
    bool allowzero = n.i("allowzero", 0) != 0;
    int64_t infer_at = -1, known_prod = 1;
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] == 0 && !allowzero) {
        if (!has_x || static_cast<int64_t>(i) >= rank) return set_dtype(n, 0, dtype_of(n, 0));
        out[i] = x.s[i];
        names[i] = x.name(i);
      }
      if (out[i] == -1 && sh.v[i] == -1) {
        if (infer_at >= 0) return;
        infer_at = static_cast<int64_t>(i);
      } else if (out[i] < 0) known_prod = -1;
      else if (known_prod >= 0 && __builtin_mul_overflow(known_prod, out[i], &known_prod)) known_prod = -1;
    }
    if (infer_at >= 0) {
      // Dims copied with 0 cancel out, so symbolic copied dims do not block the inference.
      int64_t total = 1;
      for (int64_t k = 0; k < (has_x ? rank : 0); ++k) {
        bool copied = k < static_cast<int64_t>(sh.v.size()) && sh.v[k] == 0 && !allowzero;
        if (!copied && (x.s[k] < 0 || total < 0 || __builtin_mul_overflow(total, x.s[k], &total))) total = -1;
      }
      if (!has_x) total = -1;
      int64_t rest = 1;
      for (size_t k = 0; k < out.size(); ++k) {
        if (static_cast<int64_t>(k) == infer_at || (sh.v[k] == 0 && !allowzero)) continue;
        if (out[k] < 0 || rest < 0 || __builtin_mul_overflow(rest, out[k], &rest)) rest = -1;
      }
      out[infer_at] = total >= 0 && rest > 0 ? total / rest : -1;
    }
    return set(n, 0, dtype_of(n, 0), out, names);
  }
  if (op == "Flatten") {
    if (!has_x) return;
    int64_t ax = n.i("axis", 1);
    if (ax < 0) ax += rank;
    if (ax < 0 || ax > rank) return;
    int64_t a = 1, b = 1;
    for (int64_t i = 0; i < rank; ++i) {
      int64_t& t = i < ax ? a : b;
      t = t < 0 || x.s[i] < 0 ? -1 : t * x.s[i];
    }
    return set(n, 0, dtype_of(n, 0), {a, b}, {rank == 1 || ax != 1 ? "" : x.name(0), ""});
  }
  if (op == "Transpose") {
    if (!has_x) return;
    Dims perm = n.ints("perm");
    if (perm.empty()) for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
    if (static_cast<int64_t>(perm.size()) != rank) return;
    Dims out(rank);
    Names names(rank);
    for (int64_t i = 0; i < rank; ++i) {
      int64_t p = norm_axis(perm[i], rank);
      if (p < 0) return;
      out[i] = x.s[p];
      names[i] = x.name(p);
    }
    return set(n, 0, dtype_of(n, 0), out, names);
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    if (!has_x) return;
    IntsOperand ax = ints_operand(g_, n, 1, "axes");
    if (!ax.ok) return;
    Dims out;
    Names names;
    if (op == "Squeeze") {
      std::set<int64_t> drop;
      for (int64_t a : ax.v) drop.insert(norm_axis(a, rank));
      for (int64_t i = 0; i < rank; ++i) {
        bool d = ax.v.empty() ? x.s[i] == 1 : drop.count(i) != 0;
        if (ax.v.empty() && x.s[i] < 0) return;  // cannot know which symbolic dims are 1
        if (!d) { out.push_back(x.s[i]); names.push_back(x.name(i)); }
      }
    } else {
      int64_t orank = rank + static_cast<int64_t>(ax.v.size());
      std::set<int64_t> add;
      for (int64_t a : ax.v) add.insert(norm_axis(a, orank));
      if (add.count(-1)) return;
      size_t src = 0;
      for (int64_t i = 0; i < orank; ++i) {
        if (add.count(i)) { out.push_back(1); names.emplace_back(); }
        else if (src < x.s.size()) { out.push_back(x.s[src]); names.push_back(x.name(src)); ++src; }
      }
    }
    return set(n, 0, dtype_of(n, 0), out, names);
  }
  if (op == "Gather") {
    Shaped idx;
    if (!has_x || !known(n, 1, &idx)) return set_dtype(n, 0, dtype_of(n, 0));
    int64_t ax = norm_axis(n.i("axis", 0), rank);
    if (ax < 0) return;
    Dims out(x.s.begin(), x.s.begin() + ax);
    Names names;
    for (int64_t i = 0; i < ax; ++i) names.push_back(x.name(i));
    for (size_t i = 0; i < idx.s.size(); ++i) { out.push_back(idx.s[i]); names.push_back(idx.name(i)); }
    for (int64_t i = ax + 1; i < rank; ++i) { out.push_back(x.s[i]); names.push_back(x.name(i)); }
    return set(n, 0, dtype_of(n, 0), out, names);
  }
  if (op == "Pad") {
    if (!has_x) return;
    IntsOperand p = ints_operand(g_, n, 1, "pads");
    if (!p.ok) return set_dtype(n, 0, dtype_of(n, 0));
    if (!p.found) p.v = n.ints("paddings");
    if (static_cast<int64_t>(p.v.size()) != 2 * rank) return;
    Dims out = x.s;
    for (int64_t i = 0; i < rank; ++i) out[i] = x.s[i] < 0 ? -1 : x.s[i] + p.v[i] + p.v[rank + i];
    return set(n, 0, dtype_of(n, 0), out, x.n);
  }
  if (op == "Tile") {
    if (!has_x) return;
    IntsOperand r = ints_operand(g_, n, 1, "repeats");
    if (!r.ok || static_cast<int64_t>(r.v.size()) != rank) return set_dtype(n, 0, dtype_of(n, 0));
    Dims out = x.s;
    for (int64_t i = 0; i < rank; ++i) out[i] = x.s[i] < 0 ? -1 : x.s[i] * r.v[i];
    return set(n, 0, dtype_of(n, 0), out, x.n);
  }
  if (op == "Expand") {
    IntsOperand sh = ints_operand(g_, n, 1, "shape");
    std::vector<Entry> t;
    if (has_x && sh.found && !sh.ok && entries(n.inputs[1], &t)) {
      Dims dims;
      Names names;
      for (const Entry& e : t) {
        dims.push_back(e.sym ? -1 : e.c);
        names.push_back(e.sym ? e.name : "");
      }
      Shaped out;
      if (!broadcast_shapes(x.s, x.n, dims, names, &out.s, &out.n)) return set_dtype(n, 0, dtype_of(n, 0));
      return set(n, 0, dtype_of(n, 0), out.s, out.n);
    }
    if (!has_x || !sh.ok || !sh.found) return set_dtype(n, 0, dtype_of(n, 0));
    Shaped out;
    if (!broadcast_shapes(x.s, x.n, sh.v, {}, &out.s, &out.n)) return;
    return set(n, 0, dtype_of(n, 0), out.s, out.n);
  }
  if (op == "DepthToSpace" || op == "SpaceToDepth") {
    if (!has_x || rank != 4) return;
    int64_t b = n.i("blocksize", 1);
    Dims out = x.s;
    bool d2s = op == "DepthToSpace";
    out[1] = x.s[1] < 0 ? -1 : d2s ? x.s[1] / (b * b) : x.s[1] * b * b;
    for (int i = 2; i < 4; ++i) out[i] = x.s[i] < 0 ? -1 : d2s ? x.s[i] * b : x.s[i] / b;
    return set(n, 0, dtype_of(n, 0), out);
  }
  if (op == "Resize" || op == "Upsample") {
    if (!has_x) return;
    std::vector<float> scales;
    Dims sizes;
    if (n.has("sizes")) sizes = n.ints("sizes");
    else if (n.has("scales")) scales = n.floats("scales");
    else if (op == "Upsample" || g_.opset < 11) {
      if (!const_floats(g_, n.inputs.size() > 1 ? n.inputs[1] : "", &scales)) return set_dtype(n, 0, dtype_of(n, 0));
    } else {
      if (n.inputs.size() > 3 && !n.inputs[3].empty()) {
        if (!const_ints(g_, n.inputs[3], &sizes)) return set_dtype(n, 0, dtype_of(n, 0));
      } else if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        if (!const_floats(g_, n.inputs[2], &scales)) return set_dtype(n, 0, dtype_of(n, 0));
      }
    }
    Dims out = x.s;
    if (static_cast<int64_t>(sizes.size()) == rank) out = sizes;
    else if (static_cast<int64_t>(scales.size()) == rank)
      for (int64_t i = 0; i < rank; ++i)
        out[i] = x.s[i] < 0 ? -1 : static_cast<int64_t>(static_cast<double>(x.s[i]) * scales[i]);
    else return;
    return set(n, 0, dtype_of(n, 0), out, x.n);
  }
  if (op == "Cast") {
    DType to = static_cast<DType>(n.i("to", 0));
    if (has_x) set(n, 0, to, x.s, x.n);
    else set_dtype(n, 0, to);
    return;
  }
  if (op == "Shape") {
    if (!has_x) return set_dtype(n, 0, DType::I64);
    int64_t s = n.i("start", 0), e = n.i("end", rank);
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    s = std::clamp<int64_t>(s, 0, rank);
    e = std::clamp<int64_t>(e, 0, rank);
    return set(n, 0, DType::I64, {std::max<int64_t>(0, e - s)});
  }
  if (op == "Size") return set(n, 0, DType::I64, {});
  if (op == "ConstantOfShape") {
    IntsOperand sh = ints_operand(g_, n, 0, "shape");
    DType dt = static_cast<DType>(n.i("dtype", static_cast<int64_t>(DType::F32)));
    if (!sh.ok || !sh.found) {
      Shaped s;
      if (known(n, 0, &s) && s.s.size() == 1 && s.s[0] >= 0) return set(n, 0, dt, Dims(s.s[0], -1));
      return set_dtype(n, 0, dt);
    }
    return set(n, 0, dt, sh.v);
  }
  if (op == "Range") {
    // max(ceil((limit - start) / delta), 0), exactly for integers (the engine's formula); a count
    // beyond 2^40 or a non-finite one stays unknown (the engine refuses it with a message).
    DType dt = dtype_of(n, 0);
    constexpr int64_t kMaxCount = int64_t{1} << 40;
    std::vector<int64_t> ia, ib, ic;
    std::vector<float> a, b, c;
    if (n.inputs.size() == 3 && (dt == DType::I64 || dt == DType::I32) && const_ints(g_, n.inputs[0], &ia) &&
        const_ints(g_, n.inputs[1], &ib) && const_ints(g_, n.inputs[2], &ic) && ia.size() == 1 && ib.size() == 1 &&
        ic.size() == 1 && ic[0] != 0) {
      const __int128 span = static_cast<__int128>(ib[0]) - ia[0];
      __int128 len = span / ic[0];
      if (len * ic[0] != span && ((span > 0) == (ic[0] > 0))) ++len;
      if (len <= kMaxCount) return set(n, 0, dt, {len > 0 ? static_cast<int64_t>(len) : 0});
    } else if (n.inputs.size() == 3 && dt == DType::F32 && const_floats(g_, n.inputs[0], &a) &&
               const_floats(g_, n.inputs[1], &b) && const_floats(g_, n.inputs[2], &c) && a.size() == 1 &&
               b.size() == 1 && c.size() == 1 && c[0] != 0) {
      const double cnt = std::ceil((static_cast<double>(b[0]) - a[0]) / c[0]);
      if (cnt <= static_cast<double>(kMaxCount)) return set(n, 0, dt, {cnt > 0 ? static_cast<int64_t>(cnt) : 0});
    }
    return set(n, 0, dt, {-1});
  }
  if (op.rfind("Reduce", 0) == 0) {
    if (!has_x) return set_dtype(n, 0, dtype_of(n, 0));
    IntsOperand ax = ints_operand(g_, n, 1, "axes");
    if (!ax.ok) return set_dtype(n, 0, dtype_of(n, 0));
    bool keep = n.i("keepdims", 1) != 0;
    if (ax.v.empty() && n.i("noop_with_empty_axes", 0)) return set(n, 0, dtype_of(n, 0), x.s, x.n);
    std::set<int64_t> axes;
    for (int64_t a : ax.v) axes.insert(norm_axis(a, rank));
    Dims out;
    Names names;
    for (int64_t i = 0; i < rank; ++i) {
      bool red = ax.v.empty() || axes.count(i);
      if (!red) { out.push_back(x.s[i]); names.push_back(x.name(i)); }
      else if (keep) { out.push_back(1); names.emplace_back(); }
    }
    return set(n, 0, dtype_of(n, 0), out, names);
  }
  if (op == "ArgMax" || op == "ArgMin") {
    if (!has_x) return set_dtype(n, 0, DType::I64);
    int64_t ax = norm_axis(n.i("axis", 0), rank);
    if (ax < 0) return;
    Dims out;
    Names names;
    for (int64_t i = 0; i < rank; ++i) {
      if (i != ax) { out.push_back(x.s[i]); names.push_back(x.name(i)); }
      else if (n.i("keepdims", 1)) { out.push_back(1); names.emplace_back(); }
    }
    return set(n, 0, DType::I64, out, names);
  }
  if (op == "NonZero") return set(n, 0, DType::I64, {rank, -1});
  if (op == "Einsum") return einsum(n);
  if (op == "Attention") {
    // [B, Sq, Hq*D] x [B, Sk, Hk*D] x [B, Sk, Hk*Dv] -> [B, Sq, Hq*Dv]
    Shaped v;
    if (!has_x || rank != 3 || !known(n, 2, &v) || v.s.size() != 3) return set_dtype(n, 0, dtype_of(n, 0));
    const int64_t hq = n.i("num_heads", 0), hk = n.i("kv_heads", hq);
    int64_t last = -1;
    if (hq > 0 && hk > 0 && v.s[2] >= 0 && v.s[2] % hk == 0) last = v.s[2] / hk * hq;
    return set(n, 0, dtype_of(n, 0), {x.s[0], x.s[1], last}, {x.name(0), x.name(1), ""});
  }
}

}  // namespace

void infer_node(ir::Graph& g, const ir::Node& n) { Inferer(g).node(n); }

Status infer_shapes(ir::Graph& g) {
  Inferer(g).run();
  return Status::Ok();
}

}  // namespace pocket::converter
