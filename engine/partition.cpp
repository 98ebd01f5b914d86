#include "engine/partition.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <queue>
#include <unordered_map>

namespace pocket {

namespace {

bool runtime_value(const Value* v) { return v && !v->constant && !v->known; }

// A set of group ids as bits.
struct Bits {
  std::vector<uint64_t> w;
  bool test(int g) const {
    const size_t i = static_cast<size_t>(g) / 64;
    return i < w.size() && (w[i] >> (g % 64) & 1);
  }
  void set(int g) {
    const size_t i = static_cast<size_t>(g) / 64;
    if (w.size() <= i) w.resize(i + 1, 0);
    w[i] |= uint64_t{1} << (g % 64);
  }
  void merge(const Bits& o) {
    if (w.size() < o.w.size()) w.resize(o.w.size(), 0);
    for (size_t i = 0; i < o.w.size(); ++i) w[i] |= o.w[i];
  }
};

}  // namespace

Partition partition_nodes(const std::vector<NodeView>& nodes, const Backend& backend,
                          const std::vector<const Value*>& graph_outputs) {
  const size_t n = nodes.size();
  Partition p;
  p.support.reserve(n);
  for (const NodeView& nv : nodes) p.support.push_back(backend.supports(nv));

  std::unordered_map<const Value*, size_t> producer;
  for (size_t i = 0; i < n; ++i)
    for (const Value* v : nodes[i].outputs)
      if (v) producer.emplace(v, i);
  std::vector<std::vector<size_t>> preds(n);
  for (size_t i = 0; i < n; ++i) {
    for (const Value* v : nodes[i].inputs) {
      if (!runtime_value(v)) continue;
      auto it = producer.find(v);
      if (it == producer.end() || it->second >= i) continue;  // a graph input
      if (std::find(preds[i].begin(), preds[i].end(), it->second) == preds[i].end()) preds[i].push_back(it->second);
    }
    std::sort(preds[i].begin(), preds[i].end(), std::greater<size_t>());  // latest first
  }

  // Grouping (see partition.h).
  p.group.assign(n, -1);
  std::vector<Bits> dep(n);  // groups each node depends on, through any path
  int groups = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t q : preds[i]) {
      dep[i].merge(dep[q]);
      if (p.group[q] >= 0) dep[i].set(p.group[q]);
    }
    if (!p.support[i].ok) continue;
    auto allowed = [&](int g) {
      for (size_t q : preds[i])
        if (p.group[q] != g && dep[q].test(g)) return false;
      return true;
    };
    int pick = -1;
    for (size_t q : preds[i])
      if (p.group[q] >= 0 && allowed(p.group[q])) {
        pick = p.group[q];
        break;
      }
    if (pick < 0 && i > 0 && p.group[i - 1] >= 0 && allowed(p.group[i - 1])) pick = p.group[i - 1];
    if (pick < 0 && groups > 0 && allowed(groups - 1)) pick = groups - 1;
    if (pick < 0) pick = groups++;
    p.group[i] = pick;
  }
  p.members.assign(static_cast<size_t>(groups), {});
  for (size_t i = 0; i < n; ++i)
    if (p.group[i] >= 0) p.members[static_cast<size_t>(p.group[i])].push_back(i);

  // Steps: items are groups (0..groups-1) and CPU nodes (groups + position); topological order,
  // earliest first position first.
  const size_t items = static_cast<size_t>(groups) + n;
  auto item_of = [&](size_t i) { return p.group[i] >= 0 ? static_cast<size_t>(p.group[i]) : static_cast<size_t>(groups) + i; };
  std::vector<size_t> first(items, n), indegree(items, 0);
  std::vector<std::vector<size_t>> next(items);
  for (size_t i = 0; i < n; ++i) first[item_of(i)] = std::min(first[item_of(i)], i);
  for (size_t i = 0; i < n; ++i)
    for (size_t q : preds[i]) {
      const size_t a = item_of(q), b = item_of(i);
      if (a == b || std::find(next[a].begin(), next[a].end(), b) != next[a].end()) continue;
      next[a].push_back(b);
      indegree[b]++;
    }
  using Entry = std::pair<size_t, size_t>;  // first position, item
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> ready;
  for (size_t it = 0; it < items; ++it)
    if (first[it] < n && indegree[it] == 0) ready.push({first[it], it});
  while (!ready.empty()) {
    const size_t it = ready.top().second;
    ready.pop();
    if (it < static_cast<size_t>(groups)) p.steps.push_back({static_cast<int>(it), 0});
    else p.steps.push_back({-1, it - static_cast<size_t>(groups)});
    for (size_t b : next[it])
      if (--indegree[b] == 0) ready.push({first[b], b});
  }
  size_t covered = 0;
  for (const Partition::Step& s : p.steps) covered += s.subgraph >= 0 ? p.members[static_cast<size_t>(s.subgraph)].size() : 1;
  if (covered != n) {
    // Cannot happen (the grouping admits no cycle); never run a wrong order: everything on the CPU.
    Partition cpu;
    cpu.support = std::move(p.support);
    for (Support& s : cpu.support)
      if (s.ok) s = Support::no("partitioner: the grouping has a cycle (internal error)");
    cpu.group.assign(n, -1);
    for (size_t i = 0; i < n; ++i) cpu.steps.push_back({-1, i});
    return cpu;
  }

  // Each group's inputs (read, produced outside) and outputs (read outside, or graph outputs).
  std::unordered_map<const Value*, std::vector<size_t>> readers;
  for (size_t i = 0; i < n; ++i)
    for (const Value* v : nodes[i].inputs)
      if (runtime_value(v)) readers[v].push_back(i);
  p.subgraphs.resize(static_cast<size_t>(groups));
  for (int g = 0; g < groups; ++g) {
    Subgraph& sg = p.subgraphs[static_cast<size_t>(g)];
    for (size_t i : p.members[static_cast<size_t>(g)]) {
      sg.nodes.push_back(nodes[i]);
      for (const Value* v : nodes[i].inputs) {
        if (!runtime_value(v)) continue;
        auto it = producer.find(v);
        const bool inside = it != producer.end() && p.group[it->second] == g;
        if (!inside && std::find(sg.inputs.begin(), sg.inputs.end(), v) == sg.inputs.end()) sg.inputs.push_back(v);
      }
      for (const Value* v : nodes[i].outputs) {
        if (!v) continue;
        bool out = std::find(graph_outputs.begin(), graph_outputs.end(), v) != graph_outputs.end();
        auto it = readers.find(v);
        if (!out && it != readers.end())
          for (size_t r : it->second) out = out || p.group[r] != g;
        if (out && std::find(sg.outputs.begin(), sg.outputs.end(), v) == sg.outputs.end()) sg.outputs.push_back(v);
      }
    }
  }
  return p;
}

size_t PartitionReport::transfer_bytes_per_run() const {
  size_t b = 0;
  for (const Part& s : subgraphs) b += s.upload_bytes + s.download_bytes;
  return b;
}

size_t PartitionReport::device_allocated() const {
  size_t b = 0;
  for (const Part& s : subgraphs) b += s.memory.allocated;
  return b;
}

namespace {

std::string bytes_str(size_t bytes) {
  char buf[64];
  if (bytes >= (1u << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1 << 20));
  else if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else std::snprintf(buf, sizeof buf, "%zu B", bytes);
  return buf;
}

}  // namespace

std::string PartitionReport::summary(size_t max_cpu_nodes) const {
  std::string s = "backend: " + backend + " (requested " + requested + ")";
  if (!device.empty()) s += ", device: " + device;
  s += "\n";
  if (!decision.empty()) s += "decision: " + decision + "\n";
  if (ops_offloaded > 0)
    s += "ops: " + std::to_string(ops_offloaded) + " offloaded to " + backend + ", " + std::to_string(ops_on_cpu) +
         " on the CPU (" + std::to_string(ops_offloaded + ops_on_cpu) + " run)\n";
  else
    s += "ops: all " + std::to_string(ops_on_cpu) + " on the CPU, none offloaded\n";
  std::string current;
  for (const auto& [key, count] : ops_per_backend_by_type) {
    const size_t sp = key.find(' ');
    const std::string be = key.substr(0, sp), op = sp == std::string::npos ? "" : key.substr(sp + 1);
    if (be != current) {
      if (!current.empty()) s += "\n";
      s += "  " + be + ":";
      current = be;
    } else {
      s += ",";
    }
    s += " " + op + " " + std::to_string(count);
  }
  if (!current.empty()) s += "\n";
  int uploads = 0, downloads = 0;
  size_t up = 0, down = 0;
  for (size_t k = 0; k < subgraphs.size(); ++k) {
    const Part& p = subgraphs[k];
    uploads += p.uploads;
    downloads += p.downloads;
    up += p.upload_bytes;
    down += p.download_bytes;
    s += "subgraph " + std::to_string(k) + ": " + std::to_string(p.nodes.size()) + " nodes, " + std::to_string(p.uploads) +
         " uploads (" + bytes_str(p.upload_bytes) + "), " + std::to_string(p.downloads) + " downloads (" +
         bytes_str(p.download_bytes) + "); device memory: activations planned " + bytes_str(p.memory.planned) +
         " (lower bound " + bytes_str(p.memory.lower_bound) + "), weights " + bytes_str(p.memory.weights) + ", staging " +
         bytes_str(p.memory.staging) + ", allocated " + bytes_str(p.memory.allocated) + "\n";
    // Kernels by name, most used first ("vulkan.conv2d_f16a 20": the precision shows in the suffix).
    std::vector<std::pair<std::string, int>> kernels;
    for (const std::string& name : p.kernels) {
      auto it = std::find_if(kernels.begin(), kernels.end(), [&](const auto& e) { return e.first == name; });
      if (it == kernels.end()) kernels.push_back({name, 1});
      else ++it->second;
    }
    std::stable_sort(kernels.begin(), kernels.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (!kernels.empty()) {
      s += "  kernels:";
      for (size_t i = 0; i < kernels.size(); ++i)
        s += (i ? ", " : " ") + kernels[i].first + " " + std::to_string(kernels[i].second);
      s += "\n";
    }
  }
  if (!subgraphs.empty())
    s += "transfers per run: " + std::to_string(uploads) + " uploads (" + bytes_str(up) + ") + " + std::to_string(downloads) +
         " downloads (" + bytes_str(down) + ") = " + bytes_str(up + down) + "; device memory allocated " +
         bytes_str(device_allocated()) + "\n";
  if (!stayed_on_cpu.empty() && requested != "cpu") {
    // Nodes whose reason is the decision itself (no backend, auto said no) are counted, not listed.
    // A reason repeated by the node listed just before (a whole subgraph that failed to prepare)
    // is written once.
    size_t by_decision = 0, listed = 0;
    std::string lines;
    const std::string* previous = nullptr;
    for (const CpuNode& c : stayed_on_cpu) {
      if (c.reason == decision) {
        ++by_decision;
        continue;
      }
      if (listed++ < max_cpu_nodes)
        lines += "  #" + std::to_string(c.node) + " " + c.label + ": " +
                 (previous && *previous == c.reason ? std::string("the same") : c.reason) + "\n";
      previous = &c.reason;
    }
    s += "stayed on the CPU (" + std::to_string(stayed_on_cpu.size()) + ")" +
         (by_decision ? ", " + std::to_string(by_decision) + " of them by the decision above" : std::string()) +
         (listed ? ":\n" : "\n") + lines;
    if (listed > max_cpu_nodes) s += "  ... and " + std::to_string(listed - max_cpu_nodes) + " more\n";
  }
  return s;
}

}  // namespace pocket
