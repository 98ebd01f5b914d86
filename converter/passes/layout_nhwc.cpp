// Channels-last conversion. One forward sweep in topological order tracks, for every logical
// (ONNX-layout) value, the value that physically holds it and the permutation relating the two
// (physical = transpose(logical, perm)):
//  - Conv/ConvTranspose/pools/LRN take their data input as NHWC and produce NHWC;
//  - layout-agnostic ops (elementwise, Concat, Pad, Reduce*, Resize, Slice, Softmax, Split, ...)
//    run on the permuted data directly, with axes/pads/scales remapped and constant operands
//    permuted, so the permutation flows through them;
//  - the model's own Transposes only change the tracked permutation (so inverse pairs cancel);
//  - everything else (Flatten, Reshape, Gemm, MatMul, graph outputs, ...) gets its input back in
//    the logical layout through one Transpose, or a Reshape when only size-1 dims move.
// This is the fixed point of sinking every Transpose as far as it goes and cancelling inverse
// pairs, reached in one linear pass instead of by repeated rewriting.
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "converter/passes/passes.h"

namespace pocket::converter {
namespace {

using Perm = std::vector<int64_t>;
using Shape = std::vector<int64_t>;

const Perm kToNhwc = {0, 2, 3, 1};

bool onnx_domain(const ir::Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

bool is_identity(const Perm& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int64_t>(i)) return false;
  return true;
}

bool same_perm(const Perm& a, const Perm& b) {
  if (is_identity(a) && is_identity(b)) return true;
  return a == b;
}

Perm identity(size_t rank) {
  Perm p(rank);
  for (size_t i = 0; i < rank; ++i) p[i] = static_cast<int64_t>(i);
  return p;
}

Perm inverse(const Perm& p) {
  Perm q(p.size());
  for (size_t i = 0; i < p.size(); ++i) q[p[i]] = static_cast<int64_t>(i);
  return q;
}

bool valid_perm(const Perm& p, size_t rank) {
  if (p.size() != rank) return false;
  std::vector<bool> seen(rank, false);
  for (int64_t v : p) {
    if (v < 0 || v >= static_cast<int64_t>(rank) || seen[v]) return false;
    seen[v] = true;
  }
  return true;
}

template <class T>
std::vector<T> permuted(const std::vector<T>& v, const Perm& p) {
  if (v.empty()) return v;
  std::vector<T> out(p.size());
  for (size_t j = 0; j < p.size(); ++j) out[j] = v[p[j]];
  return out;
}

std::optional<int64_t> normalize_axis(int64_t a, size_t rank) {
  int64_t r = static_cast<int64_t>(rank);
  if (a < 0) a += r;
  if (a < 0 || a >= r) return std::nullopt;
  return a;
}

// The permutation left after removing the logical axes in `gone` (Reduce keepdims=0, Squeeze).
Perm restrict_perm(const Perm& p, const std::set<int64_t>& gone) {
  Perm out;
  for (int64_t a : p) {
    if (gone.count(a)) continue;
    int64_t below = 0;
    for (int64_t s : gone) below += s < a;
    out.push_back(a - below);
  }
  return out;
}

std::string perm_key(const Perm& p) {
  std::string k;
  for (int64_t v : p) k += std::to_string(v) + ",";
  return k;
}

size_t element_size(ir::DType t) {
  switch (t) {
    case ir::DType::F32: case ir::DType::I32: return 4;
    case ir::DType::F16: case ir::DType::BF16: return 2;
    case ir::DType::I64: case ir::DType::F64: return 8;
    case ir::DType::I8: case ir::DType::U8: case ir::DType::BOOL: return 1;
    default: return 0;
  }
}

// out = transpose(src, x): out shape[j] = shape[x[j]].
std::vector<uint8_t> transpose_bytes(const std::vector<uint8_t>& src, const Shape& shape, const Perm& x,
                                     size_t esize) {
  size_t rank = shape.size();
  std::vector<int64_t> src_stride(rank, 1);
  for (size_t d = rank; d-- > 1;) src_stride[d - 1] = src_stride[d] * shape[d];
  Shape out_shape = permuted(shape, x);
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  std::vector<uint8_t> out(static_cast<size_t>(total) * esize);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t o = 0; o < total; ++o) {
    int64_t s = 0;
    for (size_t j = 0; j < rank; ++j) s += idx[j] * src_stride[x[j]];
    std::memcpy(out.data() + o * esize, src.data() + s * esize, esize);
    for (size_t j = rank; j-- > 0;) {
      if (++idx[j] < out_shape[j]) break;
      idx[j] = 0;
    }
  }
  return out;
}

// The non-unit dims of `shape` keep their order under x: the Transpose is a Reshape.
bool moves_only_unit_dims(const Shape& shape, const Perm& x) {
  int64_t last = -1;
  for (int64_t s : x) {
    if (shape[s] == 1) continue;
    if (s < last) return false;
    last = s;
  }
  return true;
}

// Reshape's shape attribute producing `target` from a tensor whose dim j moves to x^-1(j).
std::optional<Shape> reshape_spec(const Shape& target, const Perm& x) {
  Shape spec(target.size());
  bool inferred = false;
  for (size_t k = 0; k < target.size(); ++k) {
    if (target[k] > 0) spec[k] = target[k];
    else if (target[k] == 0) return std::nullopt;
    else if (x[k] == static_cast<int64_t>(k)) spec[k] = 0;  // copy the same (symbolic) input dim
    else if (!inferred) spec[k] = -1, inferred = true;
    else return std::nullopt;
  }
  return spec;
}

bool is_layout_op(const std::string& op) {
  static const std::set<std::string> ops = {"Conv", "ConvTranspose", "MaxPool", "AveragePool",
                                            "GlobalAveragePool", "GlobalMaxPool", "LRN"};
  return ops.count(op) != 0;
}

bool is_unary(const std::string& op) {
  static const std::set<std::string> ops = {
      "Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
      "Softplus", "Softsign", "Clip", "Exp", "Log", "Sqrt", "Neg", "Abs", "Erf", "Reciprocal",
      "Floor", "Ceil", "SiLU", "Cast", "Identity", "Not", "Sign", "Round", "Gelu",
      "QuantizeLinear", "DequantizeLinear"};  // Q/DQ: per-tensor activations, layout-agnostic
  return ops.count(op) != 0;
}

bool is_elementwise(const std::string& op) {
  static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Pow", "Sum",
                                            "Max", "Min", "PRelu", "Mean"};
  return ops.count(op) != 0;
}

bool is_reduce(const std::string& op) {
  static const std::set<std::string> ops = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
                                            "ReduceProd", "ReduceL2", "ReduceL1", "ReduceLogSumExp",
                                            "ReduceSumSquare"};
  return ops.count(op) != 0;
}

struct Placement {
  std::string phys;  // the value holding the data
  Perm perm;         // phys = transpose(logical, perm); empty or identity: same layout
};

struct Logical {
  Shape shape;
  std::vector<std::string> dim_names;
};

class LayoutPass {
 public:
  explicit LayoutPass(ir::Graph& g) : g_(g) {
    for (const auto& [name, v] : g.values) logical_[name] = {v.shape, v.dim_names};
    used_.insert(g.outputs.begin(), g.outputs.end());
    for (const ir::Node& n : g.nodes) used_.insert(n.inputs.begin(), n.inputs.end());
  }

  Status run() {
    for (const ir::Node& n : g_.nodes)
      for (const auto* names : {&n.inputs, &n.outputs})
        for (const auto& v : *names)
          if (!v.empty() && used_.count(v) && !shape_of(v))
            return invalid_model("convert_to_nhwc: value '" + v + "' of node '" + n.name +
                                 "' has no known shape");
    std::vector<ir::Node> nodes = std::move(g_.nodes);
    g_.nodes.clear();
    for (ir::Node& n : nodes)
      if (!onnx_domain(n) || !handle(n)) keep_logical(n);
    std::unordered_map<std::string, std::string> renamed;
    for (const std::string& o : g_.outputs) {
      Placement p = place(o);
      if (p.phys == o && is_identity(p.perm)) continue;
      std::string have = materialize(o, {});
      if (have == o) continue;
      if (auto it = renamed.find(have); it != renamed.end()) have = it->second;
      // The model's Transposes cancelled out: the producer writes the output directly.
      if (!g_.is_constant(have) && !g_.is_output(have) &&
          std::find(g_.inputs.begin(), g_.inputs.end(), have) == g_.inputs.end()) {
        int prod = g_.producer(have);
        if (prod >= 0) {
          for (auto& out : g_.nodes[prod].outputs)
            if (out == have) out = o;
          g_.replace_uses(have, o);
          g_.values[o].shape = g_.values[have].shape;
          g_.values[o].dim_names = g_.values[have].dim_names;
          g_.values.erase(have);
          renamed[have] = o;
          continue;
        }
      }
      ir::Node id;
      id.op = "Identity";
      id.name = o;
      id.inputs = {have};
      id.outputs = {o};
      g_.nodes.push_back(std::move(id));
    }
    if (!g_.topo_sort()) return internal_error("convert_to_nhwc: graph has a cycle");
    g_.remove_dead();
    return Status::Ok();
  }

  int converted = 0, transposes = 0, reshapes = 0;

 private:
  const Shape* shape_of(const std::string& v) const {
    auto it = logical_.find(v);
    const ir::Value* val = g_.find(v);
    if (it == logical_.end() || !val || !val->shape_known) return nullptr;
    return &it->second.shape;
  }
  size_t rank(const std::string& v) const { return logical_.at(v).shape.size(); }

  Placement place(const std::string& v) const {
    auto it = placed_.find(v);
    if (it != placed_.end()) return it->second;
    return {v, {}};
  }

  bool is_const(const std::string& v) const { return g_.is_constant(place(v).phys); }

  bool unit_elements(const std::string& v) const {
    const Shape& s = logical_.at(v).shape;
    for (int64_t d : s)
      if (d != 1) return false;
    return true;
  }

  ir::Value& new_value(const std::string& name, const ir::Value& like, const Shape& shape,
                       const std::vector<std::string>& dim_names) {
    ir::Value& v = g_.value(name);
    v.name = name;
    v.dtype = like.dtype;
    v.has_quant = like.has_quant;  // an int8 value keeps its quantization in any layout
    v.quant = like.quant;
    v.shape = shape;
    v.dim_names = dim_names;
    v.shape_known = true;
    v.data.reset();
    return v;
  }

  // The name of a value holding logical value v in layout `target` (empty = logical), adding a
  // Transpose/Reshape node (or a permuted constant) the first time.
  std::string materialize(const std::string& v, Perm target) {
    Placement p = place(v);
    if (same_perm(p.perm, target)) return p.phys;
    size_t r = rank(v);
    if (target.empty()) target = identity(r);
    std::string key = v + "|" + perm_key(target);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    Perm a = p.perm.empty() ? identity(r) : p.perm;
    Perm ainv = inverse(a);
    Perm x(r);
    for (size_t j = 0; j < r; ++j) x[j] = ainv[target[j]];
    const Logical& lg = logical_.at(v);
    Shape out_shape = permuted(lg.shape, target);
    std::vector<std::string> out_names = permuted(lg.dim_names, target);
    const ir::Value src = *g_.find(p.phys);
    // A logical value nobody produces any more (a folded Transpose, a renamed graph output)
    // gets its own name back.
    std::string name;
    if (is_identity(target) && p.phys != v && !g_.find(v)->is_constant()) name = v;
    else name = g_.unique_name(v + (target == kToNhwc ? "_nhwc" : is_identity(target) ? "_nchw" : "_perm"));
    cache_[key] = name;
    size_t esize = element_size(src.dtype);
    if (src.is_constant() && esize) {
      ir::Value& c = new_value(name, src, out_shape, out_names);
      c.data = std::make_shared<std::vector<uint8_t>>(transpose_bytes(*src.data, src.shape, x, esize));
      if (c.has_quant && c.quant.axis >= 0)  // output dim j is source dim x[j]
        for (size_t j = 0; j < x.size(); ++j)
          if (x[j] == c.quant.axis) {
            c.quant.axis = static_cast<int32_t>(j);
            break;
          }
      return name;
    }
    new_value(name, src, out_shape, out_names);
    ir::Node t;
    t.name = name;
    t.inputs = {p.phys};
    t.outputs = {name};
    std::optional<Shape> spec;
    if (moves_only_unit_dims(src.shape, x)) spec = reshape_spec(out_shape, x);
    if (spec) {
      t.op = "Reshape";
      t.set_ints("shape", *spec);
      ++reshapes;
    } else {
      t.op = "Transpose";
      t.set_ints("perm", x);
      ++transposes;
    }
    g_.nodes.push_back(std::move(t));
    return name;
  }

  // A constant operand of an op running in layout `perm` (rank R): broadcast to rank R, permuted.
  std::string constant_in(const std::string& v, const Perm& perm) {
    std::string key = v + "|bc|" + perm_key(perm);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    std::string logical = materialize(v, {});
    const ir::Value src = *g_.find(logical);
    Shape full(perm.size() - src.shape.size(), 1);
    full.insert(full.end(), src.shape.begin(), src.shape.end());
    Shape out_shape = permuted(full, perm);
    std::vector<uint8_t> bytes = transpose_bytes(*src.data, full, perm, element_size(src.dtype));
    std::string name = g_.add_constant(logical + "_nhwc", src.dtype, out_shape, std::move(bytes));
    if (src.has_quant) {
      ir::Value& c = g_.value(name);
      c.has_quant = true;
      c.quant = src.quant;
      if (src.quant.axis >= 0) {
        const int64_t a = src.quant.axis + static_cast<int64_t>(perm.size() - src.shape.size());
        for (size_t j = 0; j < perm.size(); ++j)
          if (perm[j] == a) c.quant.axis = static_cast<int32_t>(j);
      }
    }
    cache_[key] = name;
    return name;
  }

  // Output k of node n holds its logical value in layout perm.
  void set_output(ir::Node& n, size_t k, const Perm& perm) {
    const std::string o = n.outputs[k];
    if (o.empty()) return;
    if (is_identity(perm)) {
      placed_[o] = {o, {}};
      return;
    }
    if (!shape_of(o)) return;  // unread output of unknown shape
    const Logical& lg = logical_.at(o);
    std::string phys = g_.is_output(o) ? g_.unique_name(o + "_nhwc") : o;
    ir::Value like = *g_.find(o);
    new_value(phys, like, permuted(lg.shape, perm), permuted(lg.dim_names, perm));
    n.outputs[k] = phys;
    placed_[o] = {phys, perm};
  }

  void emit(ir::Node n) { g_.nodes.push_back(std::move(n)); }

  // Fallback: the node sees and produces logical layouts.
  void keep_logical(ir::Node& n) {
    for (auto& i : n.inputs)
      if (!i.empty()) i = materialize(i, {});
    emit(std::move(n));
  }

  bool only_data_input(const ir::Node& n) const {
    for (size_t k = 1; k < n.inputs.size(); ++k)
      if (!n.inputs[k].empty()) return false;
    return !n.inputs.empty() && !n.inputs[0].empty();
  }

  // The common layout of an elementwise/Concat node's inputs, or nullopt to stay logical.
  std::optional<Perm> common_layout(const ir::Node& n, size_t out_rank, bool broadcast) const {
    std::optional<Perm> chosen;
    int with = 0, without = 0;
    for (const auto& i : n.inputs) {
      if (i.empty()) continue;
      size_t r = rank(i);
      if (r > out_rank) return std::nullopt;
      if (broadcast && unit_elements(i)) continue;
      if (is_const(i)) continue;
      if (r != out_rank) return std::nullopt;
      Perm p = place(i).perm;
      if (is_identity(p)) {
        ++without;
        continue;
      }
      if (chosen && *chosen != p) return std::nullopt;
      chosen = p;
      ++with;
    }
    // A tie keeps the conv layout (the next conv would need it back), but not other layouts:
    // moving a model's own Transpose onto the other operand would only add one.
    if (!chosen || with < without || (with == without && *chosen != kToNhwc)) return std::nullopt;
    return chosen;
  }

  // Rewrites n to run on permuted data and emits it; false to fall back to the logical layout.
  bool handle(ir::Node& n) {
    const std::string& op = n.op;
    if (is_layout_op(op)) return handle_layout_op(n);
    if (op == "Transpose") return handle_transpose(n);
    if (is_elementwise(op) || op == "Concat") return handle_elementwise(n);
    if (n.inputs.empty() || n.inputs[0].empty()) return false;
    Perm p = place(n.inputs[0]).perm;
    if (is_identity(p)) return false;
    size_t r = p.size();
    Perm pinv = inverse(p);
    if (is_unary(op)) {
      for (size_t k = 1; k < n.inputs.size(); ++k)
        if (!n.inputs[k].empty() && !unit_elements(n.inputs[k])) return false;
      for (size_t k = 1; k < n.inputs.size(); ++k)
        if (!n.inputs[k].empty()) n.inputs[k] = place(n.inputs[k]).phys;
      return finish(n, {p});
    }
    if (!only_data_input(n)) return false;  // operands not yet attributes: stay logical
    if (op == "Reshape") return handle_reshape(n, p);
    if (op == "Pad") {
      Shape pads = n.ints("pads");
      if (pads.size() != 2 * r) return false;
      Shape q(2 * r);
      for (size_t j = 0; j < r; ++j) q[j] = pads[p[j]], q[r + j] = pads[r + p[j]];
      n.set_ints("pads", q);
      return finish(n, {p});
    }
    if (op == "Softmax" || op == "LogSoftmax") {
      auto a = normalize_axis(n.i("axis", -1), r);
      if (!a) return false;
      n.set_i("axis", pinv[*a]);
      return finish(n, {p});
    }
    if (op == "Split") {
      auto a = normalize_axis(n.i("axis", 0), r);
      if (!a) return false;
      n.set_i("axis", pinv[*a]);
      return finish(n, std::vector<Perm>(n.outputs.size(), p));
    }
    if (op == "Slice") {
      Shape starts = n.ints("starts");
      Shape axes = n.ints("axes");
      if (starts.empty() || n.ints("ends").size() != starts.size()) return false;
      if (axes.empty()) axes = identity(starts.size());
      if (axes.size() != starts.size()) return false;
      for (auto& a : axes) {
        auto na = normalize_axis(a, r);
        if (!na) return false;
        a = pinv[*na];
      }
      n.set_ints("axes", axes);
      return finish(n, {p});
    }
    if (op == "Resize") {
      if (n.has("axes") || n.has("roi") ||
          n.s("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize")
        return false;
      std::vector<float> scales = n.floats("scales");
      Shape sizes = n.ints("sizes");
      if ((!scales.empty() && scales.size() != r) || (!sizes.empty() && sizes.size() != r)) return false;
      if (scales.empty() && sizes.empty()) return false;
      if (!scales.empty()) n.set_floats("scales", permuted(scales, p));
      if (!sizes.empty()) n.set_ints("sizes", permuted(sizes, p));
      return finish(n, {p});
    }
    if (is_reduce(op) || op == "ArgMax" || op == "ArgMin") return handle_reduce(n, p);
    if (op == "Unsqueeze") return handle_unsqueeze(n, p);
    if (op == "Squeeze") {
      Shape axes = n.ints("axes");
      std::set<int64_t> gone;
      if (axes.empty()) {
        const Shape& s = logical_.at(n.inputs[0]).shape;
        for (size_t d = 0; d < s.size(); ++d) {
          if (s[d] < 0) return false;
          if (s[d] == 1) gone.insert(static_cast<int64_t>(d));
        }
      } else {
        for (int64_t a : axes) {
          auto na = normalize_axis(a, r);
          if (!na) return false;
          gone.insert(*na);
        }
      }
      Shape phys_axes;
      for (int64_t a : gone) phys_axes.push_back(pinv[a]);
      std::sort(phys_axes.begin(), phys_axes.end());
      n.set_ints("axes", phys_axes);
      return finish(n, {restrict_perm(p, gone)});
    }
    return false;
  }

  // New unit axes go where the consumer wants them when possible (a lifted 1-D conv reads
  // [N, L, C] + unit H as NHWC), else at the same positions as in the logical output.
  bool handle_unsqueeze(ir::Node& n, const Perm& p) {
    size_t r = p.size(), ro = rank(n.outputs[0]);
    Shape axes = n.ints("axes");
    if (axes.empty() || ro != r + axes.size()) return false;
    std::set<int64_t> added;
    for (int64_t a : axes) {
      auto na = normalize_axis(a, ro);
      if (!na) return false;
      added.insert(*na);
    }
    if (added.size() != axes.size()) return false;
    Perm out_to_in(ro, -1), in_to_out(r);
    for (size_t o = 0, k = 0; o < ro; ++o)
      if (!added.count(static_cast<int64_t>(o))) out_to_in[o] = static_cast<int64_t>(k), in_to_out[k++] = o;
    // Physical axes to insert so that the output holds layout q, if q keeps the input's order.
    auto physical_axes = [&](const Perm& q) -> std::optional<Shape> {
      Shape pa;
      size_t i = 0;
      for (size_t j = 0; j < ro; ++j) {
        if (added.count(q[j])) pa.push_back(static_cast<int64_t>(j));
        else if (i >= r || out_to_in[q[j]] != p[i++]) return std::nullopt;
      }
      return pa;
    };
    Perm same(ro);
    for (size_t j = 0, i = 0; j < ro; ++j)
      same[j] = added.count(static_cast<int64_t>(j)) ? static_cast<int64_t>(j) : in_to_out[p[i++]];
    std::vector<Perm> candidates;
    if (ro == 4) candidates.push_back(kToNhwc);
    candidates.push_back(same);
    for (const Perm& q : candidates)
      if (auto pa = physical_axes(q)) {
        n.set_ints("axes", *pa);
        return finish(n, {q});
      }
    return false;
  }

  // A Reshape of permuted data stays permuted when every run of logical dims it merges or splits
  // is contiguous and in order in the physical layout: it then reshapes the physical data, and
  // its output's layout follows the runs' physical order (a channel split [N,C,H,W] ->
  // [N,g,C/g,H,W] of NHWC data is [N,H,W,g,C/g]). When the runs are out of order but putting
  // them in order makes the output channels-last again (the merge after a channel shuffle), the
  // input gets that layout through one Transpose (there [N,H,W,C/g,g] -> [N,H,W,g,C/g]).
  bool handle_reshape(ir::Node& n, const Perm& p) {
    if (n.outputs.size() != 1 || !shape_of(n.outputs[0])) return false;
    const Shape& in = logical_.at(n.inputs[0]).shape;
    const Shape& out = logical_.at(n.outputs[0]).shape;
    auto groups = reshape_groups(in, out);
    if (!groups) return false;
    std::string src = place(n.inputs[0]).phys;
    std::optional<Perm> q = reshape_layout(*groups, in, out, p);
    if (!q) {
      Perm t = grouped_layout(*groups, in, p);
      q = reshape_layout(*groups, in, out, t);
      if (!q || *q != kToNhwc || is_identity(t)) return false;
      src = materialize(n.inputs[0], t);
    }
    n.set_ints("shape", permuted(out, *q));
    n.attrs.erase("allowzero");
    n.inputs[0] = src;
    set_output(n, 0, *q);
    emit(std::move(n));
    return true;
  }

  struct DimGroup {
    Perm in, out;  // logical dims of the input and of the output, ascending
    bool unit = true;  // all dims 1
  };

  // Splits a static reshape into minimal runs of input and output dims with equal products.
  static std::optional<std::vector<DimGroup>> reshape_groups(const Shape& in, const Shape& out) {
    for (const Shape* s : {&in, &out})
      for (int64_t d : *s)
        if (d <= 0) return std::nullopt;
    std::vector<DimGroup> groups;
    size_t i = 0, o = 0;
    while (i < in.size() || o < out.size()) {
      DimGroup gr;
      int64_t pi = 1, po = 1;
      if (i < in.size()) pi *= in[i], gr.in.push_back(static_cast<int64_t>(i++));
      if (o < out.size()) po *= out[o], gr.out.push_back(static_cast<int64_t>(o++));
      while (pi != po) {
        if (pi < po) {
          if (i >= in.size()) return std::nullopt;
          pi *= in[i], gr.in.push_back(static_cast<int64_t>(i++));
        } else {
          if (o >= out.size()) return std::nullopt;
          po *= out[o], gr.out.push_back(static_cast<int64_t>(o++));
        }
      }
      gr.unit = pi == 1;
      groups.push_back(std::move(gr));
    }
    return groups;
  }

  // Inserts the unit dims `units` (ascending) into `order`, each before the first larger entry.
  static Perm with_units(Perm order, const Perm& units) {
    for (int64_t u : units) {
      auto at = std::find_if(order.begin(), order.end(), [u](int64_t v) { return v > u; });
      order.insert(at, u);
    }
    return order;
  }

  // The output layout when the input, in layout p, is reshaped as it lies; nullopt when a
  // group's non-unit dims are not contiguous and ascending in p.
  static std::optional<Perm> reshape_layout(const std::vector<DimGroup>& groups, const Shape& in,
                                            const Shape& out, const Perm& p) {
    std::vector<int> group_of(in.size(), -1);
    for (size_t k = 0; k < groups.size(); ++k)
      for (int64_t d : groups[k].in) group_of[d] = static_cast<int>(k);
    std::vector<bool> seen(groups.size(), false);
    int current = -1;
    int64_t last = -1;
    Perm order, units;
    for (int64_t d : p) {
      if (in[d] == 1) continue;
      int k = group_of[d];
      if (k != current) {
        if (seen[k]) return std::nullopt;
        seen[k] = true, current = k, last = -1;
        for (int64_t od : groups[k].out) order.push_back(od);
      }
      if (d < last) return std::nullopt;
      last = d;
    }
    for (const DimGroup& gr : groups)
      if (gr.unit) units.insert(units.end(), gr.out.begin(), gr.out.end());
    std::sort(units.begin(), units.end());
    // Unit dims may sit anywhere: channels-last when that fits, else near their logical place.
    if (out.size() == 4) {
      Perm nonunit;
      for (int64_t d : kToNhwc)
        if (out[d] != 1) nonunit.push_back(d);
      Perm have;
      for (int64_t d : order)
        if (out[d] != 1) have.push_back(d);
      if (have == nonunit) return kToNhwc;
    }
    return with_units(std::move(order), units);
  }

  // p with each group's dims gathered, in ascending order, where the group first appears.
  static Perm grouped_layout(const std::vector<DimGroup>& groups, const Shape& in, const Perm& p) {
    std::vector<int> group_of(in.size(), -1);
    for (size_t k = 0; k < groups.size(); ++k)
      for (int64_t d : groups[k].in) group_of[d] = static_cast<int>(k);
    std::vector<bool> seen(groups.size(), false);
    Perm order, units;
    for (int64_t d : p) {
      int k = group_of[d];
      if (groups[k].unit) continue;
      if (seen[k]) continue;
      seen[k] = true;
      order.insert(order.end(), groups[k].in.begin(), groups[k].in.end());
    }
    for (const DimGroup& gr : groups)
      if (gr.unit) units.insert(units.end(), gr.in.begin(), gr.in.end());
    std::sort(units.begin(), units.end());
    return with_units(std::move(order), units);
  }

  bool handle_reduce(ir::Node& n, const Perm& p) {
    size_t r = p.size();
    Perm pinv = inverse(p);
    bool keep = n.i("keepdims", 1) != 0;
    std::set<int64_t> gone;
    if (n.op == "ArgMax" || n.op == "ArgMin") {
      auto a = normalize_axis(n.i("axis", 0), r);
      if (!a) return false;
      n.set_i("axis", pinv[*a]);
      gone.insert(*a);
    } else if (!n.has("axes") || n.ints("axes").empty()) {
      if (n.i("noop_with_empty_axes", 0) != 0) return finish(n, {p});
      for (size_t d = 0; d < r; ++d) gone.insert(static_cast<int64_t>(d));
    } else {
      Shape phys_axes;
      for (int64_t a : n.ints("axes")) {
        auto na = normalize_axis(a, r);
        if (!na) return false;
        gone.insert(*na);
        phys_axes.push_back(pinv[*na]);
      }
      std::sort(phys_axes.begin(), phys_axes.end());
      n.set_ints("axes", phys_axes);
    }
    return finish(n, {keep ? p : restrict_perm(p, gone)});
  }

  // Emits n reading its first input's physical value, its outputs in the given layouts.
  bool finish(ir::Node& n, const std::vector<Perm>& out_perms) {
    n.inputs[0] = place(n.inputs[0]).phys;
    for (size_t k = 0; k < n.outputs.size() && k < out_perms.size(); ++k) set_output(n, k, out_perms[k]);
    emit(std::move(n));
    return true;
  }

  bool handle_layout_op(ir::Node& n) {
    if (n.s("layout", "NCHW") == "NHWC" || n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty())
      return false;
    if (rank(n.inputs[0]) != 4 || rank(n.outputs[0]) != 4) return false;
    for (size_t k = 1; k < n.outputs.size(); ++k)  // MaxPool's Indices output
      if (!n.outputs[k].empty() && used_.count(n.outputs[k])) return false;
    n.outputs.resize(1);
    n.inputs[0] = materialize(n.inputs[0], kToNhwc);
    // Conv's residual input R (index 3) is shaped like the output: channels-last too.
    for (size_t k = 1; k < n.inputs.size(); ++k)
      if (!n.inputs[k].empty())
        n.inputs[k] = materialize(n.inputs[k], n.op == "Conv" && k == 3 ? kToNhwc : Perm{});
    n.set_s("layout", "NHWC");
    set_output(n, 0, kToNhwc);
    emit(std::move(n));
    ++converted;
    return true;
  }

  // The model's own Transpose: no node, only a new placement of the same data.
  bool handle_transpose(ir::Node& n) {
    if (n.inputs.size() != 1 || n.outputs.size() != 1 || n.inputs[0].empty()) return false;
    size_t r = rank(n.inputs[0]);
    Perm q = n.ints("perm");
    if (q.empty()) {
      for (size_t i = 0; i < r; ++i) q.push_back(static_cast<int64_t>(r - 1 - i));
    }
    if (!valid_perm(q, r) || rank(n.outputs[0]) != r) return false;
    Placement in = place(n.inputs[0]);
    Perm a = in.perm.empty() ? identity(r) : in.perm;
    Perm qinv = inverse(q);
    Perm out(r);
    for (size_t j = 0; j < r; ++j) out[j] = qinv[a[j]];
    placed_[n.outputs[0]] = {in.phys, is_identity(out) ? Perm{} : out};
    return true;
  }

  bool handle_elementwise(ir::Node& n) {
    if (n.outputs.size() != 1) return false;
    size_t r = rank(n.outputs[0]);
    bool concat = n.op == "Concat";
    std::optional<Perm> p = common_layout(n, r, !concat);
    if (!p) return false;
    if (concat) {
      auto a = normalize_axis(n.i("axis", 0), r);
      if (!a) return false;
      for (const auto& i : n.inputs)
        if (!i.empty() && rank(i) != r) return false;
      n.set_i("axis", inverse(*p)[*a]);
    }
    for (auto& i : n.inputs) {
      if (i.empty()) continue;
      if (!concat && unit_elements(i)) i = place(i).phys;
      else if (is_const(i)) i = constant_in(i, *p);
      else i = materialize(i, *p);
    }
    set_output(n, 0, *p);
    emit(std::move(n));
    return true;
  }

  ir::Graph& g_;
  std::unordered_map<std::string, Logical> logical_;
  std::unordered_map<std::string, Placement> placed_;
  std::unordered_map<std::string, std::string> cache_;
  std::set<std::string> used_;  // values some node or the graph output reads
};

}  // namespace

Status convert_to_nhwc(ir::Graph& g, std::vector<std::string>* notes) {
  LayoutPass pass(g);
  POCKET_RETURN_IF_ERROR(pass.run());
  if (notes && pass.converted)
    notes->push_back("convert_to_nhwc: " + std::to_string(pass.converted) +
                     " conv/pool ops channels-last; " + std::to_string(pass.transposes) +
                     " Transpose and " + std::to_string(pass.reshapes) +
                     " Reshape nodes at layout boundaries");
  return Status::Ok();
}

}  // namespace pocket::converter
