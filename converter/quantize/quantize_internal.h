// Pieces shared by the quantization rewrites (fp16.cpp, int8_dynamic.cpp, int8_static.cpp) and
// the mixed-precision driver (quantize.cpp). Not part of the converter's API.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "converter/ir/graph.h"
#include "converter/quantize/quantize.h"
#include "engine/status.h"

namespace pocket::converter::quantize::detail {

// A node's identity in reports and keep-float sets: its name, or its first output's name.
std::string layer_name(const ir::Node& n);

// --keep-float items (node names or op types, comma lists already split) and the layers the
// mixed-precision search keeps float. reason() is "" when the node may be quantized.
struct FloatSet {
  std::vector<std::string> keep;           // --keep-float items
  std::map<std::string, std::string> kept; // layer name -> reason (mixed precision)
  std::string reason(const ir::Node& n) const;
};

// Splits the repeatable, comma-separated --keep-float values into items.
std::vector<std::string> split_items(const std::vector<std::string>& values);

// IEEE half from float, round to nearest even (overflow -> inf), and back.
uint16_t f16_from_f32(float x);
float f32_from_f16(uint16_t h);

// Symmetric per-axis int8 of a float tensor: scale = max|w| / 127 over each index of `axis`
// (an all-zero slice gets scale 1), q = round-half-even(w / scale) in [-127, 127].
std::vector<uint8_t> quantize_symmetric(const float* w, const std::vector<int64_t>& shape, int axis,
                                        std::vector<float>* scales);

// Activation parameters from a calibrated range widened to include 0: scale = (hi - lo) / 255,
// zero_point = round(-128 - lo / scale) clamped to [-128, 127].
format::QuantDesc activation_params(float lo, float hi);

// Replaces node `node`'s constant F32 input `slot` with a symmetric per-axis I8 copy (one copy per
// source constant and axis, shared by every node that asks for the same). Adds the bytes (fp32 and
// written) to *bytes_fp32 / *bytes. Returns false (and changes nothing) when the input is not a
// constant F32 tensor of rank > axis.
class WeightQuantizer {
 public:
  explicit WeightQuantizer(ir::Graph& g) : g_(g) {}
  bool quantize(int node, int slot, int axis);

 private:
  ir::Graph& g_;
  std::map<std::pair<std::string, int>, std::string> done_;
};

// Bytes of a constant value as stored (0 for non-constants).
uint64_t constant_bytes(const ir::Value& v);
// Sum of the constant inputs' bytes of a node, and the same as if they were all F32.
void node_weight_bytes(const ir::Graph& g, const ir::Node& n, uint64_t* fp32, uint64_t* written);

bool is_f32_constant(const ir::Graph& g, const std::string& name);
bool is_f32_activation(const ir::Graph& g, const std::string& name);

// The rewrites. Each fills report->layers (one row per quantizable layer) and notes, and
// leaves a graph the writer accepts.
Status apply_fp16(ir::Graph& g, const FloatSet& fs, QuantizeReport* report);
Status apply_int8_dynamic(ir::Graph& g, const FloatSet& fs, QuantizeReport* report);
// After an int8 rewrite: the float constants left with at least kLargeFloatElements elements
// (positional tables, LayerNorm/embedding-sized parameters, float layers' weights) are stored fp16
// as --precision fp16 stores them, except those a kept-float node reads and graph outputs; the
// engine converts them back to f32 at session creation (fp16.cpp).
constexpr int64_t kLargeFloatElements = 4096;
Status store_large_f32_as_fp16(ir::Graph& g, const FloatSet& fs, QuantizeReport* report);
// The (input slot, quantization axis) pairs of a node's weights in the weight-only form (Conv,
// Gemm, MatMul, SqueezeExcite FC weights, Gather embedding tables); empty for other nodes.
std::vector<std::pair<int, int>> dynamic_weight_slots(const ir::Graph& g, const ir::Node& n);

// Static int8: the plan (which nodes run int8, which values need calibrated ranges), then the
// rewrite with those ranges.
struct StaticPlan {
  std::vector<int> int8_nodes;              // node indices in the fp32 graph
  std::set<std::string> i8_values;          // values that become I8 (fp32 graph names)
  std::set<std::string> needs_range;        // values whose parameters come from calibration
};
StaticPlan plan_int8_static(const ir::Graph& g, const FloatSet& fs);
Status apply_int8_static(ir::Graph& g, const StaticPlan& plan,
                         const std::map<std::string, std::pair<float, float>>& ranges, const FloatSet& fs,
                         QuantizeReport* report);

// Layers the mixed-precision search may keep float: the rows of the report whose precision is
// an int8 one.
bool is_int8_precision(const std::string& p);

}  // namespace pocket::converter::quantize::detail
