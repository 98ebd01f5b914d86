#include "engine/session.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "engine/memory_plan.h"
#include "format/format.h"

namespace pocket {

Session::~Session() {
  ops_.clear();  // ops may hold XNNPACK operators that point into the arena
  std::free(arena_);
  if (pool_) pthreadpool_destroy(pool_);
}

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options) {
  if (!model) return invalid_argument("session needs a model");
  if (options.num_threads < 1 || options.num_threads > 1024)
    return invalid_argument("num_threads must be between 1 and 1024, got " + std::to_string(options.num_threads));
  std::unique_ptr<Session> s(new Session());
  s->model_ = std::move(model);
  s->options_ = options;
  if (options.num_threads > 1) {
    s->pool_ = pthreadpool_create(static_cast<size_t>(options.num_threads));
    if (!s->pool_) return internal_error("cannot create a thread pool of " + std::to_string(options.num_threads));
  }
  const fb::Graph& g = s->model_->graph();
  const size_t nt = g.tensors()->size();
  s->values_.resize(nt);
  for (size_t i = 0; i < nt; ++i) {
    const fb::Tensor* t = g.tensors()->Get(static_cast<flatbuffers::uoffset_t>(i));
    Value& v = s->values_[i];
    v.name = std::string_view(t->name()->c_str(), t->name()->size());
    v.dtype = t->dtype();
    v.shape.assign(t->shape()->begin(), t->shape()->end());
    if (t->has_data()) {
      v.constant = true;
      v.data = const_cast<void*>(s->model_->tensor_data(static_cast<int32_t>(i)));
    }
  }
  s->inputs_.assign(g.inputs()->begin(), g.inputs()->end());
  s->outputs_.assign(g.outputs()->begin(), g.outputs()->end());
  // Symbolic input dims start at 1 until resize_input() says otherwise.
  for (int32_t idx : s->inputs_)
    for (int64_t& d : s->values_[idx].shape)
      if (d < 0) d = 1;
  POCKET_RETURN_IF_ERROR(s->prepare_all());
  return s;
}

Status Session::prepare_all() {
  const fb::Graph& g = model_->graph();
  const size_t nn = g.nodes()->size();
  ops_.clear();
  contexts_.clear();
  std::free(arena_);
  arena_ = nullptr;
  ops_.reserve(nn);
  contexts_.resize(nn);

  // Shape inference and prepare, in topological order.
  for (size_t n = 0; n < nn; ++n) {
    const fb::Node* node = g.nodes()->Get(static_cast<flatbuffers::uoffset_t>(n));
    OpContext& ctx = contexts_[n];
    ctx.node = node;
    ctx.pool = pool_;
    ctx.num_threads = options_.num_threads;
    for (int32_t idx : *node->inputs()) ctx.inputs.push_back(idx < 0 ? nullptr : &values_[idx]);
    for (int32_t idx : *node->outputs()) {
      values_[idx].data = nullptr;
      ctx.outputs.push_back(&values_[idx]);
    }
    OpFactory factory = op_factory(node->op());
    if (!factory) return ctx.fail(StatusCode::kUnsupported, "this build has no kernel for this op");
    ops_.push_back(factory());
    POCKET_RETURN_IF_ERROR(ops_.back()->prepare(ctx));
    for (Value* out : ctx.outputs) {
      if (out->elements() < 0)
        return ctx.fail(StatusCode::kInternal, "output '" + std::string(out->name) + "' has no valid shape after prepare");
    }
  }

  // Views (Op::alias_input) share their input's bytes: root[v] is the value whose buffer v uses.
  std::vector<int32_t> root(values_.size());
  for (size_t i = 0; i < root.size(); ++i) root[i] = static_cast<int32_t>(i);
  for (size_t n = 0; n < nn; ++n) {
    const fb::Node* node = g.nodes()->Get(static_cast<flatbuffers::uoffset_t>(n));
    int a = ops_[n]->alias_input();
    if (a < 0 || static_cast<size_t>(a) >= node->inputs()->size() || node->inputs()->Get(a) < 0) continue;
    int32_t in = node->inputs()->Get(a), out = node->outputs()->Get(0);
    if (values_[in].bytes() == values_[out].bytes() && values_[in].dtype == values_[out].dtype) root[out] = root[in];
  }

  // Liveness: buffer b < nt is tensor b; buffer nt + n is node n's scratch.
  std::vector<BufferUse> uses(values_.size() + nn);
  std::vector<int8_t> planned(values_.size(), 0);
  const int32_t last_step = static_cast<int32_t>(nn == 0 ? 0 : nn - 1);
  auto extend = [&](int32_t idx, int32_t step) {
    int32_t r = root[idx];
    if (planned[r]) uses[r].last = std::max(uses[r].last, step);
  };
  for (int32_t idx : inputs_) {
    planned[idx] = 1;
    uses[idx] = {values_[idx].bytes(), 0, 0};
  }
  for (size_t n = 0; n < nn; ++n) {
    const fb::Node* node = g.nodes()->Get(static_cast<flatbuffers::uoffset_t>(n));
    for (int32_t idx : *node->outputs()) {
      if (root[idx] != idx) continue;
      planned[idx] = 1;
      uses[idx] = {values_[idx].bytes(), static_cast<int32_t>(n), static_cast<int32_t>(n)};
    }
    for (int32_t idx : *node->inputs())
      if (idx >= 0) extend(idx, static_cast<int32_t>(n));
    for (int32_t idx : *node->outputs()) extend(idx, static_cast<int32_t>(n));
    uses[values_.size() + n] = {contexts_[n].scratch_bytes, static_cast<int32_t>(n), static_cast<int32_t>(n)};
  }
  for (int32_t idx : outputs_) extend(idx, last_step);

  MemoryPlan plan = plan_memory(uses, format::kWeightAlignment);
  arena_bytes_ = plan.arena_bytes;
  arena_lower_bound_ = plan.lower_bound;
  // Kernels (XNNPACK's among them) may read up to 16 bytes past a buffer's end: keep a 64-byte tail.
  arena_ = std::aligned_alloc(format::kWeightAlignment, arena_bytes_ + format::kWeightAlignment);
  if (!arena_) return Status(StatusCode::kOutOfMemory, "cannot allocate an arena of " + std::to_string(arena_bytes_) + " bytes");
  std::memset(arena_, 0, arena_bytes_);
  char* base = static_cast<char*>(arena_);
  for (size_t i = 0; i < values_.size(); ++i)
    if (planned[i]) values_[i].data = base + plan.offsets[i];
  for (size_t i = 0; i < values_.size(); ++i)
    if (root[i] != static_cast<int32_t>(i)) values_[i].data = values_[root[i]].data;
  for (size_t n = 0; n < nn; ++n) {
    OpContext& ctx = contexts_[n];
    ctx.scratch = ctx.scratch_bytes ? base + plan.offsets[values_.size() + n] : nullptr;
    POCKET_RETURN_IF_ERROR(ops_[n]->bind(ctx));
  }
  return Status::Ok();
}

int Session::find_input(std::string_view name) const {
  for (size_t i = 0; i < inputs_.size(); ++i)
    if (values_[inputs_[i]].name == name) return static_cast<int>(i);
  return -1;
}

int Session::find_output(std::string_view name) const {
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (values_[outputs_[i]].name == name) return static_cast<int>(i);
  return -1;
}

Status Session::set_input(std::string_view name, DType dtype, const Shape& shape, const void* data) {
  int i = find_input(name);
  if (i < 0) {
    std::string names;
    for (int32_t idx : inputs_) names += (names.empty() ? "'" : ", '") + std::string(values_[idx].name) + "'";
    return invalid_argument("model has no input '" + std::string(name) + "' (inputs: " + names + ")");
  }
  Value& v = input(static_cast<size_t>(i));
  if (dtype != v.dtype)
    return invalid_argument("input '" + std::string(name) + "' expects " + dtype_name(v.dtype) + ", got " + dtype_name(dtype));
  if (shape != v.shape)
    return invalid_argument("input '" + std::string(name) + "' expects shape " + shape_str(v.shape) + ", got " + shape_str(shape));
  std::memcpy(v.data, data, v.bytes());
  return Status::Ok();
}

Status Session::resize_input(std::string_view name, const Shape& shape) {
  int i = find_input(name);
  if (i < 0) return invalid_argument("model has no input '" + std::string(name) + "'");
  Value& v = input(static_cast<size_t>(i));
  const fb::Tensor* t = model_->graph().tensors()->Get(inputs_[i]);
  if (shape.size() != t->shape()->size())
    return invalid_argument("input '" + std::string(name) + "' has rank " + std::to_string(t->shape()->size()) + ", cannot take shape " + shape_str(shape));
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0) return invalid_argument("input '" + std::string(name) + "': negative dimension in " + shape_str(shape));
  }
  v.shape = shape;
  if (num_elements(shape) < 0) return invalid_argument("input '" + std::string(name) + "': shape " + shape_str(shape) + " is too large");
  return prepare_all();
}

void Session::run() {
  for (size_t n = 0; n < ops_.size(); ++n) ops_[n]->run(contexts_[n]);
}

void Session::run_profiled(std::vector<double>& op_seconds) {
  op_seconds.assign(ops_.size(), 0.0);
  for (size_t n = 0; n < ops_.size(); ++n) {
    auto t0 = std::chrono::steady_clock::now();
    ops_[n]->run(contexts_[n]);
    op_seconds[n] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
}

std::vector<OpProfile> Session::profile_info() const {
  std::vector<OpProfile> out;
  for (size_t n = 0; n < ops_.size(); ++n) {
    const OpContext& ctx = contexts_[n];
    OpProfile p;
    p.op = fb::EnumNameOpType(ctx.node->op());
    p.name = ctx.node->name() ? ctx.node->name()->str() : "";
    p.kernel = ops_[n]->kernel_name();
    if (!ctx.outputs.empty()) p.output_shape = ctx.outputs[0]->shape;
    p.flops = ops_[n]->flops(ctx);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace pocket
