// The converter pipeline: import -> passes -> support check -> writer.
#include "converter/convert.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "converter/passes/passes.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {

namespace {

using Clock = std::chrono::steady_clock;

bool layout_sensitive(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "MaxPool" || op == "AveragePool" ||
         op == "GlobalAveragePool" || op == "GlobalMaxPool" || op == "LRN";
}

Status apply_input_shapes(ir::Graph& g, const ConvertOptions& o) {
  for (const auto& [name, shape] : o.input_shapes) {
    if (std::find(g.inputs.begin(), g.inputs.end(), name) == g.inputs.end()) {
      std::string names;
      for (const auto& in : g.inputs) names += (names.empty() ? "'" : ", '") + in + "'";
      return invalid_argument("--input-shape: the model has no input '" + name + "' (inputs: " + names + ")");
    }
    ir::Value& v = g.value(name);
    if (v.shape_known && v.shape.size() != shape.size())
      return invalid_argument("--input-shape " + name + ": rank " + std::to_string(shape.size()) +
                              " does not match the model's rank " + std::to_string(v.shape.size()));
    for (size_t k = 0; k < shape.size(); ++k) {
      if (shape[k] <= 0) return invalid_argument("--input-shape " + name + ": dimensions must be positive");
      if (v.shape_known && v.shape[k] >= 0 && v.shape[k] != shape[k])
        return invalid_argument("--input-shape " + name + ": dimension " + std::to_string(k) + " is " +
                                std::to_string(v.shape[k]) + " in the model, not " + std::to_string(shape[k]));
    }
    v.shape = shape;
    v.dim_names.clear();
    v.shape_known = true;
  }
  return Status::Ok();
}

Status check_layout(const ir::Graph& g, const ConvertOptions& o) {
  std::map<std::string, int> ops;
  std::string first;
  int count = 0;
  for (const ir::Node& n : g.nodes)
    if (layout_sensitive(n.op) && n.s("layout", "") != "NHWC") {
      ++ops[n.op];
      if (count++ == 0) first = n.op + " '" + n.name + "'";
    }
  if (count == 0) return Status::Ok();
  std::string what;
  for (const auto& [op, c] : ops) what += (what.empty() ? "" : ", ") + op + " x" + std::to_string(c);
  std::string msg = std::to_string(count) + " conv/pool node(s) (" + what + ", first " + first +
                    ") must be channels-last (NHWC) in a .pocket file";
  if (!o.nhwc) return unsupported(msg + "; drop --no-nhwc to convert them");
  return internal_error(msg + " but the NHWC pass left them NCHW");
}

}  // namespace

Status optimize(ir::Graph& g, const ConvertOptions& options, ConvertReport* report) {
  auto t0 = Clock::now();
  std::vector<std::string> notes;
  if (report && report->ops_before.empty()) report->ops_before = g.op_counts();
  POCKET_RETURN_IF_ERROR(apply_input_shapes(g, options));
  POCKET_RETURN_IF_ERROR(infer_shapes(g));
  POCKET_RETURN_IF_ERROR(fold_constants(g, &notes));
  POCKET_RETURN_IF_ERROR(fold_qdq(g, &notes));
  POCKET_RETURN_IF_ERROR(remove_identity(g, &notes));
  g.remove_dead();
  POCKET_RETURN_IF_ERROR(infer_shapes(g));
  POCKET_RETURN_IF_ERROR(fold_batchnorm(g, &notes));
  POCKET_RETURN_IF_ERROR(rewrite_einsum(g, &notes));
  if (options.optimize) {
    POCKET_RETURN_IF_ERROR(fuse_layernorm(g, &notes));
    POCKET_RETURN_IF_ERROR(fuse_gelu(g, &notes));
    POCKET_RETURN_IF_ERROR(fuse_attention(g, &notes));
    g.remove_dead();
    POCKET_RETURN_IF_ERROR(infer_shapes(g));
    POCKET_RETURN_IF_ERROR(fuse_matmul_bias(g, &notes));
    POCKET_RETURN_IF_ERROR(fuse_residual(g, &notes));
    POCKET_RETURN_IF_ERROR(fuse_activations(g, &notes));
    if (options.prune) {
      int64_t before = 0, after = 0;
      int removed = 0;
      POCKET_RETURN_IF_ERROR(prune_channels(g, &notes, &before, &after, &removed));
      if (report) {
        report->params_before = before;
        report->params_after = after;
        report->pruned_channels = removed;
      }
    }
  } else {
    notes.push_back("--no-optimize: LayerNorm, GELU, attention, bias, residual and activation fusion skipped");
  }
  POCKET_RETURN_IF_ERROR(normalize(g, &notes));
  if (!g.topo_sort()) return internal_error("the graph has a cycle after normalisation");
  POCKET_RETURN_IF_ERROR(infer_shapes(g));
  // Report every unsupported op now, before the layout pass meets ops it does not understand.
  POCKET_RETURN_IF_ERROR(check_supported(g));
  if (options.nhwc) {
    POCKET_RETURN_IF_ERROR(convert_to_nhwc(g, &notes));
    if (!g.topo_sort()) return internal_error("the graph has a cycle after the NHWC pass");
  }
  POCKET_RETURN_IF_ERROR(fold_constants(g, &notes));
  if (options.optimize && options.nhwc) POCKET_RETURN_IF_ERROR(fuse_squeeze_excite(g, &notes));
  g.remove_dead();
  POCKET_RETURN_IF_ERROR(infer_shapes(g));
  POCKET_RETURN_IF_ERROR(check_supported(g));
  POCKET_RETURN_IF_ERROR(check_layout(g, options));
  if (report) {
    report->ops_after = g.op_counts();
    report->notes.insert(report->notes.end(), notes.begin(), notes.end());
    report->opset = g.opset;
    report->seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return Status::Ok();
}

namespace {

Result<std::vector<uint8_t>> finish(ir::Graph& g, const ConvertOptions& options, ConvertReport* report,
                                    std::vector<std::string>& import_notes, Clock::time_point t0) {
  ConvertReport local;
  ConvertReport* r = report ? report : &local;
  r->ops_before = g.op_counts();
  r->opset = g.opset;
  r->notes.insert(r->notes.end(), import_notes.begin(), import_notes.end());
  POCKET_RETURN_IF_ERROR(optimize(g, options, r));
  if (options.quant.precision != quantize::Precision::kFp32) {
    // Image calibration sets are preprocessed with the metadata the file will carry.
    format::MetadataDesc md = model_metadata(g, options);
    g.metadata.has_preprocessing = md.has_preprocessing;
    g.metadata.preprocessing = md.preprocessing;
    POCKET_RETURN_IF_ERROR(quantize::quantize(g, options.quant, &r->quant));
  }
  auto bytes = write_pocket(g, options);
  if (!bytes.ok()) return bytes.status();
  r->file_bytes = bytes.value().size();
  r->seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return bytes;
}

}  // namespace

Result<std::vector<uint8_t>> convert_onnx_file(const std::string& path, const ConvertOptions& options,
                                               ConvertReport* report) {
  auto t0 = Clock::now();
  ir::Graph g;
  std::vector<std::string> notes;
  POCKET_RETURN_IF_ERROR(import_onnx_file(path, &g, &notes));
  g.metadata.source = std::filesystem::path(path).filename().string();
  return finish(g, options, report, notes, t0);
}

Result<std::vector<uint8_t>> convert_onnx_bytes(const void* data, size_t size, const ConvertOptions& options,
                                                ConvertReport* report) {
  auto t0 = Clock::now();
  ir::Graph g;
  std::vector<std::string> notes;
  POCKET_RETURN_IF_ERROR(import_onnx_bytes(data, size, &g, &notes));
  return finish(g, options, report, notes, t0);
}

}  // namespace pocket::converter
