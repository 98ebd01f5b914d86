// Vulkan reductions and friends: ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL2
// (shaders/reduce.comp), ArgMax, ArgMin (shaders/argmax.comp, argmax_i.comp), InstanceNormalization
// (shaders/instance_norm.comp), Resize (shaders/resize.comp, resize_u32.comp) and Trilu
// (shaders/trilu.comp, trilu_u32.comp). Semantics are the CPU ops' (engine/ops/reduce.cpp,
// argmax.cpp, instance_norm.cpp, resize.cpp, trilu.cpp), whose prepare() has already run on every
// node a backend sees: shapes and attributes are valid; what is checked here is what the shaders
// can do (dtypes, ranks, group counts, 32-bit indexing), and each refusal names what is missing.
//
// Reductions: the input is collapsed as the CPU op collapses it (size-1 dims dropped, neighbours
// with the same role merged) into at most 4 kept and 4 reduced groups. The shader gives each
// output `tpr` invocations (a power of two <= 128) that fold a strided share of the reduced
// elements and combine through shared memory; tpr and the thread layout are chosen from the shape
// (see choose_layout): rows (innermost group reduced) get up to one workgroup per row with
// adjacent invocations on adjacent elements; strided reductions (a kept group innermost, e.g. a
// mean over C of [N, C, HW]) get one invocation per output, adjacent invocations on adjacent
// outputs. On a CPU implementation (lavapipe) one invocation per output is preferred unless there
// are too few outputs to fill the device (POCKET_VK_CPU_STYLE=0/1 forces a form). At most 64
// outputs of at least 16384 elements each run in two dispatches: chunks of ~4096 elements into
// fp32 partials (device scratch), then one combine-and-finish pass.
// ArgMax/ArgMin in fp16 storage compare the fp16-rounded values (a tie the rounding creates may
// pick another index than the CPU's fp32 comparison).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/backends/vulkan/vk_op.h"
#include "engine/backends/vulkan/vk_util.h"
#include "engine/ops/resize_axis.h"

namespace pocket::vk {

namespace {

constexpr int64_t kMaxElements = std::numeric_limits<int32_t>::max();
constexpr uint64_t kGroup = 128;  // invocations per workgroup of every shader here
constexpr int kMaxReduceGroups = 4;
constexpr int kMaxResizeRank = 6;  // resize.comp's RANK

std::string shape_of(const Value& v) { return shape_str(v.shape); }

bool normalize_axis(int64_t axis, int64_t rank, int64_t* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

Support check_size(const Value& v, const char* role) {
  if (v.elements() < 0 || v.elements() > kMaxElements)
    return Support::no(std::string(role) + " " + shape_of(v) + " has more than 2^31 - 1 elements");
  return Support::yes();
}

Support need_f32(const Value& v, const char* role) {
  if (v.dtype != DType::F32) return Support::no(std::string(role) + " dtype " + dtype_name(v.dtype) + ": only F32");
  return check_size(v, role);
}

// A data operand: the input's device range, or for a constant (or prepare-time) input a weight
// uploaded once at prepare in its storage type.
struct Operand {
  size_t input = 0;
  int weight = -1;
  Tensor get(VkRecord& ctx) const { return weight >= 0 ? ctx.weight(weight) : ctx.input(input); }
};

Status make_operand(VkPrepare& ctx, size_t i, Operand* op) {
  const NodeView& node = ctx.node();
  op->input = i;
  op->weight = -1;
  const Value& v = *node.inputs[i];
  if ((v.constant || v.known) && v.data != nullptr && v.elements() > 0) {
    std::string why;
    op->weight = add_constant_weight(ctx, v, &why);
    if (op->weight < 0) return ctx.fail(StatusCode::kUnsupported, why);
  }
  return Status::Ok();
}

// Largest power of two <= min(v, cap), at least 1.
uint32_t pow2_at_most(uint64_t v, uint32_t cap) {
  uint32_t r = 1;
  while (r * 2 <= cap && r * 2 <= v) r *= 2;
  return r;
}

// ---------------------------------------------------------------------------------------------
// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL2

// reduce.comp's OP_* (how loaded elements fold) and FINISH_*.
enum ReduceShaderOp : uint32_t { kSum = 0, kSumSquares, kMax, kMin, kProd, kCopy };
enum ReduceFinish : uint32_t { kFinishNone = 0, kFinishScale, kFinishSqrt };

struct ReducePush {
  uint32_t outputs, count, tpr, lane_major, op, finish;
  float scale;
  uint32_t splits, chunk, src_partial, dst_partial;
  uint32_t nk, nr;
  uint32_t kdim[4], kstride[4], rdim[4], rstride[4];
};
static_assert(sizeof(ReducePush) == 116);

// Two dispatches (fp32 partials in scratch) when there are at most this many outputs and each
// reduces at least kSplitMinCount elements: one workgroup per output would leave the device idle.
constexpr uint32_t kSplitMaxOutputs = 64;
constexpr uint32_t kSplitMinCount = 16384;
constexpr uint32_t kSplitChunk = 4096;  // reduced elements per partial (at most 256 partials)
constexpr uint32_t kSplitMaxParts = 256;

struct ReducePlan {
  ReducePush push{};
  bool innermost_reduced = false;  // the innermost group is reduced (contiguous rows)
};

Support plan_reduce(const NodeView& node, ReducePlan* plan) {
  if (node.inputs.size() != 1 || !node.has_input(0) || node.outputs.size() != 1)
    return Support::no("Reduce needs one input and one output (axes as an attribute)");
  const Value& x = *node.inputs[0];
  if (Support s = need_f32(x, "input"); !s.ok) return s;
  const Attrs a = node.attrs();
  const std::vector<int64_t> axes = a.ints("axes");
  const int64_t rank = x.rank();
  *plan = ReducePlan{};
  ReducePush& p = plan->push;
  p.tpr = 1;
  p.splits = 1;
  p.scale = 1.f;
  switch (node.op()) {
    case fb::OpType::ReduceMean:
      p.op = kSum, p.finish = kFinishScale;
      break;
    case fb::OpType::ReduceMax:
      p.op = kMax;
      break;
    case fb::OpType::ReduceMin:
      p.op = kMin;
      break;
    case fb::OpType::ReduceProd:
      p.op = kProd;
      break;
    case fb::OpType::ReduceL2:
      p.op = kSumSquares, p.finish = kFinishSqrt;
      break;
    default:
      p.op = kSum;
      break;
  }
  if (axes.empty() && a.i("noop_with_empty_axes", 0) != 0) {  // Y = X
    p.op = kCopy;
    p.finish = kFinishNone;
    p.outputs = static_cast<uint32_t>(x.elements());
    p.count = p.chunk = 1;
    p.nk = 1;
    p.kdim[0] = std::max<uint32_t>(p.outputs, 1);
    p.kstride[0] = 1;
    p.nr = 0;
    return Support::yes();
  }
  std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
  for (int64_t ax : axes) {
    int64_t d = 0;
    if (!normalize_axis(ax, rank, &d) || reduced[d]) return Support::no("axes out of range or repeated");
    reduced[d] = true;
  }
  int64_t count = 1, outputs = 1;
  for (int64_t d = 0; d < rank; ++d) (reduced[d] ? count : outputs) *= x.shape[d];
  // Collapse into groups (outermost first), as the CPU op does.
  std::vector<int64_t> dims;
  std::vector<bool> red;
  for (int64_t d = 0; d < rank; ++d) {
    if (x.shape[d] == 1) continue;
    if (!dims.empty() && red.back() == reduced[d]) {
      dims.back() *= x.shape[d];
      continue;
    }
    dims.push_back(x.shape[d]);
    red.push_back(reduced[d]);
  }
  int want_k = 0, want_r = 0;
  for (bool r : red) (r ? want_r : want_k)++;
  if (want_k > kMaxReduceGroups || want_r > kMaxReduceGroups)  // needs rank > 8: never from a valid model
    return Support::no("axes of input " + shape_of(x) + " alternate into " + std::to_string(want_k) + " kept and " +
                       std::to_string(want_r) + " reduced groups: the shader takes at most " +
                       std::to_string(kMaxReduceGroups) + " of each");
  int nk = 0, nr = 0;
  int64_t stride = 1;
  for (size_t g = dims.size(); g-- > 0;) {  // innermost first
    if (red[g]) {
      p.rdim[nr] = static_cast<uint32_t>(dims[g]);
      p.rstride[nr++] = static_cast<uint32_t>(stride);
    } else {
      p.kdim[nk] = static_cast<uint32_t>(dims[g]);
      p.kstride[nk++] = static_cast<uint32_t>(stride);
    }
    stride *= dims[g];
  }
  p.nk = static_cast<uint32_t>(nk);
  p.nr = static_cast<uint32_t>(nr);
  p.outputs = static_cast<uint32_t>(outputs);
  p.count = p.chunk = static_cast<uint32_t>(count);
  // Mean: the CPU multiplies by 1 / count (a mean over nothing is 0 * inf = NaN there as here).
  p.scale = 1.f / static_cast<float>(count);
  plan->innermost_reduced = !red.empty() && red.back();
  return Support::yes();
}

// Invocations per output and the thread layout of one dispatch of `outputs` outputs of `count`
// elements (see the file comment).
void choose_layout(ReducePush* p, bool innermost_reduced, bool cpu_style) {
  p->lane_major = innermost_reduced ? 0 : 1;
  p->tpr = 1;
  const uint32_t count = p->chunk;
  if (p->op == kCopy || count <= 1) return;
  if (cpu_style) {
    // Invocations are SIMD lanes of a few CPU threads: split a row only when there are too few
    // outputs to keep the device busy and the rows are long.
    if (p->outputs < 64 && count >= 1024) p->tpr = pow2_at_most(count / 256, static_cast<uint32_t>(kGroup));
    return;
  }
  if (innermost_reduced) {
    p->tpr = pow2_at_most(std::max<uint32_t>(count / 4, 1), static_cast<uint32_t>(kGroup));
  } else if (p->outputs < 4096) {
    p->tpr = pow2_at_most(std::max<uint32_t>(count / 8, 1), static_cast<uint32_t>(kGroup));
  }
}

class ReduceVk final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    ReducePlan plan;
    if (Support s = plan_reduce(ctx.node(), &plan); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    const bool cpu_style = prefers_cpu_style_shaders(ctx);
    ReducePush& p = plan.push;
    pass_[0] = p;
    passes_ = 1;
    if (p.op != kCopy && p.outputs > 0 && p.outputs <= kSplitMaxOutputs && p.count >= kSplitMinCount) {
      // Pass 1: outputs x splits chunks into fp32 partials; pass 2: each output's partials.
      const uint32_t splits = std::min(kSplitMaxParts, (p.count + kSplitChunk - 1) / kSplitChunk);
      ReducePush& a = pass_[0];
      a.splits = splits;
      a.chunk = (p.count + splits - 1) / splits;
      a.outputs = p.outputs * splits;
      a.finish = kFinishNone;
      a.dst_partial = 1;
      choose_layout(&a, plan.innermost_reduced, cpu_style);
      ReducePush& b = pass_[1];
      b = ReducePush{};
      b.outputs = p.outputs;
      b.count = b.chunk = splits;
      b.splits = 1;
      b.op = p.op == kSumSquares ? kSum : p.op;  // partial sums of squares add up
      b.finish = p.finish;
      b.scale = p.scale;
      b.src_partial = 1;
      b.nk = 1;
      b.kdim[0] = p.outputs;
      b.kstride[0] = splits;
      b.nr = 1;
      b.rdim[0] = splits;
      b.rstride[0] = 1;
      choose_layout(&b, true, false);  // rows of at most 256 partials: shared-memory rows
      passes_ = 2;
      scratch_ = ctx.add_scratch(size_t{a.outputs} * sizeof(float));
    } else {
      choose_layout(&pass_[0], plan.innermost_reduced, cpu_style);
    }
    for (int i = 0; i < passes_; ++i) {
      const uint64_t per_group = kGroup / pass_[i].tpr;
      const uint64_t groups = (uint64_t{pass_[i].outputs} + per_group - 1) / per_group;
      if (!grid_xy(groups, ctx.caps(), &gx_[i], &gy_[i]))
        return ctx.fail(StatusCode::kUnsupported,
                        std::to_string(pass_[i].outputs) + " outputs exceed the device's workgroup counts");
    }
    return make_operand(ctx, 0, &x_);
  }

  void record(VkRecord& ctx) override {
    if (pass_[0].outputs == 0) return;
    const Tensor y = ctx.output(0);
    Tensor x = x_.get(ctx);
    if (x.bytes == 0) x = y;  // an empty input (count 0) is never read: the shader writes the identity
    const Tensor q = scratch_ >= 0 ? ctx.scratch(scratch_) : x;  // unused binding without partials
    for (int i = 0; i < passes_; ++i) ctx.dispatch("reduce", {x, y, q}, &pass_[i], sizeof(ReducePush), gx_[i], gy_[i]);
  }

  std::string kernel_name() const override {
    std::string name = "vulkan.reduce";
    if (pass_[0].op == kCopy) return name + "_copy";
    if (passes_ == 2) return name + "_2pass";
    if (pass_[0].tpr > 1) name += pass_[0].lane_major ? "_split" : "_rows";
    return name;
  }

 private:
  ReducePush pass_[2]{};
  int passes_ = 1;
  int scratch_ = -1;
  Operand x_;
  uint32_t gx_[2] = {0, 0}, gy_[2] = {1, 1};
};

// ---------------------------------------------------------------------------------------------
// ArgMax, ArgMin

struct ArgPush {
  uint32_t total, n, inner, is_min, last;
};

Support plan_arg(const NodeView& node, ArgPush* p) {
  if (node.inputs.size() != 1 || !node.has_input(0) || node.outputs.size() != 1)
    return Support::no("ArgMax/ArgMin needs one input and one output");
  const Value& x = *node.inputs[0];
  if (x.dtype != DType::F32 && x.dtype != DType::I32 && x.dtype != DType::I64)
    return Support::no(std::string("input dtype ") + dtype_name(x.dtype) + ": only F32, I32, I64");
  if (Support s = check_size(x, "input"); !s.ok) return s;
  if (node.outputs[0]->dtype != DType::I64) return Support::no("output must be I64");
  const Attrs a = node.attrs();
  int64_t axis = 0;
  if (x.rank() == 0 || !normalize_axis(a.i("axis", 0), x.rank(), &axis))
    return Support::no("axis out of range for input " + shape_of(x));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d < axis) outer *= x.shape[d];
    if (d > axis) inner *= x.shape[d];
  }
  *p = ArgPush{};
  p->n = static_cast<uint32_t>(x.shape[axis]);
  p->inner = static_cast<uint32_t>(inner);
  p->total = p->n == 0 ? 0 : static_cast<uint32_t>(outer * inner);
  p->is_min = node.op() == fb::OpType::ArgMin ? 1 : 0;
  p->last = a.i("select_last_index", 0) != 0 ? 1 : 0;
  return Support::yes();
}

class ArgVk final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    if (Support s = plan_arg(ctx.node(), &push_); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    shader_ = ctx.node().inputs[0]->dtype == DType::F32 ? "argmax" : "argmax_i";
    if (!grid_xy((uint64_t{push_.total} + kGroup - 1) / kGroup, ctx.caps(), &gx_, &gy_))
      return ctx.fail(StatusCode::kUnsupported, std::to_string(push_.total) + " outputs exceed the workgroup counts");
    return make_operand(ctx, 0, &x_);
  }

  void record(VkRecord& ctx) override {
    if (push_.total == 0) return;
    ctx.dispatch(shader_, {x_.get(ctx), ctx.output(0)}, &push_, sizeof(push_), gx_, gy_);
  }

  std::string kernel_name() const override { return push_.is_min ? "vulkan.argmin" : "vulkan.argmax"; }

 private:
  ArgPush push_{};
  Operand x_;
  const char* shader_ = "argmax";
  uint32_t gx_ = 0, gy_ = 1;
};

// ---------------------------------------------------------------------------------------------
// InstanceNormalization

struct InstancePush {
  uint32_t rows, spatial, channels;
  float epsilon;
};

Support plan_instance_norm(const NodeView& node, InstancePush* p) {
  if (node.inputs.size() != 3 || node.outputs.size() != 1)
    return Support::no("InstanceNormalization needs X, scale and B");
  const char* roles[3] = {"input", "scale", "B"};
  for (size_t i = 0; i < 3; ++i) {
    if (!node.has_input(i)) return Support::no(std::string(roles[i]) + " missing");
    if (Support s = need_f32(*node.inputs[i], roles[i]); !s.ok) return s;
  }
  const Value& x = *node.inputs[0];
  if (x.rank() < 3) return Support::no("input " + shape_of(x) + " must be [N, C, D1, ...]");
  const int64_t c = x.shape[1];
  for (size_t i = 1; i < 3; ++i)
    if (node.inputs[i]->elements() != c)
      return Support::no(std::string(roles[i]) + " " + shape_of(*node.inputs[i]) +
                         " must hold C = " + std::to_string(c));
  int64_t spatial = 1;
  for (int64_t d = 2; d < x.rank(); ++d) spatial *= x.shape[d];
  *p = InstancePush{};
  p->rows = spatial == 0 ? 0 : static_cast<uint32_t>(x.shape[0] * c);
  p->spatial = static_cast<uint32_t>(spatial);
  p->channels = static_cast<uint32_t>(std::max<int64_t>(c, 1));
  p->epsilon = node.attrs().f("epsilon", 1e-5f);
  return Support::yes();
}

class InstanceNormVk final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    if (Support s = plan_instance_norm(ctx.node(), &push_); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    if (!grid_xy(push_.rows, ctx.caps(), &gx_, &gy_))
      return ctx.fail(StatusCode::kUnsupported, std::to_string(push_.rows) + " rows exceed the workgroup counts");
    for (size_t i = 0; i < 3; ++i) POCKET_RETURN_IF_ERROR(make_operand(ctx, i, &ops_[i]));
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    if (push_.rows == 0) return;
    ctx.dispatch("instance_norm", {ops_[0].get(ctx), ctx.output(0), ops_[1].get(ctx), ops_[2].get(ctx)}, &push_,
                 sizeof(push_), gx_, gy_);
  }

  std::string kernel_name() const override { return "vulkan.instance_norm"; }

 private:
  InstancePush push_{};
  Operand ops_[3];
  uint32_t gx_ = 0, gy_ = 1;
};

// ---------------------------------------------------------------------------------------------
// Resize

struct ResizePush {
  uint32_t total, mode;
  uint32_t in_dims[kMaxResizeRank], out_dims[kMaxResizeRank], tab_off[kMaxResizeRank];
};
static_assert(sizeof(ResizePush) == 80);

struct ResizePlan {
  ResizePush push{};
  bool linear = false;
  ResizeModes modes;          // engine/ops/resize_axis.h: the CPU op's own indices and weights
  Shape in, out;              // padded to rank kMaxResizeRank
  std::vector<float> scales;  // per padded axis
};

Support plan_resize(const NodeView& node, ResizePlan* plan) {
  if (node.inputs.size() != 1 || !node.has_input(0) || node.outputs.size() != 1)
    return Support::no("Resize needs one input (scales/sizes as attributes) and one output");
  const Value& x = *node.inputs[0];
  const Value& y = *node.outputs[0];
  StoreType store;
  if (!store_type_of(x.dtype, &store))
    return Support::no(std::string("input dtype ") + dtype_name(x.dtype) + ": no Vulkan storage");
  if (Support s = check_size(x, "input"); !s.ok) return s;
  if (Support s = check_size(y, "output"); !s.ok) return s;
  const int64_t rank = x.rank();
  if (rank < 1 || rank > kMaxResizeRank || y.rank() != rank)
    return Support::no("input " + shape_of(x) + ": rank " + std::to_string(rank) + ", the shader takes 1 to " +
                       std::to_string(kMaxResizeRank));
  const Attrs a = node.attrs();
  *plan = ResizePlan{};
  if (std::string why = parse_resize_modes(a, &plan->modes); !why.empty()) return Support::no(why);
  plan->linear = plan->modes.linear;
  if (plan->linear && x.dtype != DType::F32)
    return Support::no(std::string("linear mode on dtype ") + dtype_name(x.dtype) + ": only F32");
  const std::vector<float> scales_attr = a.floats("scales");
  const std::vector<int64_t> sizes_attr = a.ints("sizes");
  std::vector<float> scales(static_cast<size_t>(rank), 1.f);
  for (int64_t d = 0; d < rank; ++d) {
    if (!sizes_attr.empty()) {
      if (static_cast<int64_t>(sizes_attr.size()) != rank) return Support::no("sizes do not match the rank");
      scales[d] = x.shape[d] > 0 ? static_cast<float>(y.shape[d]) / static_cast<float>(x.shape[d]) : 1.f;
    } else if (static_cast<int64_t>(scales_attr.size()) == rank) {
      scales[d] = scales_attr[d];
    } else {
      return Support::no("needs attribute 'scales' or 'sizes' with one entry per axis");
    }
  }
  const int64_t pad = kMaxResizeRank - rank;
  plan->in.assign(static_cast<size_t>(pad), 1);
  plan->out.assign(static_cast<size_t>(pad), 1);
  plan->scales.assign(static_cast<size_t>(pad), 1.f);
  for (int64_t d = 0; d < rank; ++d) {
    plan->in.push_back(x.shape[d]);
    plan->out.push_back(y.shape[d]);
    plan->scales.push_back(scales[d]);
  }
  ResizePush& p = plan->push;
  p.total = static_cast<uint32_t>(y.elements());
  p.mode = plan->linear ? 1 : 0;
  uint64_t words = 0;
  for (int d = 0; d < kMaxResizeRank; ++d) {
    p.in_dims[d] = static_cast<uint32_t>(plan->in[d]);
    p.out_dims[d] = static_cast<uint32_t>(std::max<int64_t>(plan->out[d], 1));
    p.tab_off[d] = static_cast<uint32_t>(words);
    words += 3 * static_cast<uint64_t>(plan->out[d]);
  }
  if (words > static_cast<uint64_t>(kMaxElements)) return Support::no("output " + shape_of(y) + " is too large");
  return Support::yes();
}

// Three int32 words per output index of each (padded) axis: i0, i1, bits of w.
std::vector<int32_t> resize_tables(const ResizePlan& plan) {
  std::vector<int32_t> t;
  for (int d = 0; d < kMaxResizeRank; ++d) {
    const int64_t n = plan.in[d], m = plan.out[d];
    for (int64_t o = 0; o < m; ++o) {
      int64_t lo, hi;
      float w = 0.f;
      if (!plan.linear)
        lo = hi = resize_nearest_index(plan.modes, o, plan.scales[d], n, m);
      else
        resize_linear_taps(plan.modes, o, plan.scales[d], n, m, &lo, &hi, &w);
      int32_t wb;
      std::memcpy(&wb, &w, 4);
      t.push_back(static_cast<int32_t>(lo));
      t.push_back(static_cast<int32_t>(hi));
      t.push_back(wb);
    }
  }
  return t;
}

class ResizeVk final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    ResizePlan plan;
    if (Support s = plan_resize(ctx.node(), &plan); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    push_ = plan.push;
    linear_ = plan.linear;
    const Value& x = *ctx.node().inputs[0];
    if (x.elements() == 0) push_.total = 0;  // the CPU op allows an empty input only with an empty output
    if (push_.total == 0) return Status::Ok();
    StoreType store = StoreType::kFloat;
    store_type_of(x.dtype, &store);
    shader_ = store == StoreType::kFloat ? "resize" : "resize_u32";
    const std::vector<int32_t> tables = resize_tables(plan);
    tables_ = ctx.add_weight_ints(tables.data(), tables.size());
    if (!grid_xy((uint64_t{push_.total} + kGroup - 1) / kGroup, ctx.caps(), &gx_, &gy_))
      return ctx.fail(StatusCode::kUnsupported, std::to_string(push_.total) + " outputs exceed the workgroup counts");
    return make_operand(ctx, 0, &x_);
  }

  void record(VkRecord& ctx) override {
    if (push_.total == 0) return;
    ctx.dispatch(shader_, {x_.get(ctx), ctx.weight(tables_), ctx.output(0)}, &push_, sizeof(push_), gx_, gy_);
  }

  std::string kernel_name() const override { return linear_ ? "vulkan.resize_linear" : "vulkan.resize_nearest"; }

 private:
  ResizePush push_{};
  bool linear_ = false;
  Operand x_;
  int tables_ = -1;
  const char* shader_ = "resize";
  uint32_t gx_ = 0, gy_ = 1;
};

// ---------------------------------------------------------------------------------------------
// Trilu

struct TriluPush {
  uint32_t total, rows, cols, upper;
  int32_t k;
};

Support plan_trilu(const NodeView& node, TriluPush* p) {
  if (node.inputs.empty() || node.inputs.size() > 2 || !node.has_input(0) || node.outputs.size() != 1)
    return Support::no("Trilu needs X (and optionally k) and one output");
  const Value& x = *node.inputs[0];
  StoreType store;
  if (!store_type_of(x.dtype, &store))
    return Support::no(std::string("input dtype ") + dtype_name(x.dtype) + ": no Vulkan storage");
  if (Support s = check_size(x, "input"); !s.ok) return s;
  if (x.rank() < 2) return Support::no("input " + shape_of(x) + " must have rank >= 2");
  int64_t k = node.attrs().i("k", 0);
  if (node.has_input(1)) {
    const Value& kv = *node.inputs[1];
    if (!(kv.constant || kv.known) || kv.data == nullptr || kv.elements() != 1)
      return Support::no("k must be a scalar known at prepare");
    if (kv.dtype == DType::I64)
      k = *static_cast<const int64_t*>(kv.data);
    else if (kv.dtype == DType::I32)
      k = *static_cast<const int32_t*>(kv.data);
    else
      return Support::no(std::string("k dtype ") + dtype_name(kv.dtype) + ": only I64 or I32");
  }
  const int64_t rows = x.shape[x.rank() - 2], cols = x.shape[x.rank() - 1];
  *p = TriluPush{};
  p->total = rows * cols == 0 ? 0 : static_cast<uint32_t>(x.elements());
  p->rows = static_cast<uint32_t>(std::max<int64_t>(rows, 1));
  p->cols = static_cast<uint32_t>(std::max<int64_t>(cols, 1));
  p->upper = node.attrs().i("upper", 1) != 0 ? 1 : 0;
  p->k = static_cast<int32_t>(std::clamp<int64_t>(k, -rows - 1, cols + 1));
  return Support::yes();
}

class TriluVk final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    if (Support s = plan_trilu(ctx.node(), &push_); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    StoreType store = StoreType::kFloat;
    store_type_of(ctx.node().inputs[0]->dtype, &store);
    shader_ = store == StoreType::kFloat ? "trilu" : "trilu_u32";
    if (!grid_xy((uint64_t{push_.total} + kGroup - 1) / kGroup, ctx.caps(), &gx_, &gy_))
      return ctx.fail(StatusCode::kUnsupported, std::to_string(push_.total) + " elements exceed the workgroup counts");
    return make_operand(ctx, 0, &x_);
  }

  void record(VkRecord& ctx) override {
    if (push_.total == 0) return;
    ctx.dispatch(shader_, {x_.get(ctx), ctx.output(0)}, &push_, sizeof(push_), gx_, gy_);
  }

  std::string kernel_name() const override { return "vulkan.trilu"; }

 private:
  TriluPush push_{};
  Operand x_;
  const char* shader_ = "trilu";
  uint32_t gx_ = 0, gy_ = 1;
};

bool is_reduce_family(fb::OpType op) {
  switch (op) {
    case fb::OpType::ReduceMean:
    case fb::OpType::ReduceSum:
    case fb::OpType::ReduceMax:
    case fb::OpType::ReduceMin:
    case fb::OpType::ReduceProd:
    case fb::OpType::ReduceL2:
    case fb::OpType::ArgMax:
    case fb::OpType::ArgMin:
    case fb::OpType::InstanceNormalization:
    case fb::OpType::Resize:
    case fb::OpType::Trilu:
      return true;
    default:
      return false;
  }
}

}  // namespace

Support vk_supports_reduce(const NodeView& node, const DeviceCaps& caps) {
  (void)caps;
  if (!is_reduce_family(node.op())) return Support::no("");
  for (const Value* out : node.outputs) {
    if (out == nullptr) return Support::no("missing output");
    if (Support s = check_size(*out, "output"); !s.ok) return s;
  }
  switch (node.op()) {
    case fb::OpType::ArgMax:
    case fb::OpType::ArgMin: {
      ArgPush p;
      return plan_arg(node, &p);
    }
    case fb::OpType::InstanceNormalization: {
      InstancePush p;
      return plan_instance_norm(node, &p);
    }
    case fb::OpType::Resize: {
      ResizePlan p;
      return plan_resize(node, &p);
    }
    case fb::OpType::Trilu: {
      TriluPush p;
      return plan_trilu(node, &p);
    }
    default: {
      ReducePlan p;
      return plan_reduce(node, &p);
    }
  }
}

std::unique_ptr<VkOp> make_vk_op_reduce(const NodeView& node) {
  switch (node.op()) {
    case fb::OpType::ReduceMean:
    case fb::OpType::ReduceSum:
    case fb::OpType::ReduceMax:
    case fb::OpType::ReduceMin:
    case fb::OpType::ReduceProd:
    case fb::OpType::ReduceL2:
      return std::make_unique<ReduceVk>();
    case fb::OpType::ArgMax:
    case fb::OpType::ArgMin:
      return std::make_unique<ArgVk>();
    case fb::OpType::InstanceNormalization:
      return std::make_unique<InstanceNormVk>();
    case fb::OpType::Resize:
      return std::make_unique<ResizeVk>();
    case fb::OpType::Trilu:
      return std::make_unique<TriluVk>();
    default:
      return nullptr;
  }
}

}  // namespace pocket::vk
