// --precision fp16: every F32 constant of at least 16 elements stored as F16 (the engine widens
// it to F32 at session creation). Constants whose values do not survive half precision (|x| >
// 65504, or more than 1 % of the non-zero values flushing to zero) stay F32 with a note, and so do
// the constants of --keep-float nodes (a constant shared with a kept node stays F32 for all).
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "converter/quantize/quantize_internal.h"

namespace pocket::converter::quantize::detail {

namespace {

constexpr int64_t kMinElements = 16;
constexpr float kHalfMax = 65504.f;
constexpr float kHalfMinSubnormal = 5.9604645e-8f;  // 2^-24: smaller magnitudes round to 0

// "" when the constant converts well, else why it stays F32.
std::string half_problem(const ir::Value& v) {
  const float* x = v.as<float>();
  const int64_t n = v.elements();
  int64_t nonzero = 0, flushed = 0;
  float amax = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    if (!std::isfinite(a)) return "not finite";
    amax = std::max(amax, a);
    if (a != 0) {
      ++nonzero;
      if (a < 0.5f * kHalfMinSubnormal) ++flushed;
    }
  }
  if (amax > kHalfMax) return "values up to " + std::to_string(amax) + " exceed the fp16 range (65504)";
  if (nonzero > 0 && flushed * 100 > nonzero)
    return std::to_string(flushed) + " of " + std::to_string(nonzero) + " non-zero values would flush to zero in fp16";
  return "";
}

// Replaces an F32 constant's data by its fp16 rounding (nearest even).
void store_as_f16(ir::Value& v) {
  const float* x = v.as<float>();
  const int64_t n = v.elements();
  std::vector<uint8_t> bytes(static_cast<size_t>(n) * 2);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = f16_from_f32(x[i]);
    std::memcpy(bytes.data() + 2 * i, &h, 2);
  }
  v.data = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  v.dtype = ir::DType::F16;
}

}  // namespace

Status apply_fp16(ir::Graph& g, const FloatSet& fs, QuantizeReport* report) {
  // Constants read by a kept-float node stay F32 everywhere.
  std::set<std::string> pinned;
  std::map<std::string, std::string> why_pinned;
  for (const ir::Node& n : g.nodes) {
    std::string r = fs.reason(n);
    if (r.empty()) continue;
    for (const std::string& in : n.inputs)
      if (!in.empty()) {
        pinned.insert(in);
        why_pinned.emplace(in, r);
      }
  }
  std::set<std::string> outputs(g.outputs.begin(), g.outputs.end());
  std::map<std::string, std::string> problems;  // constant -> why it stays F32
  std::set<std::string> converted;
  for (ir::Node& n : g.nodes) {
    LayerReport row;
    bool has_weights = false;
    std::string reason;
    for (const std::string& in : n.inputs) {
      if (in.empty() || !is_f32_constant(g, in) || outputs.count(in)) continue;
      ir::Value& v = g.value(in);
      if (v.elements() < kMinElements) continue;
      has_weights = true;
      if (converted.count(in) || problems.count(in)) {
        if (problems.count(in)) reason = problems[in];
        continue;
      }
      if (pinned.count(in)) {
        reason = why_pinned[in];
        continue;
      }
      std::string p = half_problem(v);
      if (!p.empty()) {
        problems[in] = "kept fp32: " + in + ": " + p;
        report->notes.push_back("fp16: constant '" + in + "' stays fp32: " + p);
        reason = problems[in];
        continue;
      }
      store_as_f16(v);
      converted.insert(in);
    }
    // Pinned by this node's own keep-float: the reason is the node's.
    std::string own = fs.reason(n);
    if (!has_weights && own.empty()) continue;
    if (!has_weights) continue;
    row.name = layer_name(n);
    row.op = n.op;
    node_weight_bytes(g, n, &row.bytes_fp32, &row.bytes);
    bool any_half = false;
    for (const std::string& in : n.inputs)
      if (!in.empty() && converted.count(in)) any_half = true;
    row.precision = any_half ? "fp16" : "fp32";
    row.reason = !own.empty() ? own : reason.empty() ? "weights stored fp16" : reason;
    report->layers.push_back(std::move(row));
  }
  return Status::Ok();
}

Status store_large_f32_as_fp16(ir::Graph& g, const FloatSet& fs, QuantizeReport* report) {
  // Constants read by a kept-float node (--keep-float, mixed precision) stay F32.
  std::set<std::string> pinned(g.outputs.begin(), g.outputs.end());
  for (const ir::Node& n : g.nodes)
    if (!fs.reason(n).empty())
      for (const std::string& in : n.inputs) pinned.insert(in);
  int count = 0;
  uint64_t saved = 0;
  for (const ir::Node& n : g.nodes) {
    for (const std::string& in : n.inputs) {
      if (in.empty() || pinned.count(in) || !is_f32_constant(g, in)) continue;
      ir::Value& v = g.value(in);
      if (v.elements() < kLargeFloatElements || !half_problem(v).empty()) continue;
      store_as_f16(v);
      ++count;
      saved += static_cast<uint64_t>(v.elements()) * 2;
    }
  }
  if (count > 0)
    report->notes.push_back("the " + std::to_string(count) + " float constants left with >= " +
                            std::to_string(kLargeFloatElements) + " elements (positional tables, float layers) are stored fp16 (" +
                            std::to_string(saved / 1024) + " KiB saved)");
  return Status::Ok();
}

}  // namespace pocket::converter::quantize::detail
