// A Graphviz drawing of a model's graph: one box per node (op type and name, its constant inputs
// folded into the label), edges labelled with the tensor's shape, graph inputs and outputs as
// distinct shapes. Nodes evaluated once at prepare are dashed.
#pragma once

#include <string>

#include "tools/inspect/summary.h"

namespace pocket::tools::inspect {

std::string dot_graph(const Summary& s);

// A DOT double-quoted string's contents: quotes and backslashes escaped, control characters made
// visible, long text cut.
std::string dot_escape(const std::string& s, size_t max_chars = 80);

}  // namespace pocket::tools::inspect
