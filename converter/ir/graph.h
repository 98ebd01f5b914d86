// The converter's graph IR: named values and nodes, easy to rewrite. Op names are ONNX op types
// while importing; after the passes they are the format's OpType names (which share ONNX's
// spelling), with the format's normalisations (see format/pocket.fbs) applied.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/builder.h"
#include "format/pocket_generated.h"

namespace pocket::ir {

using DType = fb::DType;

struct Value {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;            // -1 for a symbolic dim
  std::vector<std::string> dim_names;    // empty, or one per dim
  bool shape_known = false;              // rank and dims inferred
  std::shared_ptr<std::vector<uint8_t>> data;  // set for constants (row-major, dtype elements)
  // Quantization of an I8 value (format 1.2): real = scale * (q - zero_point), per tensor
  // (quant.axis = -1, one scale) or per axis. Written to Tensor.quantization.
  bool has_quant = false;
  format::QuantDesc quant;

  bool is_constant() const { return data != nullptr; }
  int64_t elements() const;              // -1 if unknown
  template <class T> const T* as() const { return reinterpret_cast<const T*>(data->data()); }
  template <class T> T* as_mut() { return reinterpret_cast<T*>(data->data()); }
};

struct Attr {
  fb::AttrType type = fb::AttrType::Int;
  int64_t i = 0;
  float f = 0.f;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
};

struct Node {
  std::string op;                        // "Conv", "Relu", ...
  std::string name;
  std::string domain;                    // "" for the ONNX domain
  std::vector<std::string> inputs;       // "" for an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attr> attrs;

  bool has(const std::string& a) const { return attrs.count(a) != 0; }
  int64_t i(const std::string& a, int64_t fallback) const;
  float f(const std::string& a, float fallback) const;
  std::string s(const std::string& a, const std::string& fallback) const;
  std::vector<int64_t> ints(const std::string& a, std::vector<int64_t> fallback = {}) const;
  std::vector<float> floats(const std::string& a, std::vector<float> fallback = {}) const;
  void set_i(const std::string& a, int64_t v);
  void set_f(const std::string& a, float v);
  void set_s(const std::string& a, std::string v);
  void set_ints(const std::string& a, std::vector<int64_t> v);
  void set_floats(const std::string& a, std::vector<float> v);
};

struct Graph {
  std::map<std::string, Value> values;   // every value, constant or not, by name
  std::vector<Node> nodes;               // kept topologically sorted by the passes
  std::vector<std::string> inputs;       // non-constant graph inputs
  std::vector<std::string> outputs;
  int64_t opset = 0;                     // ONNX default-domain opset of the source model
  format::MetadataDesc metadata;

  Value& value(const std::string& name) { return values[name]; }
  const Value* find(const std::string& name) const;
  bool is_constant(const std::string& name) const;
  // A fresh value name derived from base ("x" -> "x__1").
  std::string unique_name(const std::string& base);
  // Adds a constant value and returns its name.
  std::string add_constant(const std::string& base, DType dtype, std::vector<int64_t> shape,
                           std::vector<uint8_t> bytes);
  // Index of the node producing a value, or -1 (graph input, constant).
  int producer(const std::string& value) const;
  // Indices of nodes reading a value.
  std::vector<int> consumers(const std::string& value) const;
  bool is_output(const std::string& value) const;
  // Renames every use of `from` (node inputs and graph outputs) to `to`.
  void replace_uses(const std::string& from, const std::string& to);
  // Drops nodes whose outputs nobody reads and values nobody mentions.
  void remove_dead();
  // Restores topological order after passes inserted nodes out of order; false on a cycle.
  bool topo_sort();
  // Histogram of op types, for the CLI report.
  std::map<std::string, int> op_counts() const;
};

}  // namespace pocket::ir
