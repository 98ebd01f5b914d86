// ONNX ModelProto -> IR. Initializers and Constant nodes become constant values, value_info and
// graph input/output types seed shapes (after ONNX's own shape inference), Cast/ConstantOfShape
// dtypes become format DType values. Nodes of other domains are kept as they are: the support
// check reports them all at once.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "converter/convert.h"
#include "converter/onnx/onnx_types.h"
#include "converter/passes/passes.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {

namespace {

// ONNX 1.12's data propagation (the second inference pass) reads the type of a Shape or Size
// node's input without checking it exists: when the plain pass left that input untyped (its
// producer's inference failed, e.g. a Reshape to a hostile shape, or a custom op), libonnx
// dereferences null (a fuzz_onnx finding). Run after the plain pass; "" when every such input is
// typed (a graph input, an initializer or an inferred value_info), else which one is not.
std::string onnx_data_propagation_hazard(const onnx::ModelProto& m) {
  const onnx::GraphProto& gp = m.graph();
  std::set<std::string> typed;
  for (const auto& t : gp.initializer()) typed.insert(t.name());
  for (const auto* list : {&gp.input(), &gp.value_info()})
    for (const auto& vi : *list)
      if (vi.type().has_tensor_type()) typed.insert(vi.name());
  for (const auto& n : gp.node())
    if ((n.op_type() == "Shape" || n.op_type() == "Size") && n.domain().empty() &&
        (n.input_size() < 1 || !typed.count(n.input(0))))
      return n.op_type() + " '" + n.name() + "' reads " + (n.input_size() < 1 ? "no input" : "'" + n.input(0) + "'") +
             ", whose type is unknown";
  return "";
}

// ONNX 1.12's own shape inference trusts declared types: a hostile file that declares one name
// with two ranks (a graph output named like an input, a value_info) or gives a Conv/pool node
// window attributes of the wrong length for its input crashes inside libonnx
// (convPoolShapeInference, a fuzz_onnx finding). Returns "" when the model is safe to hand to it,
// else why it is not (the importer then skips it: its results are only hints).
std::string onnx_inference_hazard(const onnx::ModelProto& m) {
  const onnx::GraphProto& gp = m.graph();
  std::map<std::string, int> rank;
  std::string bad;
  auto declare = [&](const std::string& name, int r) {
    auto [it, fresh] = rank.emplace(name, r);
    if (!fresh && it->second != r && bad.empty()) bad = "'" + name + "' is declared with ranks " + std::to_string(it->second) + " and " + std::to_string(r);
  };
  auto declare_vi = [&](const onnx::ValueInfoProto& vi) {
    if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape())
      declare(vi.name(), vi.type().tensor_type().shape().dim_size());
  };
  for (const auto& t : gp.initializer()) declare(t.name(), t.dims_size());
  for (const auto& vi : gp.input()) declare_vi(vi);
  for (const auto& vi : gp.value_info()) declare_vi(vi);
  for (const auto& vi : gp.output()) declare_vi(vi);
  if (!bad.empty()) return bad;
  static const std::set<std::string> windowed = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool",
                                                 "AveragePool", "LpPool", "MaxUnpool", "MaxRoiPool"};
  for (const auto& n : gp.node()) {
    if (!windowed.count(n.op_type())) continue;
    // libonnx divides by strides and multiplies by dilations unchecked (a zero stride: SIGFPE),
    // whether or not the input's rank is declared.
    for (const auto& a : n.attribute())
      if (a.name() == "strides" || a.name() == "dilations" || a.name() == "kernel_shape")
        for (int64_t v : a.ints())
          if (v <= 0) return n.op_type() + " '" + n.name() + "' attribute " + a.name() + " holds " + std::to_string(v);
    const int in = 0;  // the data input of every windowed op
    if (n.input_size() <= in) continue;
    auto it = rank.find(n.input(in));
    if (it == rank.end()) continue;
    const int spatial = it->second - 2;
    if (spatial < 1) return n.op_type() + " '" + n.name() + "' reads a rank-" + std::to_string(it->second) + " input";
    for (const auto& a : n.attribute()) {
      const int want = a.name() == "pads" ? 2 * spatial
                       : (a.name() == "kernel_shape" || a.name() == "strides" || a.name() == "dilations" ||
                          a.name() == "output_padding" || a.name() == "output_shape")
                           ? spatial
                           : -1;
      if (want >= 0 && a.ints_size() != want)
        return n.op_type() + " '" + n.name() + "' attribute " + a.name() + " has " + std::to_string(a.ints_size()) +
               " values for " + std::to_string(spatial) + " spatial dims";

    }
    if (n.input_size() > 1 && (n.op_type() == "Conv" || n.op_type() == "ConvTranspose")) {
      auto w = rank.find(n.input(1));
      if (w != rank.end() && w->second != it->second)
        return n.op_type() + " '" + n.name() + "' has a rank-" + std::to_string(w->second) + " weight for a rank-" +
               std::to_string(it->second) + " input";
    }
  }
  return "";
}

constexpr int64_t kMinOpset = 6, kMaxOpset = 17;

struct Importer {
  ir::Graph* g;
  std::string base_dir;  // for external data; empty when importing bytes
  std::vector<std::string> notes;
  bool converted_f16 = false;

  Status tensor_to_value(const onnx::TensorProto& t, const std::string& name);
  Status import_attr(const onnx::NodeProto& np, const onnx::AttributeProto& a, ir::Node* n);
  void import_type(const onnx::ValueInfoProto& vi);
  Status import_graph(onnx::ModelProto& m);
  Status read_external(const onnx::TensorProto& t, std::string* bytes);
};

Status Importer::read_external(const onnx::TensorProto& t, std::string* bytes) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = std::stoll(kv.value());
    else if (kv.key() == "length") length = std::stoll(kv.value());
  }
  if (base_dir.empty())
    return unsupported("tensor '" + t.name() + "' uses external data, which needs the model file path");
  if (location.empty() || location.find("..") != std::string::npos || location[0] == '/')
    return invalid_model("tensor '" + t.name() + "' has an invalid external data location '" + location + "'");
  std::string path = (std::filesystem::path(base_dir) / location).string();
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open external data file '" + path + "' of tensor '" + t.name() + "'");
  f.seekg(0, std::ios::end);
  int64_t size = f.tellg();
  if (length < 0) length = size - offset;
  if (offset < 0 || offset > size || length > size - offset)
    return invalid_model("external data of tensor '" + t.name() + "' lies outside '" + path + "'");
  bytes->resize(static_cast<size_t>(length));
  f.seekg(offset);
  f.read(bytes->data(), length);
  if (!f) return io_error("cannot read external data of tensor '" + t.name() + "' from '" + path + "'");
  return Status::Ok();
}

Status Importer::tensor_to_value(const onnx::TensorProto& t, const std::string& name) {
  ir::Value& v = g->value(name);
  v.name = name;
  v.shape.assign(t.dims().begin(), t.dims().end());
  v.dim_names.clear();
  v.shape_known = true;
  for (int64_t d : v.shape)
    if (d < 0) return invalid_model("constant '" + name + "' has a negative dimension");
  int64_t count = 1;
  for (int64_t d : v.shape) {
    if (d != 0 && count > (int64_t(1) << 40) / d)
      return invalid_model("constant '" + name + "' is too large");
    count *= d;
  }
  std::string external;
  const std::string* raw = nullptr;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    POCKET_RETURN_IF_ERROR(read_external(t, &external));
    raw = &external;
  } else if (t.has_raw_data()) {
    raw = &t.raw_data();
  }
  auto r = onnx_tensor_data(t, raw, count, &v.dtype);
  if (!r.ok()) return Status(r.status().code(), "constant '" + name + "': " + r.status().message());
  if (t.data_type() == onnx::TensorProto::FLOAT16) converted_f16 = true;
  v.data = std::make_shared<std::vector<uint8_t>>(std::move(r.value()));
  return Status::Ok();
}

Status Importer::import_attr(const onnx::NodeProto& np, const onnx::AttributeProto& a, ir::Node* n) {
  switch (a.type()) {
    case onnx::AttributeProto::INT: n->set_i(a.name(), a.i()); break;
    case onnx::AttributeProto::FLOAT: n->set_f(a.name(), a.f()); break;
    case onnx::AttributeProto::STRING: n->set_s(a.name(), a.s()); break;
    case onnx::AttributeProto::INTS: n->set_ints(a.name(), {a.ints().begin(), a.ints().end()}); break;
    case onnx::AttributeProto::FLOATS: n->set_floats(a.name(), {a.floats().begin(), a.floats().end()}); break;
    case onnx::AttributeProto::TENSOR: {
      // ConstantOfShape's value: a one-element tensor -> value (float) + dtype (DType).
      std::string tmp = g->unique_name(n->name + "__" + a.name());
      POCKET_RETURN_IF_ERROR(tensor_to_value(a.t(), tmp));
      ir::Value v = g->values[tmp];
      g->values.erase(tmp);
      if (np.op_type() == "ConstantOfShape" && a.name() == "value") {
        std::vector<float> f;
        ir::Graph one;
        one.values[tmp] = v;
        const_floats(one, tmp, &f);
        if (f.size() != 1) return invalid_model(node_label(*n) + " has a value attribute with " + std::to_string(f.size()) + " elements (needs 1)");
        n->set_f("value", f[0]);
        n->set_i("dtype", static_cast<int64_t>(v.dtype));
      } else {
        n->set_s("__unsupported_attr", a.name() + " (tensor)");
      }
      break;
    }
    default:
      // Graphs (If/Loop/Scan bodies), sparse tensors, type protos: the op is reported unsupported.
      n->set_s("__unsupported_attr", a.name());
      break;
  }
  return Status::Ok();
}

void Importer::import_type(const onnx::ValueInfoProto& vi) {
  if (vi.name().empty() || !vi.has_type() || !vi.type().has_tensor_type()) return;
  ir::Value& v = g->value(vi.name());
  if (v.is_constant()) return;
  v.name = vi.name();
  const auto& tt = vi.type().tensor_type();
  ir::DType d;
  if (onnx_dtype(tt.elem_type(), &d)) {
    v.dtype = d;
    if (tt.elem_type() == onnx::TensorProto::FLOAT16) converted_f16 = true;
  }
  if (!tt.has_shape()) return;
  v.shape.clear();
  v.dim_names.clear();
  bool symbolic = false;
  std::vector<std::string> names;
  for (const auto& dim : tt.shape().dim()) {
    if (dim.has_dim_value() && dim.dim_value() >= 0) {
      v.shape.push_back(dim.dim_value());
      names.emplace_back();
    } else {
      v.shape.push_back(-1);
      names.push_back(dim.has_dim_param() ? dim.dim_param() : "");
      symbolic = true;
    }
  }
  if (symbolic) v.dim_names = std::move(names);
  v.shape_known = true;
}

Status Importer::import_graph(onnx::ModelProto& m) {
  g->opset = 0;
  for (const auto& op : m.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") g->opset = op.version();
  if (g->opset == 0) g->opset = m.ir_version() >= 3 ? 0 : 1;
  if (g->opset < kMinOpset || g->opset > kMaxOpset)
    return unsupported("ONNX opset " + std::to_string(g->opset) + " is not supported (supported: " +
                       std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset) + ")");

  // ONNX's own shape inference seeds value_info; failures only lose information.
  if (const std::string hazard = onnx_inference_hazard(m); !hazard.empty()) {
    notes.push_back("ONNX shape inference skipped (" + hazard + ")");
  } else {
    // Two passes: plain inference, then (when safe) again with data propagation, which works out
    // shape values computed by Shape -> Gather -> Concat chains.
    try {
      onnx::ShapeInferenceOptions plain{/*check_type=*/false, /*error_mode=*/0, /*enable_data_propagation=*/false};
      onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), plain);
      if (const std::string dp = onnx_data_propagation_hazard(m); !dp.empty()) {
        notes.push_back("ONNX data propagation skipped (" + dp + ")");
      } else {
        onnx::ShapeInferenceOptions opts{/*check_type=*/false, /*error_mode=*/0, /*enable_data_propagation=*/true};
        onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), opts);
      }
    } catch (const std::exception& e) {
      notes.push_back(std::string("ONNX shape inference stopped early: ") + e.what());
    }
  }

  const onnx::GraphProto& gp = m.graph();
  std::set<std::string> initializers;
  for (const auto& t : gp.initializer()) {
    if (t.name().empty()) return invalid_model("an initializer has no name");
    POCKET_RETURN_IF_ERROR(tensor_to_value(t, t.name()));
    initializers.insert(t.name());
  }
  if (gp.sparse_initializer_size() > 0) return unsupported("sparse initializers are not supported");
  for (const auto& vi : gp.input()) {
    if (initializers.count(vi.name())) continue;  // old models list initializers as inputs
    import_type(vi);
    g->inputs.push_back(vi.name());
  }
  for (const auto& vi : gp.value_info()) import_type(vi);
  for (const auto& vi : gp.output()) import_type(vi);

  std::set<std::string> used_names;
  int index = 0;
  for (const auto& np : gp.node()) {
    ++index;
    ir::Node n;
    n.op = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.name = np.name();
    if (n.name.empty() || used_names.count(n.name)) n.name = n.op + "_" + std::to_string(index);
    used_names.insert(n.name);
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    // The counts ONNX's schema allows at this opset (the passes index inputs and outputs by
    // position: a DequantizeLinear without an output reached fold_qdq, a fuzz_onnx finding).
    // Ops without a schema are reported as unsupported later.
    if (n.domain.empty()) {
      if (const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(n.op, g->opset, "")) {
        auto range = [](int lo, int hi) {
          return hi == std::numeric_limits<int>::max() ? std::to_string(lo) + " or more"
                 : lo == hi                            ? std::to_string(lo)
                                                       : std::to_string(lo) + " to " + std::to_string(hi);
        };
        if (np.input_size() < schema->min_input() || np.input_size() > schema->max_input())
          return invalid_model(node_label(n) + " has " + std::to_string(np.input_size()) + " inputs; ONNX opset " +
                               std::to_string(g->opset) + " " + n.op + " takes " +
                               range(schema->min_input(), schema->max_input()));
        if (np.output_size() < schema->min_output() || np.output_size() > schema->max_output())
          return invalid_model(node_label(n) + " has " + std::to_string(np.output_size()) + " outputs; ONNX opset " +
                               std::to_string(g->opset) + " " + n.op + " gives " +
                               range(schema->min_output(), schema->max_output()));
      }
    }
    for (const auto& a : np.attribute()) POCKET_RETURN_IF_ERROR(import_attr(np, a, &n));

    if (n.domain.empty() && n.op == "Constant") {
      if (np.output_size() != 1) return invalid_model(node_label(n) + " must have one output");
      const std::string& out = np.output(0);
      bool done = false;
      for (const auto& a : np.attribute()) {
        if (a.name() == "value") {
          POCKET_RETURN_IF_ERROR(tensor_to_value(a.t(), out));
          done = true;
        } else if (a.name() == "value_float" || a.name() == "value_floats") {
          std::vector<float> f = a.name() == "value_float" ? std::vector<float>{a.f()}
                                                           : std::vector<float>(a.floats().begin(), a.floats().end());
          std::vector<uint8_t> bytes(f.size() * 4);
          std::memcpy(bytes.data(), f.data(), bytes.size());
          std::vector<int64_t> shape;
          if (a.name() == "value_floats") shape = {static_cast<int64_t>(f.size())};
          g->values.erase(out);
          g->add_constant(out, ir::DType::F32, shape, std::move(bytes));
          done = true;
        } else if (a.name() == "value_int" || a.name() == "value_ints") {
          std::vector<int64_t> iv = a.name() == "value_int" ? std::vector<int64_t>{a.i()}
                                                            : std::vector<int64_t>(a.ints().begin(), a.ints().end());
          std::vector<uint8_t> bytes(iv.size() * 8);
          std::memcpy(bytes.data(), iv.data(), bytes.size());
          std::vector<int64_t> shape;
          if (a.name() == "value_ints") shape = {static_cast<int64_t>(iv.size())};
          g->values.erase(out);
          g->add_constant(out, ir::DType::I64, shape, std::move(bytes));
          done = true;
        }
      }
      if (!done) {
        n.set_s("__unsupported_attr", "Constant without value/value_float(s)/value_int(s)");
        g->nodes.push_back(std::move(n));
      }
      continue;
    }
    if (n.domain.empty() && n.op == "Cast" && n.has("to")) {
      ir::DType d;
      int64_t to = n.i("to", 0);
      if (!onnx_dtype(static_cast<int>(to), &d)) n.set_s("__unsupported_attr", "to=" + onnx_dtype_name(static_cast<int>(to)));
      else n.set_i("to", static_cast<int64_t>(d));
      if (to == onnx::TensorProto::FLOAT16) converted_f16 = true;
    }
    for (const auto& in : n.inputs)
      if (!in.empty() && !g->values.count(in))
        return invalid_model(node_label(n) + " reads '" + in + "', which no node, input or initializer defines");
    for (const auto& out : n.outputs)
      if (!out.empty()) g->value(out).name = out;
    g->nodes.push_back(std::move(n));
  }
  for (const auto& vi : gp.output()) {
    if (!g->values.count(vi.name())) return invalid_model("graph output '" + vi.name() + "' is never produced");
    g->outputs.push_back(vi.name());
  }
  // Empty optional outputs ("") are not values.
  g->values.erase("");
  if (converted_f16) notes.push_back("float16 tensors are stored and computed as float32");
  if (!g->topo_sort()) return invalid_model("the ONNX graph has a cycle");
  return Status::Ok();
}

Status parse_model(const void* data, size_t size, onnx::ModelProto* m) {
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()))
    return unsupported("ONNX files larger than 2 GiB must keep their weights as external data");
  google::protobuf::io::ArrayInputStream ais(data, static_cast<int>(size));
  google::protobuf::io::CodedInputStream cis(&ais);
  cis.SetTotalBytesLimit(std::numeric_limits<int>::max());
  if (!m->ParseFromCodedStream(&cis) || !cis.ConsumedEntireMessage())
    return invalid_model("not a valid ONNX model (protobuf parse failed)");
  if (!m->has_graph()) return invalid_model("the ONNX model has no graph");
  return Status::Ok();
}

Status import_model(onnx::ModelProto& m, const std::string& base_dir, ir::Graph* graph,
                    std::vector<std::string>* notes) {
  *graph = ir::Graph();
  Importer imp{graph, base_dir, {}};
  Status st;
  try {
    st = imp.import_graph(m);
  } catch (const std::exception& e) {
    st = invalid_model(std::string("ONNX import failed: ") + e.what());
  }
  if (!st.ok()) return st;
  if (notes) notes->insert(notes->end(), imp.notes.begin(), imp.notes.end());
  return infer_shapes(*graph);
}



}  // namespace

Status import_onnx_bytes(const void* data, size_t size, ir::Graph* graph) {
  return import_onnx_bytes(data, size, graph, nullptr);
}
Status import_onnx_file(const std::string& path, ir::Graph* graph) {
  return import_onnx_file(path, graph, nullptr);
}

Status import_onnx_bytes(const void* data, size_t size, ir::Graph* graph,
                         std::vector<std::string>* notes) {
  onnx::ModelProto m;
  POCKET_RETURN_IF_ERROR(parse_model(data, size, &m));
  return import_model(m, "", graph, notes);
}

Status import_onnx_file(const std::string& path, ir::Graph* graph, std::vector<std::string>* notes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return io_error("cannot open '" + path + "': no such file");
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open '" + path + "'");
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  f.seekg(0);
  if (size <= 0) return invalid_model("'" + path + "' is empty");
  if (size > std::numeric_limits<int>::max())
    return unsupported("'" + path + "' is larger than 2 GiB; save the weights as ONNX external data");
  std::string bytes(static_cast<size_t>(size), '\0');
  f.read(bytes.data(), size);
  if (!f) return io_error("cannot read '" + path + "'");
  onnx::ModelProto m;
  Status st = parse_model(bytes.data(), bytes.size(), &m);
  if (!st.ok()) return Status(st.code(), "'" + path + "': " + st.message());
  std::string().swap(bytes);
  std::string dir = std::filesystem::path(path).parent_path().string();
  return import_model(m, dir.empty() ? "." : dir, graph, notes);
}

}  // namespace pocket::converter
