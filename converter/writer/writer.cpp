// IR -> format::ModelDesc -> .pocket bytes or file. Constants referenced by nodes become weight
// tensors; metadata comes from ConvertOptions.
//
// Preprocessing rule: the model input is described when it looks like an image (rank 4, NCHW with
// 1 or 3 channels) or when --mean/--std/--input-size are given. width/height come from
// --input-size, else from the input's H and W. mean/std are stored as given; when every mean and
// std value is <= 1 they are taken to be in [0,1] units and scale = 1/255 (pixels 0..255 are
// scaled first, then (x - mean) / std); otherwise they are in pixel units and scale = 1.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "converter/convert.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {

namespace {

bool op_type(const std::string& name, fb::OpType* out) {
  for (fb::OpType t : fb::EnumValuesOpType())
    if (name == fb::EnumNameOpType(t)) {
      *out = t;
      return true;
    }
  return false;
}

bool layout_sensitive(fb::OpType t) {
  switch (t) {
    case fb::OpType::Conv: case fb::OpType::ConvTranspose: case fb::OpType::MaxPool:
    case fb::OpType::AveragePool: case fb::OpType::GlobalAveragePool: case fb::OpType::GlobalMaxPool:
    case fb::OpType::LRN:
      return true;
    default:
      return false;
  }
}

format::AttrDesc to_desc(const std::string& name, const ir::Attr& a) {
  format::AttrDesc d;
  d.name = name;
  d.type = a.type;
  d.i = a.i;
  d.f = a.f;
  d.s = a.s;
  d.ints = a.ints;
  d.floats = a.floats;
  return d;
}

}  // namespace

format::MetadataDesc model_metadata(const ir::Graph& g, const ConvertOptions& o) {
  format::MetadataDesc md = g.metadata;
  md.producer = "pocket-convert";
  md.producer_version = kConverterVersion;
  md.labels = o.labels.empty() ? md.labels : o.labels;
  for (const auto& [k, v] : o.metadata) {
    if (k == "task") md.task = v;
    else md.properties.emplace_back(k, v);
  }
  if (o.has_tokenizer) {
    md.has_tokenizer = true;
    md.tokenizer = o.tokenizer;
  }
  if (o.has_audio) {
    md.has_audio = true;
    md.audio = o.audio;
  }
  const ir::Value* in = g.inputs.empty() ? nullptr : g.find(g.inputs[0]);
  bool image = in && in->shape_known && in->shape.size() == 4 && (in->shape[1] == 1 || in->shape[1] == 3);
  bool asked = !o.mean.empty() || !o.std.empty() || o.input_width > 0 || o.input_height > 0;
  if (!image && !asked) return md;
  md.has_preprocessing = true;
  format::PreprocessDesc& p = md.preprocessing;
  p.layout = "NCHW";
  p.color_order = "RGB";
  p.width = static_cast<int32_t>(o.input_width);
  p.height = static_cast<int32_t>(o.input_height);
  if (p.width <= 0 && in && in->shape_known && in->shape.size() == 4 && in->shape[3] > 0) p.width = static_cast<int32_t>(in->shape[3]);
  if (p.height <= 0 && in && in->shape_known && in->shape.size() == 4 && in->shape[2] > 0) p.height = static_cast<int32_t>(in->shape[2]);
  p.mean = o.mean;
  p.std = o.std;
  bool unit = !o.mean.empty() || !o.std.empty();
  for (float v : o.mean) unit = unit && v <= 1.f;
  for (float v : o.std) unit = unit && v <= 1.f;
  p.scale = unit ? 1.f / 255.f : 1.f;
  return md;
}

namespace {

Result<format::ModelDesc> build_model(const ir::Graph& g, const ConvertOptions& options) {
  format::ModelDesc m;
  std::map<std::string, int32_t> index;
  auto tensor = [&](const std::string& name) -> Result<int32_t> {
    auto it = index.find(name);
    if (it != index.end()) return it->second;
    const ir::Value* v = g.find(name);
    if (!v) return internal_error("writer: value '" + name + "' is not in the graph");
    format::TensorDesc t;
    t.name = name;
    t.dtype = v->dtype;
    t.shape = v->shape_known ? v->shape : std::vector<int64_t>{};
    if (!v->shape_known && !v->is_constant()) {
      // Unknown rank: the engine infers it; keep it empty.
    }
    bool symbolic = std::any_of(t.shape.begin(), t.shape.end(), [](int64_t d) { return d < 0; });
    if (symbolic) {
      t.dim_names = v->dim_names.size() == t.shape.size() ? v->dim_names : std::vector<std::string>(t.shape.size());
      for (size_t k = 0; k < t.shape.size(); ++k)
        if (t.shape[k] >= 0) t.dim_names[k].clear();
    }
    if (v->has_quant) {
      t.has_quant = true;
      t.quant = v->quant;
    }
    if (v->is_constant()) {
      int64_t n = v->elements();
      size_t es = ir_dtype_size(v->dtype);
      uint64_t want = v->dtype == ir::DType::I4 ? static_cast<uint64_t>((n + 1) / 2) : static_cast<uint64_t>(n) * es;
      if (n < 0 || want != v->data->size())
        return internal_error("writer: constant '" + name + "' holds " + std::to_string(v->data->size()) +
                              " bytes, its shape needs " + std::to_string(want));
      t.has_data = true;
      t.data = *v->data;
    }
    int32_t i = m.add_tensor(std::move(t));
    index[name] = i;
    return i;
  };
  for (const std::string& in : g.inputs) {
    if (g.is_constant(in)) continue;
    auto r = tensor(in);
    if (!r.ok()) return r.status();
    m.inputs.push_back(r.value());
  }
  std::set<std::string> produced(g.inputs.begin(), g.inputs.end());
  for (const ir::Node& n : g.nodes) {
    format::NodeDesc d;
    if (!op_type(n.op, &d.op) || !n.domain.empty())
      return internal_error("writer: " + node_label(n) + " is not a .pocket operator (check_supported was not run?)");
    if (layout_sensitive(d.op) && n.s("layout", "") != "NHWC")
      return internal_error("writer: " + node_label(n) + " is not in NHWC layout (the NHWC pass did not convert it)");
    d.name = n.name;
    for (const std::string& in : n.inputs) {
      if (in.empty()) {
        d.inputs.push_back(-1);
        continue;
      }
      if (!g.is_constant(in) && !produced.count(in))
        return internal_error("writer: " + node_label(n) + " reads '" + in + "' before it is produced");
      auto r = tensor(in);
      if (!r.ok()) return r.status();
      d.inputs.push_back(r.value());
    }
    for (const std::string& out : n.outputs) {
      if (out.empty()) {
        return internal_error("writer: " + node_label(n) + " has an omitted output");
      }
      if (produced.count(out) || g.is_constant(out))
        return internal_error("writer: '" + out + "' is written twice");
      produced.insert(out);
      auto r = tensor(out);
      if (!r.ok()) return r.status();
      d.outputs.push_back(r.value());
    }
    for (const auto& [name, a] : n.attrs)
      if (name.rfind("__", 0) != 0) d.attrs.push_back(to_desc(name, a));
    m.nodes.push_back(std::move(d));
  }
  for (const std::string& out : g.outputs) {
    if (!g.is_constant(out) && !produced.count(out))
      return internal_error("writer: graph output '" + out + "' is never produced");
    auto r = tensor(out);
    if (!r.ok()) return r.status();
    m.outputs.push_back(r.value());
  }
  m.metadata = model_metadata(g, options);
  return m;
}

}  // namespace

Result<std::vector<uint8_t>> write_pocket(const ir::Graph& graph, const ConvertOptions& options) {
  auto m = build_model(graph, options);
  if (!m.ok()) return m.status();
  std::vector<uint8_t> bytes = format::serialize(m.value());
  if (bytes.empty()) return internal_error("writer: serialisation failed");
  return bytes;
}

Status write_pocket_file(const ir::Graph& graph, const ConvertOptions& options, const std::string& path,
                         uint64_t* bytes_written) {
  auto m = build_model(graph, options);
  if (!m.ok()) return m.status();
  std::string tmp = path + ".tmp";
  uint64_t n = 0;
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return io_error("cannot create '" + path + "'");
    n = format::write(m.value(), f);
    f.close();
    if (!f || n == 0) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return io_error("cannot write '" + path + "' (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return io_error("cannot create '" + path + "': " + ec.message());
  }
  if (bytes_written) *bytes_written = n;
  return Status::Ok();
}

}  // namespace pocket::converter
