// Backends (issue #7): where a node runs. The CPU is always there; other backends (Vulkan today;
// Metal, Core ML, NNAPI are described in engine/backends/README.md) implement this interface and
// the session's partitioner hands each the largest connected runs of nodes it supports.
//
// The flow at session creation (engine/session.cpp, engine/partition.h):
//   1. every node is prepared on the CPU as before: that is the shape inference, and it leaves
//      every Value with its final dtype and shape (and evaluates prepare-time nodes);
//   2. the partitioner asks backend.supports(node) for every node run() runs, groups supported
//      nodes into subgraphs (connected, in run order, with no path that leaves the subgraph and
//      comes back), and computes each subgraph's inputs (values it reads that the CPU produces or
//      the caller sets) and outputs (values it produces that the CPU or the caller reads);
//   3. backend.prepare(subgraph) uploads the subgraph's constants once, builds pipelines, plans
//      device memory and returns a BackendExecutable;
//   4. the session's run order becomes a list of steps: CPU nodes, and per subgraph
//      upload(input) x k, run(), download(output) x m: the explicit transfers, which the
//      partition report counts (bytes per run).
// Values internal to a subgraph get no host arena bytes; the CPU ops of offloaded nodes are
// released after partitioning (their packed weights with them).
//
// Versioning: kBackendInterfaceVersion changes whenever a virtual function below changes. A
// backend reports the version it was built against (interface_version()); the session refuses
// one that differs, with an error naming both numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/op.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace pocket {

constexpr int kBackendInterfaceVersion = 1;

// A node as a backend sees it: the file's node (op type, attributes through Attrs) and its
// operands with their final dtypes and shapes. inputs[i] is nullptr for an optional input left
// out. A constant input has Value::constant (data in the model file) or Value::known (computed at
// prepare) set and its data pointer valid; other inputs' data pointers are not valid yet.
struct NodeView {
  uint32_t index = 0;  // node index in the graph
  const fb::Node* node = nullptr;
  std::vector<const Value*> inputs;
  std::vector<const Value*> outputs;

  fb::OpType op() const { return node->op(); }
  Attrs attrs() const { return Attrs(node); }
  std::string label() const;  // "Conv 'features.0.0'" (op type and node name)
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
};

// supports(): yes, or no with the reason the partition report prints ("dtype I64 of input 0",
// "group 3 conv: only group 1 or depthwise", "no Vulkan shader for LRN").
struct Support {
  bool ok = false;
  std::string reason;
  static Support yes() { return {true, {}}; }
  static Support no(std::string why) { return {false, std::move(why)}; }
};

// A subgraph handed to one backend. nodes are in run order; every value a node reads is either
// produced by an earlier node of the subgraph, one of `inputs`, or constant/known.
struct Subgraph {
  std::vector<NodeView> nodes;
  std::vector<const Value*> inputs;   // read by the subgraph, produced outside (uploaded each run)
  std::vector<const Value*> outputs;  // produced inside, read outside or graph outputs (downloaded)
};

struct BackendOptions {
  bool fp16 = false;               // store activations and weights as fp16 where the device can
  // With fp16: also compute in fp16 where the device can (Vulkan: shaderFloat16; the hot loops of
  // conv, MatMul/Gemm and attention's Q K^T multiply-add in fp16, in chunks summed in fp32).
  // A device that cannot: fp16 storage with fp32 arithmetic, said in BackendExecutable::notes().
  bool fp16_arithmetic = false;
  // Device bytes this subgraph may allocate (DeviceMemory::allocated); 0: no limit. prepare()
  // fails with kOutOfMemory, naming its parts, before allocating when the plan needs more (and
  // again if the driver's rounding takes it over).
  size_t memory_budget = 0;
  std::string pipeline_cache_file; // "" : no cache file (e.g. "model.pocket.vkcache")
  int num_threads = 1;             // the session's CPU thread count (for the CPU backend)
};

// What a prepared subgraph holds on the device, for the partition report and MemoryReport.
struct DeviceMemory {
  size_t planned = 0;    // activation bytes the liveness plan needs (one allocation)
  size_t lower_bound = 0;// most activation bytes live at one step
  size_t weights = 0;    // constants uploaded once
  size_t staging = 0;    // host-visible staging buffers (reused every run)
  size_t allocated = 0;  // everything actually allocated on the device (vkAllocateMemory sums)
};

// A subgraph prepared on a backend. Not thread-safe: one per session (like the session itself).
class BackendExecutable {
 public:
  virtual ~BackendExecutable() = default;
  // Explicit transfers, by index into Subgraph::inputs / outputs. upload copies `bytes` bytes from
  // host memory into the backend's copy of the input (staging); download copies the output's
  // bytes back into host memory after run(). Both may be called on any step order the session
  // chooses: uploads before run(), downloads after it.
  virtual Status upload(size_t input, const void* host, size_t bytes) = 0;
  virtual Status run() = 0;  // every node of the subgraph; waits until the device is done
  virtual Status download(size_t output, void* host, size_t bytes) = 0;
  virtual DeviceMemory memory() const = 0;
  // Per node (same order as Subgraph::nodes): the kernel it runs, e.g. "vulkan.conv2d_f32".
  virtual std::vector<std::string> kernel_names() const = 0;
  // What the session should tell the user about this subgraph (Session::notices): e.g. a precision
  // asked for that the device cannot give, a pipeline cache that could not be read.
  virtual std::vector<std::string> notes() const { return {}; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual int interface_version() const { return kBackendInterfaceVersion; }
  virtual const char* name() const = 0;     // "cpu", "vulkan"
  virtual std::string device() const = 0;   // "llvmpipe (LLVM 15.0.6, 256 bits), CPU driver, Vulkan 1.3"
  // True for a backend that runs on a real accelerator (not a CPU emulation such as lavapipe):
  // `auto` only offloads to such a backend.
  virtual bool is_accelerator() const = 0;
  virtual Support supports(const NodeView& node) const = 0;
  virtual Result<std::unique_ptr<BackendExecutable>> prepare(const Subgraph& subgraph, const BackendOptions& options) = 0;
};

// The CPU backend: supports every node this build has an op for (op_factory) and runs a subgraph
// with the same ops the session uses (engine/backend.cpp). The session runs CPU nodes directly;
// this class exists so tests and tools can treat the CPU like any other backend.
std::unique_ptr<Backend> make_cpu_backend();

// The Vulkan backend (engine/backends/vulkan/), or an error saying why there is none: built
// without Vulkan (POCKET_VULKAN=OFF), no Vulkan loader or driver, no device with compute.
// allow_cpu_device: accept a CPU implementation (lavapipe) when no GPU is found (tests; `vulkan`
// when asked for by name). Device order: discrete GPU, integrated GPU, virtual GPU, then CPU.
Result<std::unique_ptr<Backend>> make_vulkan_backend(bool allow_cpu_device);

}  // namespace pocket
