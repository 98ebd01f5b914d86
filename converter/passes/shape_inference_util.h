// Small helpers shared by the converter passes: reading constant operands, broadcasting shapes,
// normalising axes. Implemented in shape_inference_util.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "converter/ir/graph.h"

namespace pocket::converter {

// Bytes per element of a dtype as stored in the IR (I4: 0).
size_t ir_dtype_size(ir::DType d);

// The contents of a constant integer (I64/I32/I8/U8/BOOL) value; false if not constant.
bool const_ints(const ir::Graph& g, const std::string& name, std::vector<int64_t>* out);
// The contents of a constant F32/F16/integer value as floats; false if not constant.
bool const_floats(const ir::Graph& g, const std::string& name, std::vector<float>* out);

// An operand that may be an input (index k, constant) or an attribute: the input wins when
// present. found=false if neither exists; ok=false if the input exists but is not constant.
struct IntsOperand {
  bool found = false;
  bool ok = true;
  std::vector<int64_t> v;
};
IntsOperand ints_operand(const ir::Graph& g, const ir::Node& n, size_t k, const std::string& attr);

// Normalises a possibly negative axis; -1 if out of range.
int64_t norm_axis(int64_t axis, int64_t rank);

// Numpy broadcast of two shapes (-1 = symbolic, names optional). False if incompatible.
bool broadcast_shapes(const std::vector<int64_t>& a, const std::vector<std::string>& an,
                      const std::vector<int64_t>& b, const std::vector<std::string>& bn,
                      std::vector<int64_t>* out, std::vector<std::string>* out_names);

// Infers the outputs of one node from its inputs (shape_inference.cpp).
void infer_node(ir::Graph& g, const ir::Node& n);

// "Conv 'name'"
std::string node_label(const ir::Node& n);

}  // namespace pocket::converter
