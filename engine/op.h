// The operator interface. An op instance lives in one Session. Its life:
//   prepare(ctx)  validate attributes, dtypes and shapes; set every output's dtype and shape;
//                 choose a kernel; pack weights; declare scratch bytes. May fail, with a message
//                 naming the op, the tensor and the shape (use ctx.fail()).
//   bind(ctx)     called once the memory plan is final: every pointer in ctx is where run() will
//                 see it (XNNPACK's setup step goes here). May fail.
//   run(ctx)      compute. Cannot fail, never allocates.
#pragma once

#include <pthreadpool.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/tensor.h"
#include "engine/weight_cache.h"

namespace pocket {

// Read-only view of a node's attributes.
class Attrs {
 public:
  explicit Attrs(const fb::Node* node) : node_(node) {}
  bool has(const char* name) const { return find(name) != nullptr; }
  int64_t i(const char* name, int64_t fallback) const;
  float f(const char* name, float fallback) const;
  std::string s(const char* name, const std::string& fallback) const;
  std::vector<int64_t> ints(const char* name, std::vector<int64_t> fallback = {}) const;
  std::vector<float> floats(const char* name, std::vector<float> fallback = {}) const;
  const fb::Attribute* find(const char* name) const;

 private:
  const fb::Node* node_;
};

// Everything an op sees. inputs[i] is nullptr for an optional input that was left out.
struct OpContext {
  const fb::Node* node = nullptr;
  std::vector<Value*> inputs;
  std::vector<Value*> outputs;
  pthreadpool_t pool = nullptr;   // nullptr means one thread
  int num_threads = 1;
  void* scratch = nullptr;        // bind/run: scratch_bytes bytes of arena, 64-byte aligned
  size_t scratch_bytes = 0;       // prepare: set by the op
  // prepare: which of the op's variants() to use; -1 means the op's documented default heuristic.
  // Set by the session when tuning (SessionOptions::tune) or from a saved tuning file. An index
  // the op does not have falls back to the heuristic.
  int variant = -1;
  // prepare: the model's packed-weight cache (nullptr in tests that run an op alone). Key entries
  // by op_name() plus whatever the packed bytes depend on.
  WeightCache* weight_cache = nullptr;

  Attrs attrs() const { return Attrs(node); }
  std::string op_name() const;     // "Conv 'features.0.0'"
  // An error that names the op and node: ctx.fail(StatusCode::kInvalidModel, "...").
  Status fail(StatusCode code, const std::string& what) const;
  Value& in(size_t i) const { return *inputs[i]; }
  Value& out(size_t i) const { return *outputs[i]; }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
};

class Op {
 public:
  virtual ~Op() = default;
  virtual Status prepare(OpContext& ctx) = 0;
  virtual Status bind(OpContext& ctx) { (void)ctx; return Status::Ok(); }
  virtual void run(OpContext& ctx) = 0;
  // Which kernel prepare() chose, e.g. "xnnpack.conv2d", "ref", "avx2"; for profiles.
  virtual std::string kernel_name() const { return "ref"; }
  // Floating-point operations per run (a multiply-accumulate counts 2), for GFLOP/s in profiles.
  virtual int64_t flops(const OpContext& ctx) const { (void)ctx; return 0; }
  // Index of an input whose bytes output 0 may share (a view: Reshape, Flatten, Squeeze,
  // Unsqueeze, Identity); -1 for none. The session then plans no buffer for output 0, and
  // run() sees the same pointer for both and does nothing.
  virtual int alias_input() const { return -1; }
  // Index of an input whose buffer output 0 may take over and update in place (ScatterND,
  // ScatterElements: a KV cache); -1 for none. The session gives output 0 that input's buffer
  // when the input is neither constant nor known at prepare and nothing else reads its bytes
  // afterwards (a graph input: nothing else at all). run() must then work when the two pointers
  // are equal (write only what changes) and when they differ (copy the input first).
  virtual int inplace_input() const { return -1; }
  // Kernel choice. After prepare(): the names of every implementation this op could run for the
  // prepared shapes, in the default heuristic's order of preference (empty or one name: no choice),
  // and the index of the one prepare() picked. A tuner re-prepares with ctx.variant = i, times each,
  // and keeps the fastest; names (not indices) are what a saved tuning file stores.
  virtual std::vector<std::string> variants() const { return {}; }
  virtual int chosen_variant() const { return 0; }
  // Quantized inputs (format 1.2): whether the op takes input i, an I8 tensor with quantization
  // parameters, as it is (it has an int8 form for it, given the other inputs in ctx, whose dtypes
  // and shapes are final). Asked by the session before prepare, on a fresh op. When false: a
  // constant input is given to the op dequantized to F32 (once per model, shared through the
  // weight cache); a computed input is an error naming the op, the tensor and its dtype.
  // Heap bytes the op holds after prepare() outside the arena and the weight cache (private
  // tables, lookup buffers, ...), for the session's MemoryReport. XNNPACK operators are counted
  // by the session itself and must not be included.
  virtual size_t private_bytes() const { return 0; }
  virtual bool accepts_quantized(const OpContext& ctx, size_t input) const {
    (void)ctx, (void)input;
    return false;
  }
};

using OpFactory = std::unique_ptr<Op> (*)();

// One table, keyed by the op enum, filled on first use (no static initialisers: a static library
// would drop them). Returns nullptr for an op this build cannot run.
OpFactory op_factory(fb::OpType op);

// The table, and the group registration functions that fill it (engine/ops/register_*.cpp).
struct OpTable {
  OpFactory factories[static_cast<int>(fb::OpType::MAX) + 1] = {};
  void set(fb::OpType op, OpFactory f) { factories[static_cast<int>(op)] = f; }
};
void register_nn_ops(OpTable& table);      // conv, pooling, gemm, matmul, LRN
void register_tensor_ops(OpTable& table);       // data movement, shape ops
void register_elementwise_ops(OpTable& table);  // elementwise, activations, softmax, normalisation, reductions
// Last: QuantizeLinear/DequantizeLinear, and the ops with int8 forms (format 1.2) wrapped so that
// prepare picks the float or the int8 implementation by the input dtypes.
void register_quant_ops(OpTable& table);

}  // namespace pocket
