// The CPU backend: the reference every other backend is compared with. A subgraph prepared on it
// gets its own ops (the same op_factory ops the session runs, prepared with the same inputs), its
// own host buffers (a liveness plan of its own) and its own thread pool; upload and download are
// memcpy. Offloading any subgraph to it gives bitwise the session's outputs.
#include "engine/backend.h"

#include <pthreadpool.h>

#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "engine/memory_plan.h"
#include "format/format.h"

namespace pocket {

std::string NodeView::label() const {
  std::string s = node ? fb::EnumNameOpType(node->op()) : "?";
  if (node && node->name() && node->name()->size()) s += " '" + node->name()->str() + "'";
  return s;
}

namespace {

class CpuExecutable final : public BackendExecutable {
 public:
  ~CpuExecutable() override {
    ops_.clear();  // XNNPACK operators may point into the buffer
    std::free(buffer_);
    if (pool_) pthreadpool_destroy(pool_);
  }

  Status prepare(const Subgraph& sg, const BackendOptions& options) {
    if (options.num_threads > 1) {
      pool_ = pthreadpool_create(static_cast<size_t>(options.num_threads));
      if (!pool_) return internal_error("cpu backend: cannot create a thread pool of " + std::to_string(options.num_threads));
    }
    // The subgraph's own copies of every non-constant value it touches (index by the session's
    // Value*); constants and known values keep their data pointers.
    std::unordered_map<const Value*, size_t> index;
    auto own = [&](const Value* v) -> Value* {
      auto it = index.find(v);
      if (it != index.end()) return &values_[it->second];
      index.emplace(v, values_.size());
      values_.push_back(*v);
      values_.back().data = nullptr;
      return &values_.back();
    };
    // Values are referenced by pointer from the contexts: size the table first (no reallocation).
    size_t count = sg.inputs.size();
    for (const NodeView& nv : sg.nodes) count += nv.inputs.size() + nv.outputs.size();
    values_.reserve(count);
    for (const Value* v : sg.inputs) inputs_.push_back(own(v));

    const size_t nn = sg.nodes.size();
    contexts_.resize(nn);
    for (size_t k = 0; k < nn; ++k) {
      const NodeView& nv = sg.nodes[k];
      OpFactory factory = op_factory(nv.op());
      if (!factory) return unsupported(nv.label() + ": no CPU op for " + fb::EnumNameOpType(nv.op()));
      OpContext& ctx = contexts_[k];
      ctx.node = nv.node;
      ctx.pool = pool_;
      ctx.num_threads = options.num_threads;
      for (const Value* in : nv.inputs) {
        if (!in) ctx.inputs.push_back(nullptr);
        else if (in->constant || in->known) ctx.inputs.push_back(const_cast<Value*>(in));
        else ctx.inputs.push_back(own(in));
      }
      for (const Value* out : nv.outputs) ctx.outputs.push_back(own(out));
      ops_.push_back(factory());
      POCKET_RETURN_IF_ERROR(ops_.back()->prepare(ctx));
      for (size_t i = 0; i < ctx.outputs.size(); ++i)
        if (ctx.outputs[i]->dtype != nv.outputs[i]->dtype || ctx.outputs[i]->shape != nv.outputs[i]->shape)
          return internal_error("cpu backend: " + nv.label() + " output " + std::to_string(i) + " prepared as " +
                                dtype_name(ctx.outputs[i]->dtype) + shape_str(ctx.outputs[i]->shape) + ", the session has " +
                                dtype_name(nv.outputs[i]->dtype) + shape_str(nv.outputs[i]->shape));
    }
    for (const Value* v : sg.outputs) {
      auto it = index.find(v);
      if (it == index.end()) return internal_error("cpu backend: subgraph output '" + std::string(v->name) + "' is not produced by it");
      outputs_.push_back(&values_[it->second]);
    }

    // Liveness over the subgraph's steps: inputs live from the start, outputs to the end.
    const int32_t last = static_cast<int32_t>(nn == 0 ? 0 : nn - 1);
    std::vector<BufferUse> uses(values_.size() + nn);
    std::vector<uint8_t> seen(values_.size(), 0);
    auto slot = [&](const Value* v) { return static_cast<size_t>(v - values_.data()); };
    for (Value* v : inputs_) {
      uses[slot(v)] = {v->bytes(), 0, 0};
      seen[slot(v)] = 1;
    }
    for (size_t k = 0; k < nn; ++k) {
      const int32_t step = static_cast<int32_t>(k);
      for (Value* in : contexts_[k].inputs) {
        if (!in || in->constant || in->known) continue;
        if (!seen[slot(in)])
          return internal_error("cpu backend: " + sg.nodes[k].label() + " reads '" + std::string(in->name) +
                                "', which is neither a subgraph input nor produced before it in the subgraph");
        uses[slot(in)].last = std::max(uses[slot(in)].last, step);
      }
      for (Value* out : contexts_[k].outputs) {
        if (!seen[slot(out)]) uses[slot(out)] = {out->bytes(), step, step};
        seen[slot(out)] = 1;
        uses[slot(out)].last = std::max(uses[slot(out)].last, step);
      }
      uses[values_.size() + k] = {contexts_[k].scratch_bytes, step, step};
    }
    for (Value* v : outputs_) uses[slot(v)].last = last;
    MemoryPlan plan = plan_memory(uses, format::kWeightAlignment);
    planned_ = plan.arena_bytes;
    lower_bound_ = plan.lower_bound;
    allocated_ = plan.arena_bytes + format::kWeightAlignment;  // kernels may read 16 bytes past a buffer
    if (options.memory_budget && allocated_ > options.memory_budget)
      return Status(StatusCode::kOutOfMemory, "cpu backend: the subgraph's arena needs " + std::to_string(allocated_) +
                                                  " bytes but the memory budget leaves " + std::to_string(options.memory_budget));
    buffer_ = std::aligned_alloc(format::kWeightAlignment, format::align_up(allocated_, format::kWeightAlignment));
    if (!buffer_) return Status(StatusCode::kOutOfMemory, "cpu backend: cannot allocate " + std::to_string(allocated_) + " bytes");
    std::memset(buffer_, 0, allocated_);
    char* base = static_cast<char*>(buffer_);
    for (size_t i = 0; i < values_.size(); ++i) values_[i].data = base + plan.offsets[i];
    for (size_t k = 0; k < nn; ++k) {
      OpContext& ctx = contexts_[k];
      ctx.scratch = ctx.scratch_bytes ? base + plan.offsets[values_.size() + k] : nullptr;
      POCKET_RETURN_IF_ERROR(ops_[k]->bind(ctx));
    }
    return Status::Ok();
  }

  Status upload(size_t input, const void* host, size_t bytes) override {
    if (input >= inputs_.size()) return invalid_argument("cpu backend: no input " + std::to_string(input));
    if (bytes != inputs_[input]->bytes())
      return invalid_argument("cpu backend: input '" + std::string(inputs_[input]->name) + "' has " +
                              std::to_string(inputs_[input]->bytes()) + " bytes, upload of " + std::to_string(bytes));
    if (bytes) std::memcpy(inputs_[input]->data, host, bytes);
    return Status::Ok();
  }

  Status run() override {
    for (size_t k = 0; k < ops_.size(); ++k) ops_[k]->run(contexts_[k]);
    return Status::Ok();
  }

  Status download(size_t output, void* host, size_t bytes) override {
    if (output >= outputs_.size()) return invalid_argument("cpu backend: no output " + std::to_string(output));
    if (bytes != outputs_[output]->bytes())
      return invalid_argument("cpu backend: output '" + std::string(outputs_[output]->name) + "' has " +
                              std::to_string(outputs_[output]->bytes()) + " bytes, download of " + std::to_string(bytes));
    if (bytes) std::memcpy(host, outputs_[output]->data, bytes);
    return Status::Ok();
  }

  DeviceMemory memory() const override {
    DeviceMemory m;
    m.planned = planned_;
    m.lower_bound = lower_bound_;
    for (const auto& op : ops_) m.weights += op->private_bytes();
    m.allocated = allocated_;
    return m;
  }

  std::vector<std::string> kernel_names() const override {
    std::vector<std::string> names;
    for (const auto& op : ops_) names.push_back("cpu." + op->kernel_name());
    return names;
  }

 private:
  pthreadpool_t pool_ = nullptr;
  std::vector<Value> values_;
  std::vector<Value*> inputs_, outputs_;
  std::vector<std::unique_ptr<Op>> ops_;
  std::vector<OpContext> contexts_;
  void* buffer_ = nullptr;
  size_t planned_ = 0, lower_bound_ = 0, allocated_ = 0;
};

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  std::string device() const override { return "host CPU"; }
  bool is_accelerator() const override { return false; }
  Support supports(const NodeView& node) const override {
    if (!op_factory(node.op())) return Support::no(std::string("no CPU op for ") + fb::EnumNameOpType(node.op()));
    return Support::yes();
  }
  Result<std::unique_ptr<BackendExecutable>> prepare(const Subgraph& subgraph, const BackendOptions& options) override {
    auto exe = std::make_unique<CpuExecutable>();
    POCKET_RETURN_IF_ERROR(exe->prepare(subgraph, options));
    return std::unique_ptr<BackendExecutable>(std::move(exe));
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace pocket
