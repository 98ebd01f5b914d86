// Constant folding: evaluates nodes whose inputs are all constant (the shape arithmetic PyTorch
// exports: Shape -> Gather -> Unsqueeze -> Concat -> Reshape, ConstantOfShape, Expand, Range,
// Where, ...), and Shape/Size of values whose shape is statically known.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "converter/passes/passes.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {

namespace {

using ir::DType;
using Dims = std::vector<int64_t>;

constexpr int64_t kMaxGenericElements = int64_t(1) << 24;  // element-by-element evaluation
constexpr int64_t kMaxFillElements = int64_t(1) << 31;      // ConstantOfShape, reshapes

bool is_float(DType d) { return d == DType::F32 || d == DType::F64 || d == DType::F16 || d == DType::BF16; }
bool foldable_dtype(DType d) { return d != DType::BF16 && d != DType::I4; }

int64_t count(const Dims& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) return -1;
    if (__builtin_mul_overflow(n, d, &n)) return -1;  // hostile shapes: too large to fold
  }
  return n;
}

// A constant being evaluated: integers and floats kept exactly enough for shape arithmetic.
struct CT {
  DType dt = DType::F32;
  Dims shape;
  std::vector<double> f;  // float dtypes
  std::vector<int64_t> i; // integer and bool dtypes
  bool isf() const { return is_float(dt); }
  int64_t size() const { return isf() ? static_cast<int64_t>(f.size()) : static_cast<int64_t>(i.size()); }
  double d(int64_t k) const { return isf() ? f[k] : static_cast<double>(i[k]); }
  int64_t n(int64_t k) const { return isf() ? static_cast<int64_t>(f[k]) : i[k]; }
  void resize(int64_t k) { if (isf()) f.resize(k); else i.resize(k); }
  void copy_from(const CT& o, int64_t src, int64_t dst) {
    if (isf()) f[dst] = o.d(src);
    else i[dst] = o.n(src);
  }
};

bool load(const ir::Graph& g, const std::string& name, CT* c) {
  const ir::Value* v = g.find(name);
  if (!v || !v->is_constant() || !foldable_dtype(v->dtype)) return false;
  c->dt = v->dtype;
  c->shape = v->shape;
  if (c->dt == DType::F64) {  // exact: doubles are evaluated as doubles
    c->f.assign(v->as<double>(), v->as<double>() + v->data->size() / 8);
  } else if (c->isf()) {
    std::vector<float> fv;
    if (!const_floats(g, name, &fv)) return false;
    c->f.assign(fv.begin(), fv.end());
  } else if (!const_ints(g, name, &c->i)) {
    return false;
  }
  return count(c->shape) == c->size();
}

std::vector<uint8_t> store(const CT& c) {
  size_t es = ir_dtype_size(c.dt);
  int64_t n = c.size();
  std::vector<uint8_t> out(static_cast<size_t>(n) * es);
  for (int64_t k = 0; k < n; ++k) {
    uint8_t* p = out.data() + k * es;
    switch (c.dt) {
      case DType::F32: { float x = static_cast<float>(c.d(k)); std::memcpy(p, &x, 4); break; }
      case DType::F64: { double x = c.d(k); std::memcpy(p, &x, 8); break; }
      case DType::I64: { int64_t x = c.n(k); std::memcpy(p, &x, 8); break; }
      case DType::I32: { int32_t x = static_cast<int32_t>(c.n(k)); std::memcpy(p, &x, 4); break; }
      case DType::BOOL: *p = c.n(k) != 0; break;
      default: *p = static_cast<uint8_t>(c.n(k)); break;
    }
  }
  return out;
}

// Strides of `s` aligned to an output of rank r, zero on broadcast dims.
Dims bstrides(const Dims& s, size_t r) {
  Dims st(r, 0);
  int64_t acc = 1;
  for (size_t k = s.size(); k-- > 0;) {
    size_t o = r - s.size() + k;
    st[o] = s[k] == 1 ? 0 : acc;
    acc *= s[k];
  }
  return st;
}

// Calls f(out_index, in_offsets) over a broadcast of the inputs' shapes.
template <class F>
bool broadcast_each(const std::vector<const CT*>& ins, Dims* out_shape, F f) {
  Dims shape = ins[0]->shape;
  for (size_t k = 1; k < ins.size(); ++k) {
    Dims r;
    if (!broadcast_shapes(shape, {}, ins[k]->shape, {}, &r, nullptr)) return false;
    shape = r;
  }
  int64_t total = count(shape);
  if (total < 0 || total > kMaxGenericElements) return false;
  std::vector<Dims> st;
  for (const CT* c : ins) st.push_back(bstrides(c->shape, shape.size()));
  Dims idx(shape.size(), 0);
  std::vector<int64_t> off(ins.size(), 0);
  for (int64_t o = 0; o < total; ++o) {
    for (size_t k = 0; k < ins.size(); ++k) {
      off[k] = 0;
      for (size_t a = 0; a < shape.size(); ++a) off[k] += idx[a] * st[k][a];
    }
    f(o, off);
    for (size_t a = shape.size(); a-- > 0;) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  *out_shape = shape;
  return true;
}

bool binary(const std::string& op, const ir::Node& node, const std::vector<CT>& in, DType out_dt, CT* out) {
  std::vector<const CT*> ins;
  for (const CT& c : in) ins.push_back(&c);
  out->dt = out_dt;
  const bool ints = !in[0].isf() && (in.size() < 2 || !in[1].isf());
  std::vector<double> fr;
  std::vector<int64_t> ir_;
  bool ok = true;
  const int64_t fmod_attr = node.i("fmod", 0);
  auto f = [&](int64_t o, const std::vector<int64_t>& off) {
    if (op == "Where") {
      bool c = in[0].n(off[0]) != 0;
      if (in[1].isf()) fr.push_back(c ? in[1].d(off[1]) : in[2].d(off[2]));
      else ir_.push_back(c ? in[1].n(off[1]) : in[2].n(off[2]));
      return;
    }
    if (op == "Sum" || op == "Max" || op == "Min") {
      if (ints) {
        int64_t acc = in[0].n(off[0]);
        for (size_t k = 1; k < in.size(); ++k) {
          int64_t v = in[k].n(off[k]);
          acc = op == "Sum" ? acc + v : op == "Max" ? std::max(acc, v) : std::min(acc, v);
        }
        ir_.push_back(acc);
      } else {
        double acc = in[0].d(off[0]);
        for (size_t k = 1; k < in.size(); ++k) {
          double v = in[k].d(off[k]);
          acc = op == "Sum" ? acc + v : op == "Max" ? std::max(acc, v) : std::min(acc, v);
        }
        fr.push_back(acc);
      }
      return;
    }
    if (ints) {
      int64_t a = in[0].n(off[0]), b = in[1].n(off[1]);
      int64_t r = 0;
      if (op == "Add") r = a + b;
      else if (op == "Sub") r = a - b;
      else if (op == "Mul") r = a * b;
      else if (op == "Div") { if (b == 0) { ok = false; return; } r = a / b; }
      else if (op == "Mod") {
        if (b == 0) { ok = false; return; }
        r = a % b;
        if (!fmod_attr && r != 0 && ((r < 0) != (b < 0))) r += b;
      }
      else if (op == "Pow") r = static_cast<int64_t>(std::pow(static_cast<double>(a), static_cast<double>(b)));
      else if (op == "Equal") r = a == b;
      else if (op == "Less") r = a < b;
      else if (op == "Greater") r = a > b;
      else if (op == "LessOrEqual") r = a <= b;
      else if (op == "GreaterOrEqual") r = a >= b;
      else if (op == "And") r = a && b;
      else if (op == "Or") r = a || b;
      else if (op == "Xor") r = (a != 0) != (b != 0);
      else { ok = false; return; }
      ir_.push_back(r);
    } else {
      double a = in[0].d(off[0]), b = in[1].d(off[1]);
      double r = 0;
      if (op == "Add") r = a + b;
      else if (op == "Sub") r = a - b;
      else if (op == "Mul") r = a * b;
      else if (op == "Div") r = a / b;
      else if (op == "Pow") r = std::pow(a, b);
      else if (op == "Mod") r = std::fmod(a, b);
      else if (op == "Equal") r = a == b;
      else if (op == "Less") r = a < b;
      else if (op == "Greater") r = a > b;
      else if (op == "LessOrEqual") r = a <= b;
      else if (op == "GreaterOrEqual") r = a >= b;
      else { ok = false; return; }
      fr.push_back(r);
    }
    (void)o;
  };
  if (!broadcast_each(ins, &out->shape, f) || !ok) return false;
  if (out->isf()) {
    if (!fr.empty()) out->f = std::move(fr);
    else out->f.assign(ir_.begin(), ir_.end());
  } else {
    if (!ir_.empty() || fr.empty()) out->i = std::move(ir_);
    else for (double v : fr) out->i.push_back(static_cast<int64_t>(v));
  }
  return true;
}

bool unary(const std::string& op, const ir::Node& node, const CT& x, CT* out) {
  out->dt = op == "Not" ? DType::BOOL : x.dt;
  out->shape = x.shape;
  int64_t n = x.size();
  out->resize(n);
  for (int64_t k = 0; k < n; ++k) {
    if (!x.isf()) {
      int64_t v = x.n(k), r;
      if (op == "Neg") r = -v;
      else if (op == "Abs") r = v < 0 ? -v : v;
      else if (op == "Not") r = v == 0;
      else if (op == "Sign") r = (v > 0) - (v < 0);
      else if (op == "Relu") r = std::max<int64_t>(v, 0);
      else if (op == "Floor" || op == "Ceil" || op == "Round") r = v;
      else return false;
      out->i[k] = r;
      continue;
    }
    double v = x.d(k), r;
    if (op == "Neg") r = -v;
    else if (op == "Abs") r = std::fabs(v);
    else if (op == "Sqrt") r = std::sqrt(v);
    else if (op == "Floor") r = std::floor(v);
    else if (op == "Ceil") r = std::ceil(v);
    else if (op == "Round") r = std::nearbyint(v);
    else if (op == "Reciprocal") r = 1.0 / v;
    else if (op == "Exp") r = std::exp(v);
    else if (op == "Log") r = std::log(v);
    else if (op == "Relu") r = std::max(v, 0.0);
    else if (op == "Sigmoid") r = 1.0 / (1.0 + std::exp(-v));
    else if (op == "Tanh") r = std::tanh(v);
    else if (op == "Erf") r = std::erf(v);
    else if (op == "Sign") r = (v > 0) - (v < 0);
    else if (op == "Clip") r = std::clamp(v, static_cast<double>(node.f("min", -INFINITY)), static_cast<double>(node.f("max", INFINITY)));
    else return false;
    out->f[k] = r;
  }
  return true;
}

Dims row_major_strides(const Dims& s) {
  Dims st(s.size(), 1);
  for (size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
  return st;
}

class Folder {
 public:
  Folder(ir::Graph& g) : g_(g) {}
  // Returns true and sets the output constant when the node could be evaluated.
  bool fold(const ir::Node& n);
  std::map<std::string, int> folded;

 private:
  ir::Graph& g_;
  bool set_out(const ir::Node& n, CT c) {
    ir::Value& v = g_.value(n.outputs[0]);
    v.dtype = c.dt;
    v.shape = c.shape;
    v.dim_names.clear();
    v.shape_known = true;
    v.data = std::make_shared<std::vector<uint8_t>>(store(c));
    return true;
  }
  bool set_bytes(const ir::Node& n, DType dt, Dims shape, std::shared_ptr<std::vector<uint8_t>> data) {
    ir::Value& v = g_.value(n.outputs[0]);
    v.dtype = dt;
    v.shape = std::move(shape);
    v.dim_names.clear();
    v.shape_known = true;
    v.data = std::move(data);
    return true;
  }
  bool eval(const ir::Node& n);
};

bool Folder::fold(const ir::Node& n) {
  if (!n.domain.empty() || n.has("__unsupported_attr") || n.outputs.size() != 1 || n.outputs[0].empty()) {
    // Dropout/MaxPool with extra outputs and multi-output ops are left for other passes.
    return false;
  }
  if (g_.is_constant(n.outputs[0])) return false;
  const std::string& op = n.op;
  // Shape / Size of a statically known shape.
  if (op == "Shape" || op == "Size") {
    const ir::Value* x = g_.find(n.inputs.empty() ? "" : n.inputs[0]);
    if (!x || !x->shape_known || count(x->shape) < 0) return false;
    CT c;
    c.dt = DType::I64;
    if (op == "Size") {
      c.i = {count(x->shape)};
    } else {
      int64_t r = static_cast<int64_t>(x->shape.size());
      int64_t s = n.i("start", 0), e = n.i("end", r);
      if (s < 0) s += r;
      if (e < 0) e += r;
      s = std::clamp<int64_t>(s, 0, r);
      e = std::clamp<int64_t>(e, 0, r);
      for (int64_t k = s; k < e; ++k) c.i.push_back(x->shape[k]);
      c.shape = {static_cast<int64_t>(c.i.size())};
    }
    return set_out(n, c);
  }
  if (op == "ConstantOfShape") {
    IntsOperand sh = ints_operand(g_, n, 0, "shape");
    if (!sh.found || !sh.ok) return false;
    int64_t total = count(sh.v);
    if (total < 0 || total > kMaxFillElements) return false;
    DType dt = static_cast<DType>(n.i("dtype", static_cast<int64_t>(DType::F32)));
    if (!foldable_dtype(dt)) return false;
    CT one;
    one.dt = dt;
    one.resize(1);
    if (one.isf()) one.f[0] = n.f("value", 0.f);
    else one.i[0] = static_cast<int64_t>(n.f("value", 0.f));
    std::vector<uint8_t> elem = store(one);
    auto data = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(total) * elem.size());
    bool zero = std::all_of(elem.begin(), elem.end(), [](uint8_t b) { return b == 0; });
    if (!zero)
      for (int64_t k = 0; k < total; ++k) std::memcpy(data->data() + k * elem.size(), elem.data(), elem.size());
    return set_bytes(n, dt, sh.v, std::move(data));
  }
  // Everything else needs every (present) input constant.
  for (const auto& in : n.inputs)
    if (!in.empty() && !g_.is_constant(in)) return false;
  if (n.inputs.empty()) return false;
  // Pure reshapes share the input's bytes; the inferred output shape says everything.
  if (op == "Identity" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze" || op == "Flatten" ||
      op == "Dropout") {
    infer_node(g_, n);
    const ir::Value* x = g_.find(n.inputs[0]);
    const ir::Value& o = g_.values[n.outputs[0]];
    if (!o.shape_known || count(o.shape) < 0 || count(o.shape) != count(x->shape)) return false;
    return set_bytes(n, x->dtype, o.shape, x->data);
  }
  return eval(n);
}

bool Folder::eval(const ir::Node& n) {
  const std::string& op = n.op;
  std::vector<CT> in(n.inputs.size());
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    if (n.inputs[k].empty()) continue;
    if (!load(g_, n.inputs[k], &in[k])) return false;
    if (in[k].size() > kMaxGenericElements) return false;
  }
  infer_node(g_, n);
  const ir::Value& ov = g_.values[n.outputs[0]];
  DType out_dt = ov.dtype;
  CT out;
  out.dt = out_dt;
  static const std::set<std::string> bin = {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less",
                                            "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor",
                                            "Where", "Sum", "Max", "Min"};
  if (bin.count(op)) {
    if (op == "Where" && in.size() != 3) return false;
    if (op != "Where" && op != "Sum" && op != "Max" && op != "Min" && in.size() != 2) return false;
    return binary(op, n, in, out_dt, &out) && set_out(n, std::move(out));
  }
  static const std::set<std::string> un = {"Neg", "Abs", "Sqrt", "Floor", "Ceil", "Round", "Reciprocal", "Exp",
                                           "Log", "Relu", "Sigmoid", "Tanh", "Erf", "Sign", "Not"};
  if (un.count(op)) return unary(op, n, in[0], &out) && set_out(n, std::move(out));
  if (op == "Clip") {
    ir::Node c = n;
    std::vector<float> v;
    if (n.inputs.size() > 1 && !n.inputs[1].empty() && const_floats(g_, n.inputs[1], &v) && v.size() == 1) c.set_f("min", v[0]);
    if (n.inputs.size() > 2 && !n.inputs[2].empty() && const_floats(g_, n.inputs[2], &v) && v.size() == 1) c.set_f("max", v[0]);
    return unary("Clip", c, in[0], &out) && set_out(n, std::move(out));
  }
  if (op == "Cast") {
    const CT& x = in[0];
    out.shape = x.shape;
    out.resize(x.size());
    for (int64_t k = 0; k < x.size(); ++k) {
      if (out.isf()) out.f[k] = x.d(k);
      else if (out.dt == DType::BOOL) out.i[k] = x.d(k) != 0;
      else out.i[k] = x.isf() ? static_cast<int64_t>(std::trunc(x.d(k))) : x.n(k);
    }
    return set_out(n, std::move(out));
  }
  if (!ov.shape_known || count(ov.shape) < 0) return false;
  out.shape = ov.shape;
  const int64_t total = count(out.shape);
  if (total > kMaxGenericElements) return false;
  out.resize(total);
  if (op == "Expand" || op == "Tile") {
    const CT& x = in[0];
    Dims xs = x.shape;
    while (xs.size() < out.shape.size()) xs.insert(xs.begin(), 1);
    Dims xst = row_major_strides(xs), ost = row_major_strides(out.shape);
    for (int64_t o = 0; o < total; ++o) {
      int64_t rem = o, src = 0;
      for (size_t a = 0; a < out.shape.size(); ++a) {
        int64_t idx = rem / ost[a];
        rem %= ost[a];
        src += (xs[a] == 1 ? 0 : idx % xs[a]) * xst[a];
      }
      out.copy_from(x, src, o);
    }
    return set_out(n, std::move(out));
  }
  if (op == "Concat") {
    int64_t r = static_cast<int64_t>(out.shape.size());
    int64_t ax = norm_axis(n.i("axis", 0), r);
    if (ax < 0) return false;
    int64_t outer = 1, inner = 1;
    for (int64_t a = 0; a < ax; ++a) outer *= out.shape[a];
    for (int64_t a = ax + 1; a < r; ++a) inner *= out.shape[a];
    int64_t o = 0;
    for (int64_t b = 0; b < outer; ++b)
      for (const CT& x : in) {
        if (static_cast<int64_t>(x.shape.size()) != r) return false;
        int64_t chunk = x.shape[ax] * inner;
        for (int64_t k = 0; k < chunk; ++k) out.copy_from(x, b * chunk + k, o++);
      }
    return o == total && set_out(n, std::move(out));
  }
  if (op == "Gather") {
    const CT& x = in[0];
    const CT& idx = in[1];
    int64_t r = static_cast<int64_t>(x.shape.size());
    int64_t ax = norm_axis(n.i("axis", 0), r);
    if (ax < 0 || idx.isf()) return false;
    int64_t outer = 1, inner = 1, d = x.shape[ax];
    for (int64_t a = 0; a < ax; ++a) outer *= x.shape[a];
    for (int64_t a = ax + 1; a < r; ++a) inner *= x.shape[a];
    int64_t o = 0;
    for (int64_t b = 0; b < outer; ++b)
      for (int64_t j = 0; j < idx.size(); ++j) {
        int64_t p = idx.n(j);
        if (p < 0) p += d;
        if (p < 0 || p >= d) return false;
        for (int64_t k = 0; k < inner; ++k) out.copy_from(x, (b * d + p) * inner + k, o++);
      }
    return o == total && set_out(n, std::move(out));
  }
  if (op == "Transpose") {
    const CT& x = in[0];
    int64_t r = static_cast<int64_t>(x.shape.size());
    Dims perm = n.ints("perm");
    if (perm.empty()) for (int64_t a = r - 1; a >= 0; --a) perm.push_back(a);
    Dims xst = row_major_strides(x.shape), ost = row_major_strides(out.shape);
    for (int64_t o = 0; o < total; ++o) {
      int64_t rem = o, src = 0;
      for (int64_t a = 0; a < r; ++a) {
        src += rem / ost[a] * xst[perm[a]];
        rem %= ost[a];
      }
      out.copy_from(x, src, o);
    }
    return set_out(n, std::move(out));
  }
  if (op == "Slice") {
    const CT& x = in[0];
    int64_t r = static_cast<int64_t>(x.shape.size());
    IntsOperand st = ints_operand(g_, n, 1, "starts"), en = ints_operand(g_, n, 2, "ends"),
                axo = ints_operand(g_, n, 3, "axes"), sp = ints_operand(g_, n, 4, "steps");
    Dims start(r, 0), step(r, 1);
    Dims axes = axo.v;
    if (axes.empty()) for (size_t k = 0; k < st.v.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    for (size_t k = 0; k < axes.size(); ++k) {
      int64_t a = norm_axis(axes[k], r);
      if (a < 0) return false;
      int64_t d = x.shape[a], s = st.v[k], stp = sp.v.empty() ? 1 : sp.v[k];
      if (s < 0) s += d;
      s = stp > 0 ? std::clamp<int64_t>(s, 0, d) : std::clamp<int64_t>(s, 0, d - 1);
      start[a] = s;
      step[a] = stp;
    }
    Dims xst = row_major_strides(x.shape), ost = row_major_strides(out.shape);
    for (int64_t o = 0; o < total; ++o) {
      int64_t rem = o, src = 0;
      for (int64_t a = 0; a < r; ++a) {
        src += (start[a] + rem / ost[a] * step[a]) * xst[a];
        rem %= ost[a];
      }
      out.copy_from(x, src, o);
    }
    return set_out(n, std::move(out));
  }
  if (op == "Range") {
    if (in.size() != 3) return false;
    for (int64_t k = 0; k < total; ++k) {
      if (out.isf()) out.f[k] = in[0].d(0) + k * in[2].d(0);
      else  // modulo 2^64: exact for every element inside the range (k * delta alone may overflow)
        out.i[k] = static_cast<int64_t>(static_cast<uint64_t>(in[0].n(0)) +
                                        static_cast<uint64_t>(k) * static_cast<uint64_t>(in[2].n(0)));
    }
    return set_out(n, std::move(out));
  }
  return false;
}

// One element of an int64 shape vector computed at run time: a constant, or dimension `axis` of
// tensor `tensor` (named `dim_name` when symbolic).
struct SymDim {
  bool is_const = false;
  int64_t v = 0;
  std::string tensor;
  int64_t axis = 0;
  std::string dim_name;
};
using SymVec = std::vector<SymDim>;

// Follows Shape -> Gather/Slice/Unsqueeze/Squeeze/Concat/Cast chains element by element, then
// gives a Reshape whose shape input depends on symbolic dims a constant shape that copies those
// dims (0) from its input or infers one (-1). This is PyTorch's x.view(x.size(0), -1).
int resolve_symbolic_reshapes(ir::Graph& g) {
  std::map<std::string, SymVec> sym;
  auto get = [&](const std::string& name, SymVec* out) -> bool {
    auto it = sym.find(name);
    if (it != sym.end()) { *out = it->second; return true; }
    std::vector<int64_t> c;
    const ir::Value* v = g.find(name);
    if (!v || !v->is_constant() || v->shape.size() > 1 || !const_ints(g, name, &c)) return false;
    out->clear();
    for (int64_t x : c) { SymDim d; d.is_const = true; d.v = x; out->push_back(d); }
    return true;
  };
  int resolved = 0;
  for (ir::Node& n : g.nodes) {
    if (!n.domain.empty() || n.outputs.empty()) continue;
    infer_node(g, n);  // shapes downstream of an already resolved Reshape
    if (n.inputs.empty()) continue;  // every form below reads inputs[0] (a fuzzed Shape had none)
    const std::string& op = n.op;
    SymVec a, r;
    if (op == "Shape") {
      const ir::Value* x = g.find(n.inputs[0]);
      if (!x || !x->shape_known) continue;
      int64_t rank = static_cast<int64_t>(x->shape.size());
      int64_t st = n.i("start", 0), en = n.i("end", rank);
      if (st < 0) st += rank;
      if (en < 0) en += rank;
      st = std::clamp<int64_t>(st, 0, rank);
      en = std::clamp<int64_t>(en, 0, rank);
      for (int64_t k = st; k < en; ++k) {
        SymDim d;
        d.is_const = x->shape[k] >= 0;
        d.v = x->shape[k];
        d.tensor = n.inputs[0];
        d.axis = k;
        d.dim_name = k < static_cast<int64_t>(x->dim_names.size()) ? x->dim_names[k] : "";
        r.push_back(d);
      }
    } else if (op == "Gather" && n.inputs.size() == 2 && get(n.inputs[0], &a) && n.i("axis", 0) == 0) {
      std::vector<int64_t> idx;
      if (!const_ints(g, n.inputs[1], &idx)) continue;
      bool ok = true;
      for (int64_t i : idx) {
        if (i < 0) i += static_cast<int64_t>(a.size());
        if (i < 0 || i >= static_cast<int64_t>(a.size())) { ok = false; break; }
        r.push_back(a[i]);
      }
      if (!ok) continue;
    } else if ((op == "Unsqueeze" || op == "Squeeze" || op == "Cast" || op == "Identity") && get(n.inputs[0], &a)) {
      r = a;
    } else if (op == "Slice" && get(n.inputs[0], &a)) {
      IntsOperand st = ints_operand(g, n, 1, "starts"), en = ints_operand(g, n, 2, "ends"),
                  sp = ints_operand(g, n, 4, "steps");
      if (!st.ok || !en.ok || !sp.ok || st.v.size() != 1 || en.v.size() != 1) continue;
      if (!sp.v.empty() && sp.v[0] != 1) continue;
      int64_t len = static_cast<int64_t>(a.size()), b = st.v[0], e = en.v[0];
      if (b < 0) b += len;
      if (e < 0) e += len;
      b = std::clamp<int64_t>(b, 0, len);
      e = std::clamp<int64_t>(e, 0, len);
      for (int64_t k = b; k < e; ++k) r.push_back(a[k]);
    } else if (op == "Concat" && n.i("axis", 0) == 0) {
      bool ok = true;
      for (const auto& in : n.inputs) {
        if (!get(in, &a)) { ok = false; break; }
        r.insert(r.end(), a.begin(), a.end());
      }
      if (!ok) continue;
    } else if (op == "Reshape" && n.inputs.size() == 2 && !g.is_constant(n.inputs[1]) && get(n.inputs[1], &a)) {
      const ir::Value* x = g.find(n.inputs[0]);
      if (!x || !x->shape_known || n.i("allowzero", 0)) continue;
      std::vector<int64_t> shape;
      bool minus = false, ok = true;
      for (const SymDim& d : a) minus = minus || (d.is_const && d.v == -1);
      for (size_t k = 0; k < a.size() && ok; ++k) {
        const SymDim& d = a[k];
        bool same_dim = k < x->shape.size() &&
                        ((d.tensor == n.inputs[0] && d.axis == static_cast<int64_t>(k)) ||
                         (!d.dim_name.empty() && k < x->dim_names.size() && x->dim_names[k] == d.dim_name));
        if (d.is_const) shape.push_back(d.v);
        else if (same_dim) shape.push_back(0);
        else if (!minus) { shape.push_back(-1); minus = true; }
        else ok = false;
      }
      if (!ok) continue;
      std::vector<uint8_t> bytes(shape.size() * 8);
      std::memcpy(bytes.data(), shape.data(), bytes.size());
      n.inputs[1] = g.add_constant(n.inputs[1] + "__resolved", DType::I64, {static_cast<int64_t>(shape.size())},
                                   std::move(bytes));
      infer_node(g, n);
      ++resolved;
      continue;
    } else {
      continue;
    }
    if (op == "Gather" || op == "Unsqueeze" || op == "Squeeze") {
      const ir::Value* o = g.find(n.outputs[0]);
      if (o && o->shape_known && o->shape.size() > 1) continue;
    }
    sym[n.outputs[0]] = r;
  }
  return resolved;
}

}  // namespace

Status fold_constants(ir::Graph& g, std::vector<std::string>* notes) {
  Folder f(g);
  std::vector<ir::Node> kept;
  std::map<std::string, int> counts;
  int total = 0;
  for (ir::Node& n : g.nodes) {
    infer_node(g, n);
    if (f.fold(n)) {
      ++counts[n.op];
      ++total;
      continue;
    }
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
  int resolved = resolve_symbolic_reshapes(g);
  if (resolved && notes)
    notes->push_back("fold_constants: " + std::to_string(resolved) +
                     " Reshape(s) with run-time shapes of symbolic dims given constant shapes");
  if (total && notes) {
    std::string s = "fold_constants: folded " + std::to_string(total) + " node(s) (";
    bool first = true;
    for (auto& [op, c] : counts) {
      s += (first ? "" : ", ") + op + " " + std::to_string(c);
      first = false;
    }
    notes->push_back(s + ")");
  }
  return Status::Ok();
}

}  // namespace pocket::converter
