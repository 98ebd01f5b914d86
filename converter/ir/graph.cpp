#include "converter/ir/graph.h"

#include <algorithm>
#include <set>
#include <unordered_map>

namespace pocket::ir {

int64_t Value::elements() const {
  if (!shape_known) return -1;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    n *= d;
  }
  return n;
}

int64_t Node::i(const std::string& a, int64_t fallback) const {
  auto it = attrs.find(a);
  if (it == attrs.end()) return fallback;
  return it->second.type == fb::AttrType::Float ? static_cast<int64_t>(it->second.f) : it->second.i;
}
float Node::f(const std::string& a, float fallback) const {
  auto it = attrs.find(a);
  if (it == attrs.end()) return fallback;
  return it->second.type == fb::AttrType::Int ? static_cast<float>(it->second.i) : it->second.f;
}
std::string Node::s(const std::string& a, const std::string& fallback) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? fallback : it->second.s;
}
std::vector<int64_t> Node::ints(const std::string& a, std::vector<int64_t> fallback) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? fallback : it->second.ints;
}
std::vector<float> Node::floats(const std::string& a, std::vector<float> fallback) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? fallback : it->second.floats;
}
void Node::set_i(const std::string& a, int64_t v) { Attr x; x.type = fb::AttrType::Int; x.i = v; attrs[a] = x; }
void Node::set_f(const std::string& a, float v) { Attr x; x.type = fb::AttrType::Float; x.f = v; attrs[a] = x; }
void Node::set_s(const std::string& a, std::string v) { Attr x; x.type = fb::AttrType::String; x.s = std::move(v); attrs[a] = x; }
void Node::set_ints(const std::string& a, std::vector<int64_t> v) { Attr x; x.type = fb::AttrType::Ints; x.ints = std::move(v); attrs[a] = x; }
void Node::set_floats(const std::string& a, std::vector<float> v) { Attr x; x.type = fb::AttrType::Floats; x.floats = std::move(v); attrs[a] = x; }

const Value* Graph::find(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? nullptr : &it->second;
}

bool Graph::is_constant(const std::string& name) const {
  const Value* v = find(name);
  return v && v->is_constant();
}

std::string Graph::unique_name(const std::string& base) {
  if (!values.count(base)) return base;
  for (int k = 1;; ++k) {
    std::string n = base + "__" + std::to_string(k);
    if (!values.count(n)) return n;
  }
}

std::string Graph::add_constant(const std::string& base, DType dtype, std::vector<int64_t> shape,
                                std::vector<uint8_t> bytes) {
  std::string name = unique_name(base);
  Value& v = values[name];
  v.name = name;
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.shape_known = true;
  v.data = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  return name;
}

int Graph::producer(const std::string& value) const {
  for (size_t n = 0; n < nodes.size(); ++n)
    for (const auto& o : nodes[n].outputs)
      if (o == value) return static_cast<int>(n);
  return -1;
}

std::vector<int> Graph::consumers(const std::string& value) const {
  std::vector<int> out;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (const auto& i : nodes[n].inputs)
      if (i == value) {
        out.push_back(static_cast<int>(n));
        break;
      }
  return out;
}

bool Graph::is_output(const std::string& value) const {
  return std::find(outputs.begin(), outputs.end(), value) != outputs.end();
}

void Graph::replace_uses(const std::string& from, const std::string& to) {
  for (Node& n : nodes)
    for (auto& i : n.inputs)
      if (i == from) i = to;
  for (auto& o : outputs)
    if (o == from) o = to;
}

void Graph::remove_dead() {
  std::set<std::string> needed(outputs.begin(), outputs.end());
  std::vector<bool> keep(nodes.size(), false);
  for (size_t k = nodes.size(); k-- > 0;) {
    bool used = false;
    for (const auto& o : nodes[k].outputs) used = used || needed.count(o);
    if (!used) continue;
    keep[k] = true;
    for (const auto& i : nodes[k].inputs)
      if (!i.empty()) needed.insert(i);
  }
  std::vector<Node> kept;
  for (size_t k = 0; k < nodes.size(); ++k)
    if (keep[k]) kept.push_back(std::move(nodes[k]));
  nodes = std::move(kept);
  std::set<std::string> mentioned(inputs.begin(), inputs.end());
  mentioned.insert(outputs.begin(), outputs.end());
  for (const Node& n : nodes) {
    mentioned.insert(n.inputs.begin(), n.inputs.end());
    mentioned.insert(n.outputs.begin(), n.outputs.end());
  }
  for (auto it = values.begin(); it != values.end();) {
    if (!mentioned.count(it->first)) it = values.erase(it);
    else ++it;
  }
}

bool Graph::topo_sort() {
  std::unordered_map<std::string, int> producer_of;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (const auto& o : nodes[n].outputs) producer_of[o] = static_cast<int>(n);
  std::vector<int> state(nodes.size(), 0);  // 0 new, 1 visiting, 2 done
  std::vector<int> order;
  bool ok = true;
  // Iterative DFS keeps deep graphs off the call stack.
  for (size_t root = 0; root < nodes.size() && ok; ++root) {
    if (state[root]) continue;
    std::vector<std::pair<int, size_t>> stack{{static_cast<int>(root), 0}};
    state[root] = 1;
    while (!stack.empty() && ok) {
      auto& [n, next] = stack.back();
      if (next < nodes[n].inputs.size()) {
        const std::string& in = nodes[n].inputs[next++];
        auto it = producer_of.find(in);
        if (in.empty() || it == producer_of.end()) continue;
        int p = it->second;
        if (state[p] == 1) ok = false;
        else if (state[p] == 0) {
          state[p] = 1;
          stack.push_back({p, 0});
        }
      } else {
        state[n] = 2;
        order.push_back(n);
        stack.pop_back();
      }
    }
  }
  if (!ok) return false;
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  for (int n : order) sorted.push_back(std::move(nodes[n]));
  nodes = std::move(sorted);
  return true;
}

std::map<std::string, int> Graph::op_counts() const {
  std::map<std::string, int> m;
  for (const Node& n : nodes) ++m[n.op];
  return m;
}

}  // namespace pocket::ir
