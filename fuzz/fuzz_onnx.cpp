// libFuzzer target: ONNX import in the converter. Any byte string goes through the protobuf parse,
// the import to IR (initializers, attributes, Constant nodes, value infos, topological sort) and
// shape inference; a graph that imports is optimised with the default pass pipeline and written
// to .pocket bytes, which must then load as a model. Errors are fine; crashes, sanitizer reports
// and hangs are findings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "engine/model.h"

namespace {
// Inputs larger than this are skipped: the interesting structure is in small models, and the
// writer/passes on a multi-megabyte graph would only slow the search down.
constexpr size_t kMaxInput = 1 << 20;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return 0;
  pocket::ir::Graph graph;
  std::vector<std::string> notes;
  pocket::Status st = pocket::converter::import_onnx_bytes(data, size, &graph, &notes);
  if (!st.ok()) {
    if (st.message().empty()) std::abort();  // every failure must say what is wrong
    return 0;
  }
#ifndef POCKET_FUZZ_ONNX_IMPORT_ONLY  // (defined by a quick build that links only the importer)
  // The passes and the writer on an imported graph. Skip graphs with huge constants (the import
  // accepts up to 2^40 elements; the passes would copy them).
  int64_t const_bytes = 0;
  for (const auto& [name, v] : graph.values)
    if (v.data) const_bytes += static_cast<int64_t>(v.data->size());
  if (const_bytes > (int64_t{64} << 20)) return 0;
  pocket::converter::ConvertOptions options;
  pocket::converter::ConvertReport report;
  st = pocket::converter::optimize(graph, options, &report);
  if (!st.ok()) {
    if (st.message().empty()) std::abort();
    return 0;
  }
  auto bytes = pocket::converter::write_pocket(graph, options);
  if (!bytes.ok()) {
    if (bytes.status().message().empty()) std::abort();
    return 0;
  }
  // What the converter writes, the engine must accept or reject cleanly.
  auto model = pocket::Model::load_buffer(bytes.value().data(), bytes.value().size());
  (void)model;
#endif
  return 0;
}
