// The partitioner (issue #7): which of the nodes run() runs go to a backend, grouped into
// subgraphs, and in which order the session's steps (CPU nodes and subgraphs) then run.
//
// Grouping. Nodes are visited in run order. A node the backend supports joins a group when that
// creates no cycle through the CPU: no path leaves the group and comes back into it (a value the
// group produces, read by a CPU node or another group, whose result the node reads). Tried in
// order: the groups of the node's producers (latest first: connected groups), the group of the
// node just before it in run order (consecutive runs: branches), the most recent group (supported
// nodes separated only by CPU nodes that neither feed the node nor are fed by the group). Else
// the node starts a new group. Each node keeps the set of groups it depends on, so each check
// is a few bit tests.
//
// Order. Groups and CPU nodes form a graph without cycles; the steps are its topological order,
// earliest run position first, so that a group runs once all its inputs exist and the CPU nodes
// keep their order around it (a topological reorder: a CPU node that does not depend on a group
// may run after it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/backend.h"

namespace pocket {

struct Partition {
  // One per node given (same order): whether the backend takes it, and why not.
  std::vector<Support> support;
  // Per node given: its group (index into subgraphs), -1 on the CPU.
  std::vector<int> group;
  // Per group: the positions (into the nodes given) of its nodes, ascending.
  std::vector<std::vector<size_t>> members;
  std::vector<Subgraph> subgraphs;
  // Execution order: {subgraph k, 0} or {-1, position of a CPU node}.
  struct Step {
    int subgraph = -1;
    size_t node = 0;
  };
  std::vector<Step> steps;
};

// nodes: the nodes run() runs, in run order (a topological order), as the CPU ops saw them.
// graph_outputs: the values the caller reads after a run (always downloaded when produced inside
// a subgraph). A value read by a node is an input of the subgraph when it is neither constant nor
// known nor produced inside it.
Partition partition_nodes(const std::vector<NodeView>& nodes, const Backend& backend,
                          const std::vector<const Value*>& graph_outputs);

// What the session did with a backend, for pocket-bench, pocket-run and the C API.
struct PartitionReport {
  std::string requested = "cpu";  // "cpu", "vulkan", "auto"
  std::string backend = "cpu";    // what runs the offloaded subgraphs ("cpu" when nothing is offloaded)
  std::string device;             // Backend::device() or ""
  // The device is not an accelerator (a CPU driver such as lavapipe): its "device" memory is this
  // process's host memory, so it adds to the RSS (on a GPU it does not).
  bool device_memory_is_host = false;
  std::string decision;           // one line: why
  struct Part {
    std::vector<uint32_t> nodes;  // graph node indices
    size_t upload_bytes = 0, download_bytes = 0;
    int uploads = 0, downloads = 0;
    DeviceMemory memory;
    std::vector<std::string> kernels;
  };
  std::vector<Part> subgraphs;  // offloaded
  int ops_offloaded = 0, ops_on_cpu = 0;  // nodes run() runs
  // "vulkan Conv" -> 34, "cpu Softmax" -> 1; sorted by backend, then most nodes first.
  std::vector<std::pair<std::string, int>> ops_per_backend_by_type;
  struct CpuNode {
    uint32_t node = 0;
    std::string label, reason;
  };
  std::vector<CpuNode> stayed_on_cpu;  // every run node not offloaded, with the reason

  size_t transfer_bytes_per_run() const;
  size_t device_allocated() const;  // sum of the subgraphs' DeviceMemory::allocated
  // Multi-line text (ends with a newline): backend and device, the decision, ops per backend and
  // type, each subgraph's transfers and device memory, the transfers per run, every node that
  // stayed on the CPU with its reason (the first max_cpu_nodes, then a count).
  std::string summary(size_t max_cpu_nodes = 50) const;
};

}  // namespace pocket
