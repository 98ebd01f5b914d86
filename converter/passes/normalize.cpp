// The format's normalisations (format/OPS.md): operands that must be known ahead of time become
// attributes when constant, old-opset forms get opset-17 meaning, 1-D conv/pool is lifted to 2-D
// (H = 1). A shape operand computed from symbolic dims (Shape -> Gather -> Concat -> Reshape in a
// graph exported with dynamic axes) stays an input, which the engine evaluates at prepare
// ("Operands known at prepare"); one that depends on run-time data is reported, with the node
// name and the value it depends on, as unsupported.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "converter/passes/passes.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {

// Ops the engine can evaluate at prepare when their inputs are known (shape arithmetic).
static bool prepare_op(const std::string& op) {
  static const std::set<std::string> ops = {
      "Gather", "Concat", "Unsqueeze", "Squeeze", "Slice", "Cast", "Add", "Sub", "Mul", "Div", "Neg", "Abs",
      "Max", "Min", "Sum", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or",
      "Where", "Range", "ConstantOfShape", "Expand", "Tile", "Reshape", "Flatten", "Identity", "Transpose",
      "ReduceProd", "ReduceSum", "ReduceMax", "ReduceMin", "Floor", "Ceil", "Sqrt"};
  return ops.count(op) != 0;
}

bool prepare_computable(const ir::Graph& g, const std::string& value, std::string* why) {
  std::set<std::string> seen;
  std::vector<std::string> stack = {value};
  while (!stack.empty()) {
    const std::string v = stack.back();
    stack.pop_back();
    if (v.empty() || g.is_constant(v) || !seen.insert(v).second) continue;
    const int p = g.producer(v);
    if (p < 0) {
      if (why) *why = "graph input '" + v + "'";
      return false;
    }
    const ir::Node& n = g.nodes[static_cast<size_t>(p)];
    if (n.op == "Shape" || n.op == "Size") continue;  // reads only its input's shape
    if (!n.domain.empty() || !prepare_op(n.op)) {
      if (why) *why = n.op + " '" + n.name + "' computes '" + v + "' at run time";
      return false;
    }
    for (const std::string& in : n.inputs) stack.push_back(in);
  }
  return true;
}

namespace {

using Dims = std::vector<int64_t>;

class Normalizer {
 public:
  Normalizer(ir::Graph& g, std::vector<std::string>* notes) : g_(g), notes_(notes) {}
  Status run();

 private:
  ir::Graph& g_;
  std::vector<std::string>* notes_;
  std::vector<std::string> problems_;
  std::vector<ir::Node> out_;  // rebuilt node list
  int lifted_ = 0, softmax_reshaped_ = 0, moved_ = 0, kept_ = 0;

  // Moves input k into attribute `attr` (ints or floats). False (and a problem) if not constant.
  bool take_ints(ir::Node& n, size_t k, const std::string& attr, bool required);
  bool take_float(ir::Node& n, size_t k, const std::string& attr);
  // A non-constant operand stays input k when the engine can compute it at prepare; else a problem.
  bool keep_operand(ir::Node& n, size_t k, const std::string& what) {
    std::string why;
    if (prepare_computable(g_, n.inputs[k], &why)) {
      ++kept_;
      return true;
    }
    problem(n, "operand '" + what + "' ('" + n.inputs[k] + "') depends on run-time data (" + why +
                   "); Pocket needs it at prepare");
    return false;
  }
  // Moves a constant scalar operand into an int attribute, keeps a prepare-computable one.
  bool take_int(ir::Node& n, size_t k, const std::string& attr) {
    if (k >= n.inputs.size() || n.inputs[k].empty()) return true;
    Dims v;
    if (!const_ints(g_, n.inputs[k], &v)) return keep_operand(n, k, attr);
    if (v.size() != 1) {
      problem(n, "operand '" + attr + "' ('" + n.inputs[k] + "') is not a scalar");
      return false;
    }
    n.set_i(attr, v[0]);
    n.inputs[k].clear();
    ++moved_;
    return true;
  }
  void trim_inputs(ir::Node& n, size_t keep) {
    if (n.inputs.size() > keep) n.inputs.resize(keep);
  }
  void problem(const ir::Node& n, const std::string& why) {
    problems_.push_back(n.op + " '" + n.name + "' (opset " + std::to_string(g_.opset) + "): " + why);
  }
  const ir::Value* val(const std::string& name) const { return g_.find(name); }
  int64_t rank_of(const std::string& name) const {
    const ir::Value* v = val(name);
    return v && v->shape_known ? static_cast<int64_t>(v->shape.size()) : -1;
  }
  std::string new_value(const std::string& base, const ir::Value& like) {
    std::string name = g_.unique_name(base);
    ir::Value v = like;
    v.name = name;
    v.data = nullptr;
    g_.values[name] = v;
    return name;
  }
  void emit(ir::Node n) {
    infer_node(g_, n);
    out_.push_back(std::move(n));
  }

  void node(ir::Node n);
  void resize_operands(ir::Node& n);
  void old_broadcast(ir::Node& n);
  void old_prelu(ir::Node& n);
  void softmax(ir::Node n);
  void lift_1d(ir::Node n);
};

bool Normalizer::take_ints(ir::Node& n, size_t k, const std::string& attr, bool required) {
  if (k >= n.inputs.size() || n.inputs[k].empty()) {
    if (required && !n.has(attr)) {
      problem(n, "input " + std::to_string(k) + " (" + attr + ") is missing");
      return false;
    }
    return true;
  }
  Dims v;
  if (!const_ints(g_, n.inputs[k], &v)) return keep_operand(n, k, attr);
  n.set_ints(attr, v);
  n.inputs[k].clear();
  ++moved_;
  return true;
}

bool Normalizer::take_float(ir::Node& n, size_t k, const std::string& attr) {
  if (k >= n.inputs.size() || n.inputs[k].empty()) return true;
  std::vector<float> v;
  if (!const_floats(g_, n.inputs[k], &v)) return keep_operand(n, k, attr);
  if (v.size() != 1) {
    problem(n, "operand '" + attr + "' ('" + n.inputs[k] + "') is not a scalar");
    return false;
  }
  n.set_f(attr, v[0]);
  n.inputs[k].clear();
  ++moved_;
  return true;
}

// Opset < 7 Add/Sub/Mul/Div with broadcast=1, axis=a: B aligns with A starting at axis a. Give B
// trailing ones so numpy broadcasting means the same.
void Normalizer::old_broadcast(ir::Node& n) {
  if (g_.opset >= 7 || !n.has("broadcast")) return;
  int64_t ra = rank_of(n.inputs[0]), rb = rank_of(n.inputs[1]);
  n.attrs.erase("broadcast");
  if (!n.has("axis")) return;
  int64_t axis = n.i("axis", 0);
  n.attrs.erase("axis");
  if (ra < 0 || rb < 0) {
    problem(n, "legacy broadcast with axis needs known ranks");
    return;
  }
  if (axis < 0) axis += ra;
  int64_t trailing = ra - axis - rb;
  if (trailing <= 0) return;
  const ir::Value& b = *val(n.inputs[1]);
  Dims shape = b.shape;
  shape.insert(shape.end(), trailing, 1);
  if (b.is_constant()) {
    std::string c = g_.unique_name(n.inputs[1] + "__bcast");
    ir::Value v = b;
    v.name = c;
    v.shape = shape;
    g_.values[c] = v;
    n.inputs[1] = c;
    return;
  }
  ir::Node r;
  r.op = "Reshape";
  r.name = n.name + "__bcast";
  r.inputs = {n.inputs[1]};
  r.set_ints("shape", shape);
  std::string out = new_value(n.inputs[1] + "__bcast", b);
  r.outputs = {out};
  n.inputs[1] = out;
  emit(std::move(r));
}

// Opset < 7 PRelu: a [C] slope applies per channel (axis 1), not along the last axis.
void Normalizer::old_prelu(ir::Node& n) {
  if (g_.opset >= 7 || n.inputs.size() != 2) return;
  const ir::Value* x = val(n.inputs[0]);
  const ir::Value* s = val(n.inputs[1]);
  if (!x || !s || !x->shape_known || !s->shape_known || x->shape.size() < 3 || s->shape.size() != 1) return;
  if (s->shape[0] == 1 || s->shape[0] != x->shape[1]) return;
  Dims shape(x->shape.size() - 1, 1);
  shape[0] = s->shape[0];
  if (s->is_constant()) {
    std::string c = g_.unique_name(n.inputs[1] + "__per_channel");
    ir::Value v = *s;
    v.name = c;
    v.shape = shape;
    g_.values[c] = v;
    n.inputs[1] = c;
    return;
  }
  ir::Node r;
  r.op = "Reshape";
  r.name = n.name + "__per_channel";
  r.inputs = {n.inputs[1]};
  r.set_ints("shape", shape);
  std::string out = new_value(n.inputs[1] + "__per_channel", *s);
  r.outputs = {out};
  n.inputs[1] = out;
  emit(std::move(r));
}

void Normalizer::resize_operands(ir::Node& n) {
  const bool upsample = n.op == "Upsample";
  std::string mode = n.s("mode", "nearest");
  if (mode == "bilinear" || mode == "trilinear") mode = "linear";
  if (upsample || g_.opset < 11) {
    // Upsample (opset 7-9) and Resize-10: scales only, asymmetric coordinates, floor rounding.
    if (!n.has("scales")) {
      std::vector<float> s;
      if (n.inputs.size() < 2 || !const_floats(g_, n.inputs[1], &s)) {
        problem(n, "scales are not a constant");
        return;
      }
      n.set_floats("scales", s);
    }
    n.set_s("coordinate_transformation_mode", "asymmetric");
    n.set_s("nearest_mode", "floor");
    trim_inputs(n, 1);
  } else {
    // Resize 11+: X, roi, scales, sizes.
    std::vector<float> s;
    Dims sizes;
    if (n.inputs.size() > 3 && !n.inputs[3].empty()) {
      if (!const_ints(g_, n.inputs[3], &sizes)) return problem(n, "sizes are not a constant");
    }
    if (sizes.empty() && n.inputs.size() > 2 && !n.inputs[2].empty()) {
      if (!const_floats(g_, n.inputs[2], &s)) return problem(n, "scales are not a constant");
    }
    if (n.s("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize")
      return problem(n, "coordinate_transformation_mode tf_crop_and_resize is not supported");
    if (!sizes.empty()) n.set_ints("sizes", sizes);
    else if (!s.empty()) n.set_floats("scales", s);
    else return problem(n, "has neither scales nor sizes");
    trim_inputs(n, 1);
  }
  n.op = "Resize";
  n.set_s("mode", mode);
  if (mode == "cubic") problem(n, "cubic interpolation is not supported");
}

void Normalizer::softmax(ir::Node n) {
  int64_t r = rank_of(n.inputs[0]);
  int64_t axis = n.i("axis", g_.opset < 13 ? 1 : -1);
  if (g_.opset >= 13 || r < 0) {
    if (g_.opset < 13 && r < 0) problem(n, "opset < 13 softmax needs a known input rank");
    return emit(std::move(n));
  }
  axis = norm_axis(axis, r);
  if (axis < 0) {
    problem(n, "axis out of range");
    return emit(std::move(n));
  }
  if (axis == r - 1) {
    n.set_i("axis", -1);
    return emit(std::move(n));
  }
  // Opset < 13: normalise over the flattened dims [axis, r): Reshape to 2-D, Softmax(axis=1), back.
  const ir::Value& x = *val(n.inputs[0]);
  int64_t inner = 1;
  for (int64_t k = axis; k < r; ++k) inner = x.shape[k] < 0 || inner < 0 ? -1 : inner * x.shape[k];
  int symbolic = 0;
  for (int64_t d : x.shape) symbolic += d < 0;
  if (inner < 0 || symbolic > 1) {
    problem(n, "opset < 13 softmax over dims with symbolic sizes");
    return emit(std::move(n));
  }
  Dims back = x.shape;  // at most one -1, inferred by Reshape
  ir::Node r1, r2;
  r1.op = "Reshape";
  r1.name = n.name + "__2d";
  r1.inputs = {n.inputs[0]};
  r1.set_ints("shape", {-1, inner});
  ir::Value flat = x;
  flat.shape = {x.elements() < 0 ? -1 : x.elements() / inner, inner};
  flat.dim_names.clear();
  if (flat.shape[0] < 0) flat.dim_names = {"", ""};
  std::string flat_name = new_value(n.inputs[0] + "__2d", flat);
  r1.outputs = {flat_name};
  std::string out = n.outputs[0];
  std::string soft_name = new_value(out + "__2d", flat);
  n.inputs = {flat_name};
  n.outputs = {soft_name};
  n.set_i("axis", 1);
  r2.op = "Reshape";
  r2.name = n.name + "__nd";
  r2.inputs = {soft_name};
  r2.set_ints("shape", back);
  r2.outputs = {out};
  ++softmax_reshaped_;
  emit(std::move(r1));
  emit(std::move(n));
  emit(std::move(r2));
}

// [N, C, L] conv/pool -> Unsqueeze(axis 2) -> 2-D op with H = 1 -> Squeeze(axis 2).
void Normalizer::lift_1d(ir::Node n) {
  auto extend = [&](const std::string& a, int64_t pre) {
    if (!n.has(a)) return;
    Dims v = n.ints(a);
    if (a == "pads" && v.size() == 2) v = {0, v[0], 0, v[1]};
    else if (v.size() == 1) v.insert(v.begin(), pre);
    n.set_ints(a, v);
  };
  extend("kernel_shape", 1);
  extend("strides", 1);
  extend("dilations", 1);
  extend("pads", 0);
  extend("output_padding", 0);
  extend("output_shape", 1);
  if (n.op == "Conv" || n.op == "ConvTranspose") {
    const ir::Value* w = n.inputs.size() > 1 ? val(n.inputs[1]) : nullptr;
    if (!w || !w->is_constant() || w->shape.size() != 3) {
      problem(n, "1-D convolution weights must be a constant of rank 3");
      return emit(std::move(n));
    }
    Dims ws = w->shape;
    ws.insert(ws.begin() + 2, 1);
    std::string wname = g_.unique_name(n.inputs[1] + "__2d");
    ir::Value w2 = *w;
    w2.name = wname;
    w2.shape = ws;
    g_.values[wname] = w2;
    n.inputs[1] = wname;
  }
  const ir::Value& x = *val(n.inputs[0]);
  ir::Value x4 = x;
  x4.shape.insert(x4.shape.begin() + 2, 1);
  if (!x4.dim_names.empty()) x4.dim_names.insert(x4.dim_names.begin() + 2, "");
  ir::Node u;
  u.op = "Unsqueeze";
  u.name = n.name + "__lift";
  u.inputs = {n.inputs[0]};
  u.set_ints("axes", {2});
  u.outputs = {new_value(n.inputs[0] + "__4d", x4)};
  std::string out = n.outputs[0];
  const ir::Value* ov = val(out);
  ir::Value o4 = ov ? *ov : x4;
  std::string o4name = new_value(out + "__4d", o4);
  n.inputs[0] = u.outputs[0];
  n.outputs = {o4name};
  ir::Node s;
  s.op = "Squeeze";
  s.name = n.name + "__unlift";
  s.inputs = {o4name};
  s.set_ints("axes", {2});
  s.outputs = {out};
  ++lifted_;
  emit(std::move(u));
  emit(std::move(n));
  emit(std::move(s));
}

void Normalizer::node(ir::Node n) {
  if (!n.domain.empty()) return emit(std::move(n));
  const std::string& op = n.op;
  const int64_t opset = g_.opset;

  // Operands kept as inputs (computed at prepare) stay at their ONNX positions; inputs past them
  // are dropped, omitted ones in between are "" (-1 in the file).
  if (op == "Reshape") {
    if (opset >= 5) take_ints(n, 1, "shape", true);
    trim_inputs(n, 2);
  } else if (op == "Slice") {
    if (opset >= 10) {
      take_ints(n, 1, "starts", true);
      take_ints(n, 2, "ends", true);
      take_ints(n, 3, "axes", false);
      take_ints(n, 4, "steps", false);
    }
    trim_inputs(n, opset >= 10 ? 5 : 1);
  } else if (op == "Pad") {
    if (opset >= 11) {
      take_ints(n, 1, "pads", true);
      take_float(n, 2, "value");
      if (n.inputs.size() > 3 && !n.inputs[3].empty()) problem(n, "the axes input is not supported");
    } else if (n.has("paddings") && !n.has("pads")) {
      n.set_ints("pads", n.ints("paddings"));
      n.attrs.erase("paddings");
    }
    if (!n.has("mode")) n.set_s("mode", "constant");
    if (n.s("mode", "") == "wrap") problem(n, "mode 'wrap' is not supported");
    trim_inputs(n, opset >= 11 ? 3 : 1);
  } else if (op == "Split") {
    if (opset >= 13) take_ints(n, 1, "split", false);
    trim_inputs(n, opset >= 13 ? 2 : 1);
  } else if (op == "Squeeze" || op == "Unsqueeze") {
    if (opset >= 13) take_ints(n, 1, "axes", op == "Unsqueeze");
    trim_inputs(n, opset >= 13 ? 2 : 1);
  } else if (op == "Range") {
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (!n.inputs[k].empty() && !g_.is_constant(n.inputs[k])) keep_operand(n, k, k == 0 ? "start" : k == 1 ? "limit" : "delta");
  } else if (op == "Trilu") {
    take_int(n, 1, "k");
    trim_inputs(n, 2);
  } else if (op.rfind("Reduce", 0) == 0) {
    if (op == "ReduceSum" && opset >= 13) take_ints(n, 1, "axes", false);
    trim_inputs(n, 1);
  } else if (op == "Clip") {
    if (opset >= 11) {
      take_float(n, 1, "min");
      take_float(n, 2, "max");
    }
    trim_inputs(n, 1);
  } else if (op == "Tile") {
    take_ints(n, 1, "repeats", true);
    trim_inputs(n, 2);
  } else if (op == "Expand") {
    take_ints(n, 1, "shape", true);
    trim_inputs(n, 2);
  } else if (op == "ConstantOfShape") {
    take_ints(n, 0, "shape", true);
    if (!n.has("dtype")) n.set_i("dtype", static_cast<int64_t>(ir::DType::F32));
    if (!n.has("value")) n.set_f("value", 0.f);
    trim_inputs(n, 1);
  } else if (op == "Resize" || op == "Upsample") {
    resize_operands(n);
  } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    old_broadcast(n);
  } else if (op == "PRelu") {
    old_prelu(n);
  } else if (op == "Softmax" || op == "LogSoftmax") {
    return softmax(std::move(n));
  } else if (op == "MaxPool" && n.outputs.size() > 1) {
    const std::string& idx = n.outputs[1];
    if (!idx.empty() && (!g_.consumers(idx).empty() || g_.is_output(idx)))
      problem(n, "the Indices output is used");
    else
      n.outputs.resize(1);
  }
  // Drop trailing omitted optional inputs so arity matches OPS.md.
  while (!n.inputs.empty() && n.inputs.back().empty()) n.inputs.pop_back();

  static const std::set<std::string> spatial = {"Conv", "ConvTranspose", "MaxPool", "AveragePool",
                                                "GlobalAveragePool", "GlobalMaxPool", "LRN"};
  if (spatial.count(op) && !n.inputs.empty() && rank_of(n.inputs[0]) == 3 && n.s("layout", "") != "NHWC")
    return lift_1d(std::move(n));
  emit(std::move(n));
}

Status Normalizer::run() {
  // The original nodes stay in the graph while it is rebuilt, for producer/consumer look-ups.
  std::vector<ir::Node> nodes = g_.nodes;
  for (ir::Node& n : nodes) node(std::move(n));
  g_.nodes = std::move(out_);
  if (!problems_.empty()) {
    std::string msg = std::to_string(problems_.size()) + " node(s) cannot be normalised to the .pocket form:";
    for (const auto& p : problems_) msg += (&p == &problems_.front() ? " " : "; ") + p;
    return unsupported(msg);
  }
  if (notes_) {
    if (moved_) notes_->push_back("normalize: moved " + std::to_string(moved_) + " constant operand(s) into attributes");
    if (kept_)
      notes_->push_back("normalize: kept " + std::to_string(kept_) +
                        " shape operand(s) computed from symbolic dims as inputs (evaluated once at prepare)");
    if (lifted_) notes_->push_back("normalize: lifted " + std::to_string(lifted_) + " 1-D conv/pool node(s) to 2-D");
    if (softmax_reshaped_)
      notes_->push_back("normalize: rewrote " + std::to_string(softmax_reshaped_) + " opset<13 softmax node(s) as Reshape/Softmax/Reshape");
  }
  return Status::Ok();
}

}  // namespace

Status normalize(ir::Graph& g, std::vector<std::string>* notes) { return Normalizer(g, notes).run(); }

}  // namespace pocket::converter
