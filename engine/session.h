// Per-thread execution state for one Model. Creation does everything that can fail: shape
// inference and op prepare (kernel choice, weight packing), the arena plan, binding. run() only
// runs: no allocation, no I/O, no failure paths.
#pragma once

#include <pthreadpool.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/backend.h"
#include "engine/model.h"
#include "engine/op.h"
#include "engine/partition.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace pocket {

namespace kernels {
class XnnAccount;  // kernels/xnnpack/xnnpack_init.h
}

struct SessionOptions {
  int num_threads = 1;  // 1 runs on the calling thread; N > 1 creates a pthreadpool of N
  // Kernel choice for ops with several implementations (Op::variants()). By default each op uses
  // its documented heuristic. With tune, the session times every variant of every such op once,
  // on temporary buffers filled with deterministic values, and keeps the fastest (median of a few
  // runs). Tuning costs one or a few runs of each variant at creation.
  bool tune = false;
  // A tuning file (e.g. "model.pocket.tune" beside the model). Without tune: its choices are used
  // where they still match (entries are keyed by node name and thread count, and checked against a
  // hash of the op, its input shapes and the CPU's ISA; a stale entry is ignored with a notice).
  // With tune: read first, then written back with this thread count's fresh choices (entries for
  // other thread counts are kept). A missing file is not an error; a file that is not a Pocket
  // tuning file is (it is never overwritten); a corrupt one is ignored with a notice.
  std::string tuning_file;
  // With num_threads > 1: when a run with the thread pool is slower than the calling thread alone
  // (a worker's core is busy with another process, so every parallel op waits for it), later runs
  // go on the calling thread only, and the pool is tried again now and then. See Session::run().
  bool adaptive_threads = true;
  // Input shapes to use from the start (name -> shape), applied as resize_inputs() would, before
  // the one prepare at creation. Symbolic dims not given here start at 1.
  std::vector<std::pair<std::string, Shape>> input_shapes;
  // The most bytes the session may use (MemoryReport::total()); 0: no limit. Creation (and
  // resize_input) fails with kOutOfMemory, naming the plan's parts and the budget, when the plan
  // needs more. Checked before the arena is mapped (with everything but XNNPACK's setup buffers,
  // which only bind allocates), and again after bind with the final figures; everything the
  // failed attempt took is released.
  size_t memory_budget = 0;
  // The most device memory the backend may allocate for this session (MemoryReport::device: every
  // offloaded subgraph's activations, weights and staging); 0: no limit. A subgraph that would take
  // it over is not offloaded: it runs on the CPU with a notice (with backend_required: creation
  // fails with kOutOfMemory). Host memory stays under memory_budget, which does not count device
  // memory (on a CPU Vulkan driver such as lavapipe, device memory is host memory: set both).
  size_t device_memory_budget = 0;
  // Sustained mode (battery and heat, engine/pacing.h): num_threads is capped at
  // sustained_max_threads, or when that is 0 at half the CPU's cores (at least 1); num_threads()
  // reports the capped count. Pair it with a Pacer's duty cycle to bound the CPU time too.
  bool sustained = false;
  int sustained_max_threads = 0;

  // Where nodes run (issue #7; engine/backend.h, engine/partition.h, engine/backends/README.md).
  //   "cpu"    (default) every node on the CPU.
  //   "vulkan" the Vulkan backend (make_vulkan_backend(true): a CPU driver such as lavapipe is
  //            accepted when there is no GPU) runs every subgraph of nodes it supports; the rest
  //            stays on the CPU. No usable Vulkan: everything on the CPU, with a notice and the
  //            reason in partition().decision (an error instead with backend_required).
  //   "auto"   the Vulkan backend only when it finds a GPU (make_vulkan_backend(false)), that
  //            device is an accelerator (Backend::is_accelerator()), and the nodes it would run
  //            hold at least half of the FLOPs (Op::flops); else the CPU. Never an error.
  // Any other name is an error. partition() says what was decided and why.
  std::string backend = "cpu";
  bool backend_fp16 = false;        // BackendOptions::fp16: fp16 storage where the device can
  // BackendOptions::fp16_arithmetic: fp16 storage and fp16 multiply-adds where the device can
  // (implies backend_fp16; a device without fp16 arithmetic keeps fp32 arithmetic and says so in
  // notices()).
  bool backend_fp16_arithmetic = false;
  std::string pipeline_cache_file;  // BackendOptions::pipeline_cache_file ("" : none)
  // "vulkan" (or a custom backend) that cannot be used -- no device, a subgraph whose prepare
  // fails -- is an error instead of a CPU fallback with a notice.
  bool backend_required = false;
  // Tests and embedders: this backend instead of the named one. With backend "cpu" or "vulkan"
  // it runs every subgraph it supports; with "auto" the auto rules above apply to it. The session
  // holds a reference; the backend must not be used by another thread while sessions prepare.
  std::shared_ptr<Backend> custom_backend;
};

// Every byte a session uses, known once creation (or a resize) has finished. Nothing is allocated
// after that: run() allocates nothing. Heap figures are what the session asked for (allocator
// rounding and free-list slack are not included); worker threads' stacks (pthreadpool, one per
// thread beyond the first) are mappings of their own, not in the report (pocket-bench prints them).
struct MemoryReport {
  size_t arena = 0;            // activations and kernel scratch: one mapping, offsets from liveness
  size_t arena_lower_bound = 0;  // the most bytes live at any one step (what a perfect plan needs)
  size_t packed_weights = 0;   // packed weight buffers this session's ops hold, each counted once
                               // (shared with the model's other sessions through its weight
                               // cache: counted in each)
  size_t converted_constants = 0;  // F32 copies of F16 / dequantized I8 constants (also shared)
  size_t known_values = 0;     // outputs of nodes evaluated once at prepare
  size_t xnnpack = 0;          // heap XNNPACK holds for this session's operators (their packed
                               // weights and setup buffers), net of frees; per session, not shared
  size_t op_private = 0;       // other per-op heap buffers (Op::private_bytes())
  size_t session_overhead = 0; // the session's own tables: values, contexts, op objects, pool, the
                               // arena mapping's page rounding (an estimate from the heap blocks)
  size_t model_file = 0;       // the model's mapping or copy (shared by every session; not in total())
  // Backend memory (partition()): the sum of every offloaded subgraph's DeviceMemory::allocated.
  // Not in total(): on a GPU it is device memory (on a CPU driver such as lavapipe, it is host
  // memory too). memory_budget does not limit it; device_memory_budget does.
  size_t device = 0;
  // Bytes this session adds: everything above except model_file (and arena_lower_bound).
  size_t total() const {
    return arena + packed_weights + converted_constants + known_values + xnnpack + op_private + session_overhead;
  }
};

// Where an op's kernel choice came from.
enum class ChoiceSource { kHeuristic, kTuned, kFile };
const char* choice_source_name(ChoiceSource s);  // "heuristic", "tuned", "file"

// The kernel choice of one op that has two or more variants.
struct KernelChoice {
  int32_t node = 0;
  std::string op;                      // "Conv"
  std::string name;                    // node name
  std::vector<std::string> variants;   // Op::variants(), heuristic order
  std::vector<double> median_ms;       // tuned: per variant; < 0 when the op refused it (a variant
                                       // 3x slower than the best so far gets one run)
  int chosen = 0;                      // index into variants
  ChoiceSource source = ChoiceSource::kHeuristic;
};

// Where session creation spent its time (milliseconds), for pocket-bench --verbose-init.
struct InitTimes {
  struct PerOp {
    std::string op;  // op type and kernel, "Conv xnnpack.conv2d"
    int count = 0;
    double prepare_ms = 0, bind_ms = 0;
  };
  double setup_ms = 0;     // tensors table, thread pool
  double prepare_ms = 0;   // shape inference + kernel choice + weight packing (every op's prepare)
  double tune_ms = 0;      // timing variants (tune) and reading/writing the tuning file
  double plan_ms = 0;      // liveness and arena offsets
  double arena_ms = 0;     // arena mapping
  double bind_ms = 0;      // every op's bind (XNNPACK setup)
  // Partitioning and every subgraph's prepare on the backend (uploads, pipelines, device plan).
  // Creating the backend itself (device selection) is in setup_ms.
  double backend_ms = 0;
  double total_ms = 0;
  std::vector<PerOp> per_op;  // by op type and kernel, most expensive first
  // Constants converted to F32 at creation (format 1.2): F16 weights, and I8 weights read by an op
  // without an int8 form for them (dequantized). Bytes are the F32 copies' (shared by every
  // session of the model through its weight cache); convert_ms is included in prepare_ms.
  int converted_f16 = 0, dequantized_i8 = 0;
  size_t converted_bytes = 0;
  double convert_ms = 0;
};

struct OpProfile {
  std::string op;       // "Conv"
  std::string name;     // node name
  std::string kernel;   // chosen kernel
  std::string choice;   // "" (no alternatives), else choice_source_name() of the choice
  Shape output_shape;
  int64_t flops = 0;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  // Inputs live in the arena: write through input(i).data, or use set_input(). They are not
  // overwritten by run(): running again without setting them gives the same outputs. Except an
  // input updated in place: when an input is read only by a ScatterND/ScatterElements (its data
  // operand), that op writes into the input's buffer, and its output (a graph output, e.g. a KV
  // cache self_k_i -> self_k_i_out) has the same data pointer; the next run sees the updated
  // bytes, so the caller feeds nothing back. Compare output(j).data with input(i).data to know.
  Value& input(size_t i) { return values_[inputs_[i]]; }
  const Value& output(size_t i) const { return values_[outputs_[i]]; }
  int find_input(std::string_view name) const;   // -1 if absent
  int find_output(std::string_view name) const;

  // Copies data in after checking dtype and shape against the input; the error names both.
  Status set_input(std::string_view name, DType dtype, const Shape& shape, const void* data);
  // Gives an input a new shape (symbolic dims, other image sizes): re-infers shapes, re-prepares
  // (re-tunes when tuning) and re-plans. Input contents are not kept. Symbolic dims are bound by
  // name: giving input_ids [1, 128] whose dims are named "batch" and "seq" also gives every other
  // input's dims named "batch" and "seq" the sizes 1 and 128. On failure the session keeps its
  // previous shapes (and is usable as before).
  Status resize_input(std::string_view name, const Shape& shape);
  // Several inputs at once (one re-prepare); the same binding by name. Two inputs that give one
  // dim name different sizes are an error.
  Status resize_inputs(const std::vector<std::pair<std::string, Shape>>& shapes);

  // Runs every step: CPU ops, and per offloaded subgraph upload inputs, run, download outputs. With a thread pool and adaptive_threads, each run is timed (two clock reads):
  // when pooled runs are slower than runs on the calling thread alone, the session runs on the
  // calling thread and re-tries the pool every few runs (a busy sibling core otherwise stalls
  // every parallel op, since a parallel loop ends only when every worker has checked in).
  // CPU ops cannot fail; a backend's upload, run or download can (a lost device): run() then goes
  // on with the remaining steps (the outputs that step feeds hold stale or garbage bytes) and
  // run_status() returns the first failure of that run, naming the subgraph. Without offloaded
  // subgraphs run_status() is always OK.
  void run();
  // The status of the last run() or run_profiled(): OK, or the first backend failure.
  const Status& run_status() const { return run_status_; }
  // Same, recording each step's wall time in seconds into op_seconds (resized to num_run_ops()).
  // Always uses the thread pool when there is one.
  void run_profiled(std::vector<double>& op_seconds);

  // The steps run() runs, in order, one entry per op_seconds entry of run_profiled(): each CPU op
  // (nodes evaluated once at prepare are left out), and each offloaded subgraph as one entry
  // (op "vulkan subgraph", name "subgraph 0 (34 nodes)", kernel the backend's name, flops the sum
  // of its nodes', output_shape its first output's).
  std::vector<OpProfile> profile_info() const;
  size_t num_run_ops() const { return steps_.size(); }
  // What runs where: the backend decision, subgraphs, transfers, nodes left on the CPU and why.
  const PartitionReport& partition() const { return partition_; }
  // partition().summary(), kept until the next resize (for the C API).
  const std::string& partition_summary() const { return partition_summary_; }
  // Nodes evaluated once at prepare (Shape, and nodes whose inputs are all constant or known with
  // outputs of at most kMaxKnownElements elements each): they do not run again.
  size_t num_prepare_evaluated() const { return contexts_.size() - run_order_.size(); }
  static constexpr int64_t kMaxKnownElements = 65536;
  // Ops with several variants: what was chosen and why (and the timings when tuned).
  const std::vector<KernelChoice>& kernel_choices() const { return choices_; }
  // Things worth telling the user that are not errors (stale tuning entries, ...), one per line.
  const std::vector<std::string>& notices() const { return notices_; }
  const InitTimes& init_times() const { return init_times_; }
  size_t arena_bytes() const { return arena_bytes_; }
  size_t arena_lower_bound() const { return arena_lower_bound_; }
  // Every byte the session uses, by kind (see MemoryReport).
  MemoryReport memory() const;
  int num_threads() const { return options_.num_threads; }
  // Runs so far that went to the calling thread only because the pool was found slower.
  int64_t single_thread_runs() const { return adaptive_.single_runs; }
  const Model& model() const { return *model_; }

 private:
  Session() = default;
  Status prepare_all();
  Status choose_backend();
  Status offload();
  Status evaluate_at_prepare(size_t n);
  Status apply_input_shapes(const std::vector<std::pair<std::string, Shape>>& shapes);
  void free_known();
  void run_ops(pthreadpool_t pool);
  void set_run_pool(pthreadpool_t pool);
  Status alloc_arena(size_t bytes);
  void free_arena();

  // Run-time choice between the pool and the calling thread (adaptive_threads).
  struct Adaptive {
    double pool_ms = -1, single_ms = -1;  // smoothed latency of each mode; < 0: not measured yet
    int64_t runs = 0, single_runs = 0;
    int64_t next_probe = 0;               // run index at which the other mode is tried again
    int probe_interval = 8;               // grows while probes confirm the current mode
    bool single = false;                  // current mode: calling thread only
  };

  std::shared_ptr<const Model> model_;
  SessionOptions options_;
  pthreadpool_t pool_ = nullptr;
  pthreadpool_t run_pool_ = nullptr;     // the pool the contexts hold right now (pool_ or nullptr)
  std::vector<Value> values_;
  std::vector<int32_t> inputs_, outputs_;
  std::vector<std::unique_ptr<Op>> ops_;
  std::vector<OpContext> contexts_;
  // F32 copies of F16 constants and of I8 constants an op reads as float (Op::accepts_quantized):
  // the values the contexts point at instead of the file's, and the shared buffers behind them.
  std::vector<std::unique_ptr<Value>> converted_values_;
  std::vector<std::shared_ptr<const PackedWeights>> converted_buffers_;
  std::vector<int32_t> converted_tensors_;
  Status convert_constant_inputs(size_t n, Op& op);
  std::vector<uint32_t> run_order_;      // nodes run() runs (not evaluated at prepare)
  std::vector<void*> known_blocks_;      // outputs of nodes evaluated at prepare (Value::known)
  std::vector<KernelChoice> choices_;
  std::vector<std::string> notices_;
  InitTimes init_times_;
  Adaptive adaptive_;
  // Memory accounting (memory()). Per node, the packed buffers its op got from the weight cache
  // during its (last) prepare; known_bytes_: the blocks behind known_blocks_; xnn_account_: the
  // XNNPACK heap bytes this session's operators hold (kernels/xnnpack/xnnpack_init.h).
  std::vector<std::vector<std::pair<const PackedWeights*, size_t>>> node_packed_;
  size_t known_bytes_ = 0;
  kernels::XnnAccount* xnn_account_ = nullptr;
  MemoryReport plan_memory_report(size_t arena) const;
  Status check_budget(const MemoryReport& r, const char* when) const;
  // Backends (issue #7). backend_ is chosen once at creation (nullptr: the CPU alone);
  // backend_decision_ says why. offload() partitions run_order_ at every prepare_all.
  std::shared_ptr<Backend> backend_;
  std::string backend_decision_, backend_notice_;
  struct Offloaded {
    std::unique_ptr<BackendExecutable> exe;
    std::vector<Value*> inputs, outputs;  // session values: uploaded from / downloaded into the arena
    std::vector<uint32_t> nodes;
    int64_t flops = 0;
    std::string label;  // "subgraph 0 (34 nodes)"
  };
  struct Step {
    int subgraph = -1;  // index into offloaded_, or -1: the CPU op of node
    uint32_t node = 0;
  };
  std::vector<Offloaded> offloaded_;
  std::vector<Step> steps_;
  PartitionReport partition_;
  std::string partition_summary_;
  Status run_status_;
  void run_steps();
  void run_step(const Step& st);
  void* arena_ = nullptr;
  size_t arena_mapped_ = 0;
  size_t arena_bytes_ = 0;
  size_t arena_lower_bound_ = 0;
};

}  // namespace pocket
