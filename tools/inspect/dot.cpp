#include "tools/inspect/dot.h"

#include <vector>

namespace pocket::tools::inspect {

namespace {

// The shape an edge carries: the session's (output 0 of a run node) if known, else the file's.
std::string edge_label(const Summary& s, int32_t t, const std::vector<const Shape*>& prepared) {
  const TensorSummary& ts = s.tensors[static_cast<size_t>(t)];
  std::string shape;
  if (prepared[static_cast<size_t>(t)]) shape = shape_text(*prepared[static_cast<size_t>(t)], {});
  else if (!ts.prepared.empty()) shape = shape_text(ts.prepared, {});
  else shape = shape_text(ts.shape, ts.dim_names);
  return ts.dtype == "float32" ? shape : ts.dtype + " " + shape;
}

}  // namespace

std::string dot_escape(const std::string& s, size_t max_chars) {
  std::string out;
  size_t n = 0;
  for (unsigned char c : s) {
    if (n++ >= max_chars) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  return out;
}

std::string dot_graph(const Summary& s) {
  const size_t nt = s.tensors.size();
  auto valid = [&](int32_t t) { return t >= 0 && static_cast<size_t>(t) < nt; };
  // Who writes each tensor: a graph input ("in<i>") or a node ("n<k>").
  std::vector<std::string> producer(nt);
  std::vector<const Shape*> prepared(nt, nullptr);
  for (size_t i = 0; i < s.inputs.size(); ++i)
    if (valid(s.inputs[i])) producer[static_cast<size_t>(s.inputs[i])] = "in" + std::to_string(i);
  for (size_t k = 0; k < s.nodes.size(); ++k) {
    const NodeSummary& n = s.nodes[k];
    for (size_t j = 0; j < n.outputs.size(); ++j) {
      if (!valid(n.outputs[j])) continue;
      const auto t = static_cast<size_t>(n.outputs[j]);
      if (producer[t].empty()) producer[t] = std::string("n").append(std::to_string(k));
      if (j == 0 && n.has_output0) prepared[t] = &n.output0;
    }
  }

  std::string o = "digraph pocket {\n";
  o += "  graph [rankdir=TB, fontname=\"Helvetica\", label=\"" + dot_escape(s.path, 200) + "\", labelloc=t];\n";
  o += "  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n";
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    if (!valid(s.inputs[i])) continue;
    const TensorSummary& ts = s.tensors[static_cast<size_t>(s.inputs[i])];
    o += "  in" + std::to_string(i) + " [shape=invhouse, style=filled, fillcolor=\"#d8f0d8\", label=\"" + dot_escape(ts.name) +
         "\\n" + ts.dtype + " " + dot_escape(shape_text(ts.shape, ts.dim_names)) + "\"];\n";
  }
  std::vector<std::string> orphans;  // read but written by nothing (a corrupt graph): drawn as ellipses
  for (size_t k = 0; k < s.nodes.size(); ++k) {
    const NodeSummary& n = s.nodes[k];
    std::string label = dot_escape(n.op) + (n.name.empty() ? "" : "\\n" + dot_escape(n.name));
    size_t folded = 0, extra = 0;
    for (int32_t t : n.inputs) {
      if (!valid(t) || !s.constant[static_cast<size_t>(t)]) continue;
      const TensorSummary& ts = s.tensors[static_cast<size_t>(t)];
      if (folded++ < 4) label += "\\n" + ts.dtype + " " + dot_escape(shape_text(ts.shape, ts.dim_names));
      else ++extra;
    }
    if (extra) label += "\\n(+" + std::to_string(extra) + " constants)";
    o += "  n" + std::to_string(k) + " [shape=box, style=\"" + (n.at_prepare ? "rounded,filled,dashed" : "rounded,filled") +
         "\", fillcolor=\"" + (n.at_prepare ? "#eeeeee" : "#e4ecfa") + "\", label=\"" + label + "\"];\n";
    for (int32_t t : n.inputs) {
      if (!valid(t) || s.constant[static_cast<size_t>(t)]) continue;
      std::string from = producer[static_cast<size_t>(t)];
      if (from.empty()) {
        from = std::string("t").append(std::to_string(t));
        producer[static_cast<size_t>(t)] = from;
        orphans.push_back("  " + from + " [shape=ellipse, style=dashed, label=\"" + dot_escape(s.tensors[static_cast<size_t>(t)].name) +
                          "\"];\n");
      }
      o += "  " + from + " -> n" + std::to_string(k) + " [label=\"" + dot_escape(edge_label(s, t, prepared)) + "\"];\n";
    }
  }
  for (const std::string& line : orphans) o += line;
  for (size_t i = 0; i < s.outputs.size(); ++i) {
    if (!valid(s.outputs[i])) continue;
    const auto t = static_cast<size_t>(s.outputs[i]);
    const TensorSummary& ts = s.tensors[t];
    const Shape& shape = ts.prepared.empty() ? ts.shape : ts.prepared;
    o += "  out" + std::to_string(i) + " [shape=house, style=filled, fillcolor=\"#f6dada\", label=\"" + dot_escape(ts.name) +
         "\\n" + ts.dtype + " " + dot_escape(shape_text(shape, ts.prepared.empty() ? ts.dim_names : std::vector<std::string>{})) +
         "\"];\n";
    if (!producer[t].empty())
      o += "  " + producer[t] + " -> out" + std::to_string(i) + " [label=\"" + dot_escape(edge_label(s, s.outputs[i], prepared)) + "\"];\n";
  }
  return o + "}\n";
}

}  // namespace pocket::tools::inspect
