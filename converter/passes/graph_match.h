// Pattern-matching support for the fusion passes (fuse_layernorm, fuse_gelu, fuse_attention,
// fuse_matmul_bias): who produces and who reads each value, kept up to date while a pass removes
// and replaces nodes, plus small predicates on constant operands. A pass marks nodes removed and
// calls compact() once at the end, so node indices stay valid while it matches.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "converter/ir/graph.h"

namespace pocket::converter {

class GraphMatch {
 public:
  explicit GraphMatch(ir::Graph& g);

  ir::Graph& graph() { return g_; }
  const ir::Node& node(int k) const { return g_.nodes[k]; }
  bool removed(int k) const { return removed_[k]; }

  // Index of the live ONNX-domain node producing v (with op `op` when given), or -1.
  int producer(const std::string& v, const char* op = nullptr) const;
  // Reads of v: one per input slot of a live node, plus one if v is a graph output.
  int reads(const std::string& v) const;
  // Live nodes reading v, once per input slot.
  const std::vector<int>& readers(const std::string& v) const;
  // v is read by exactly one input slot of one node and is not a graph output.
  bool single_use(const std::string& v) const { return reads(v) == 1 && !g_.is_output(v); }

  // A constant with exactly one element, read as float (f32, f16, f64 or integer).
  bool scalar(const std::string& v, float* out) const;
  bool scalar_near(const std::string& v, float want, float rel_tol = 1e-4f) const;
  // A one-element value computable now: a constant, a static dim read through Shape -> Gather,
  // and Cast / Unsqueeze / Squeeze / Reshape / Sqrt / Add / Sub / Mul / Div / Pow of those (what a
  // dynamic-axes export computes Whisper's (d / heads) ** -0.25 with). False otherwise.
  bool scalar_expr(const std::string& v, double* out, int depth = 0) const;

  // Removes node k (its outputs lose their producer, its inputs a reader); the values it wrote
  // are erased from the graph unless another node or a graph output still names them.
  void remove(int k);
  // Replaces node k by n (n must keep the outputs its readers expect).
  void replace(int k, ir::Node n);
  // Drops removed nodes from the graph's node list; indices are invalid afterwards.
  void compact();

 private:
  void add_reads(int k);
  void drop_reads(int k);

  ir::Graph& g_;
  std::vector<bool> removed_;
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, std::vector<int>> readers_;
};

// The other input of a binary node whose input `one` is known, or "" if n does not read `one`.
std::string other_input(const ir::Node& n, const std::string& one);

}  // namespace pocket::converter
