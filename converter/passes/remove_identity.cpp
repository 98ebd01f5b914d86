// Removes Identity and inference-mode Dropout. A node whose output is a graph output is removed by
// renaming its producer's output instead, so graph output names never change.
#include <algorithm>

#include "converter/passes/passes.h"
#include "converter/passes/shape_inference_util.h"

namespace pocket::converter {

namespace {

bool removable(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty() || n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty()) return false;
  if (n.op == "Identity") return n.outputs.size() == 1;
  if (n.op != "Dropout") return false;
  // The mask output (all true in inference) must be unused.
  for (size_t k = 1; k < n.outputs.size(); ++k) {
    const std::string& m = n.outputs[k];
    if (!m.empty() && (!g.consumers(m).empty() || g.is_output(m))) return false;
  }
  return true;
}

}  // namespace

Status remove_identity(ir::Graph& g, std::vector<std::string>* notes) {
  int removed = 0, kept = 0;
  for (size_t k = 0; k < g.nodes.size();) {
    const ir::Node& n = g.nodes[k];
    if (!removable(g, n)) {
      ++k;
      continue;
    }
    const std::string in = n.inputs[0], out = n.outputs[0];
    if (!g.is_output(out)) {
      g.nodes.erase(g.nodes.begin() + static_cast<long>(k));
      g.replace_uses(out, in);
      ++removed;
      continue;
    }
    // `out` is a graph output: rename the producer of `in` to write `out` directly.
    int p = g.producer(in);
    bool in_is_input = std::find(g.inputs.begin(), g.inputs.end(), in) != g.inputs.end();
    if (p < 0 || in_is_input || g.is_output(in) || g.is_constant(in)) {
      ++k;
      ++kept;
      continue;
    }
    ir::Value renamed = g.values[in];
    renamed.name = out;
    g.nodes.erase(g.nodes.begin() + static_cast<long>(k));
    for (auto& o : g.nodes[p].outputs)
      if (o == in) o = out;
    g.replace_uses(in, out);
    g.values[out] = renamed;
    g.values.erase(in);
    ++removed;
  }
  if (notes && removed) notes->push_back("remove_identity: removed " + std::to_string(removed) + " Identity/Dropout node(s)");
  if (notes && kept) notes->push_back("remove_identity: kept " + std::to_string(kept) + " Identity node(s) that copy a graph input or output");
  return Status::Ok();
}

}  // namespace pocket::converter
