// Vulkan data-movement ops: Transpose, Slice, Concat, Split, Expand, Tile, DepthToSpace,
// SpaceToDepth (one strided box copy each, or one per input/output: shaders/transpose.comp), Gather
// (shaders/gather.comp) and Pad (shaders/pad.comp, constant, reflect and edge modes). Float values move in the float
// storage type (fp32 or fp16); int32, int64 (stored as int32 on the device) and bool values move as 32-bit words
// through the *_u32 shaders. Semantics are the CPU ops' (engine/ops/*.cpp), whose prepare() has already validated every
// node a backend sees; the checks here are what the shaders can do (dtypes, at most 6 dims after merging, 32-bit
// indexing).
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "engine/backends/vulkan/vk_op.h"
#include "engine/backends/vulkan/vk_util.h"
#include "kernels/transform/transform.h"

namespace pocket::vk {

namespace {

constexpr int kMaxDims = 6;
// Invocations per workgroup of transpose/gather/pad.comp (128: what every Vulkan device allows).
constexpr uint64_t kGroup = 128;
constexpr int64_t kMaxElements = std::numeric_limits<int32_t>::max();

std::string shape_of(const Value& v) { return shape_str(v.shape); }

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

bool normalize_axis(int64_t axis, int64_t rank, int64_t* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

std::vector<int64_t> row_major(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

// The device storage of a dtype (vk_op.h), or false for one the Vulkan backend does not hold.
bool store_of(DType t, StoreType* s) {
  switch (t) {
    case DType::F32:
      *s = StoreType::kFloat;
      return true;
    case DType::I32:
    case DType::I64:
      *s = StoreType::kInt32;
      return true;
    case DType::BOOL:
    case DType::U8:
      *s = StoreType::kBool;
      return true;
    default:
      return false;
  }
}

// A constant (or prepare-time) value's elements as 32-bit words; false when an int64 does not fit.
bool constant_words(const Value& v, std::vector<int32_t>* words) {
  const size_t n = static_cast<size_t>(std::max<int64_t>(v.elements(), 0));
  words->resize(n);
  switch (v.dtype) {
    case DType::I32:
      if (n) std::memcpy(words->data(), v.data, n * 4);
      return true;
    case DType::I64:
      for (size_t i = 0; i < n; ++i) {
        const int64_t x = static_cast<const int64_t*>(v.data)[i];
        if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) return false;
        (*words)[i] = static_cast<int32_t>(x);
      }
      return true;
    case DType::BOOL:
      for (size_t i = 0; i < n; ++i) (*words)[i] = static_cast<const uint8_t*>(v.data)[i] != 0 ? 1 : 0;
      return true;
    case DType::U8:
      for (size_t i = 0; i < n; ++i) (*words)[i] = static_cast<const uint8_t*>(v.data)[i];
      return true;
    default:
      return false;
  }
}

bool is_constant(const Value& v) { return (v.constant || v.known) && v.data != nullptr; }

// The dtype, size and (for constants) int32 range checks every data operand must pass.
Support check_data(const Value& v, const char* role) {
  StoreType s;
  if (!store_of(v.dtype, &s))
    return Support::no(std::string(role) + " dtype " + dtype_name(v.dtype) + ": no Vulkan storage");
  if (v.elements() < 0 || v.elements() > kMaxElements)
    return Support::no(std::string(role) + " " + shape_of(v) + " has more than 2^31 - 1 elements");
  if (v.dtype == DType::I64 && is_constant(v)) {
    std::vector<int32_t> words;
    if (!constant_words(v, &words)) return Support::no(std::string(role) + " holds int64 values outside int32");
  }
  return Support::yes();
}

// A data operand: the input's device range, or a constant uploaded once as a weight.
struct Operand {
  size_t input = 0;
  int weight = -1;
  Tensor get(VkRecord& ctx) const { return weight >= 0 ? ctx.weight(weight) : ctx.input(input); }
};

Operand operand(VkPrepare& ctx, size_t i) {
  Operand op;
  op.input = i;
  const Value& v = *ctx.node().inputs[i];
  if (!is_constant(v) || v.elements() <= 0) return op;  // an empty operand is never bound
  if (v.dtype == DType::F32) {
    op.weight = ctx.add_weight_floats(static_cast<const float*>(v.data), static_cast<size_t>(v.elements()));
  } else {
    std::vector<int32_t> words;
    constant_words(v, &words);  // checked by supports
    op.weight = ctx.add_weight_ints(words.data(), words.size());
  }
  return op;
}

// Ints from a prepare-time input (ONNX's operand form) or else the attribute.
Support read_ints(const NodeView& node, size_t input, const char* attr, std::vector<int64_t>* out, bool* found) {
  out->clear();
  *found = false;
  if (node.has_input(input)) {
    const Value& v = *node.inputs[input];
    if (!is_constant(v) || (v.dtype != DType::I64 && v.dtype != DType::I32) || v.rank() > 1)
      return Support::no(std::string("operand '") + attr + "' is not a known int vector");
    for (int64_t k = 0; k < v.elements(); ++k)
      out->push_back(v.dtype == DType::I64 ? v.as<const int64_t>()[k] : v.as<const int32_t>()[k]);
    *found = true;
    return Support::yes();
  }
  *found = node.attrs().has(attr);
  if (*found) *out = node.attrs().ints(attr);
  return Support::yes();
}

// ---------------------------------------------------------------------------------------------
// Strided box copies

// dst[dst_base + sum c_d dst_stride_d] = src[src_base + sum (c_d % src_mod_d) src_stride_d].
struct Box {
  std::vector<int64_t> dims, src_stride, dst_stride, src_mod;
  int64_t src_base = 0, dst_base = 0;

  void add(int64_t dim, int64_t s, int64_t d, int64_t mod) {
    dims.push_back(dim), src_stride.push_back(s), dst_stride.push_back(d), src_mod.push_back(mod);
  }
  int64_t total() const {
    int64_t t = 1;
    for (int64_t d : dims) t *= d;
    return t;
  }
  // Drops size-1 dims and merges neighbours that walk both sides contiguously.
  void simplify() {
    Box b;
    b.src_base = src_base, b.dst_base = dst_base;
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] == 1) continue;
      if (!b.dims.empty()) {
        const size_t o = b.dims.size() - 1;
        if (b.src_mod[o] == b.dims[o] && src_mod[i] == dims[i] && b.src_stride[o] == src_stride[i] * dims[i] &&
            b.dst_stride[o] == dst_stride[i] * dims[i]) {
          b.dims[o] *= dims[i];
          b.src_mod[o] = b.dims[o];
          b.src_stride[o] = src_stride[i];
          b.dst_stride[o] = dst_stride[i];
          continue;
        }
      }
      b.add(dims[i], src_stride[i], dst_stride[i], src_mod[i]);
    }
    *this = std::move(b);
  }
};

struct CopyPush {
  uint32_t total;
  int32_t src_base;
  uint32_t dst_base;
  uint32_t dims[kMaxDims];
  int32_t src_stride[kMaxDims];
  uint32_t dst_stride[kMaxDims];
  uint32_t src_mod[kMaxDims];
};
static_assert(sizeof(CopyPush) == 108);

// One copy of an op: from input `src` (or, for Split, input 0) into output `dst`.
struct Copy {
  size_t src = 0, dst = 0;
  Box box;
};

// A simplified box as push constants (false: more than kMaxDims dims remain).
bool to_push(Box box, CopyPush* p) {
  *p = CopyPush{};
  p->total = static_cast<uint32_t>(box.total());
  box.simplify();
  if (box.dims.size() > static_cast<size_t>(kMaxDims)) return false;
  p->src_base = static_cast<int32_t>(box.src_base);
  p->dst_base = static_cast<uint32_t>(box.dst_base);
  const size_t lead = kMaxDims - box.dims.size();
  for (size_t d = 0; d < static_cast<size_t>(kMaxDims); ++d) {
    if (d < lead) {
      p->dims[d] = 1, p->src_mod[d] = 1;
      continue;
    }
    const size_t k = d - lead;
    p->dims[d] = static_cast<uint32_t>(box.dims[k]);
    p->src_stride[d] = static_cast<int32_t>(box.src_stride[k]);
    p->dst_stride[d] = static_cast<uint32_t>(box.dst_stride[k]);
    p->src_mod[d] = static_cast<uint32_t>(box.src_mod[k]);
  }
  return true;
}

// The contiguous copy of `src_shape` read with `src_stride` into a contiguous output.
Box contiguous_box(const Shape& out, const std::vector<int64_t>& src_stride, int64_t src_base) {
  Box b;
  const std::vector<int64_t> dst = row_major(out);
  for (size_t d = 0; d < out.size(); ++d) b.add(out[d], src_stride[d], dst[d], out[d]);
  b.src_base = src_base;
  return b;
}

Support plan_transpose(const NodeView& node, std::vector<Copy>* copies) {
  const Value& x = *node.inputs[0];
  const int64_t rank = x.rank();
  std::vector<int64_t> perm = node.attrs().ints("perm");
  if (!node.attrs().has("perm"))
    for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
  if (static_cast<int64_t>(perm.size()) != rank)
    return Support::no("perm " + ints_str(perm) + " does not match the rank");
  const std::vector<int64_t> in = row_major(x.shape);
  Shape dims(rank);
  std::vector<int64_t> strides(rank);
  for (int64_t d = 0; d < rank; ++d) {
    if (perm[d] < 0 || perm[d] >= rank) return Support::no("perm " + ints_str(perm) + " is not a permutation");
    dims[d] = x.shape[perm[d]];
    strides[d] = in[perm[d]];
  }
  copies->push_back({0, 0, contiguous_box(dims, strides, 0)});
  return Support::yes();
}

// The CPU op's clamping rules (engine/ops/slice.cpp).
Support plan_slice(const NodeView& node, std::vector<Copy>* copies) {
  const Value& x = *node.inputs[0];
  const int64_t rank = x.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  bool has_starts, has_ends, has_axes, has_steps;
  for (auto [i, name, out, found] :
       {std::tuple{1, "starts", &starts, &has_starts}, std::tuple{2, "ends", &ends, &has_ends},
        std::tuple{3, "axes", &axes, &has_axes}, std::tuple{4, "steps", &steps, &has_steps}})
    if (Support s = read_ints(node, i, name, out, found); !s.ok) return s;
  if (!has_starts || !has_ends || starts.size() != ends.size())
    return Support::no("starts / ends missing or mismatched");
  if (!has_axes)
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (!has_steps) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    return Support::no("starts, ends, axes, steps lengths differ");
  std::vector<int64_t> begin(rank, 0), step(rank, 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t d;
    if (!normalize_axis(axes[i], rank, &d) || steps[i] == 0) return Support::no("bad axes or steps");
    const int64_t dim = x.shape[d], st = steps[i];
    int64_t s = starts[i];
    if (s < 0) s += dim;
    if (dim > 0) s = st > 0 ? std::clamp<int64_t>(s, 0, dim) : std::clamp<int64_t>(s, 0, dim - 1);
    begin[d] = s;
    step[d] = st;
  }
  const Shape& out = node.outputs[0]->shape;
  if (static_cast<int64_t>(out.size()) != rank) return Support::no("output rank differs from the input's");
  const std::vector<int64_t> in = row_major(x.shape);
  std::vector<int64_t> strides(rank);
  int64_t base = 0;
  for (int64_t d = 0; d < rank; ++d) {
    strides[d] = out[d] > 1 ? in[d] * step[d] : 0;  // |step| < dim when more than one element is read
    base += begin[d] * in[d];
  }
  if (num_elements(out) == 0) base = 0;
  copies->push_back({0, 0, contiguous_box(out, strides, base)});
  return Support::yes();
}

Support plan_concat(const NodeView& node, std::vector<Copy>* copies) {
  const Shape& out = node.outputs[0]->shape;
  const int64_t rank = static_cast<int64_t>(out.size());
  int64_t axis;
  if (rank == 0 || !normalize_axis(node.attrs().i("axis", 0), rank, &axis)) return Support::no("axis out of range");
  const std::vector<int64_t> dst = row_major(out);
  int64_t offset = 0;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (!node.has_input(i)) return Support::no("an input is missing");
    const Value& x = *node.inputs[i];
    if (x.rank() != rank) return Support::no("input ranks differ");
    const std::vector<int64_t> src = row_major(x.shape);
    Box b;
    for (int64_t d = 0; d < rank; ++d) b.add(x.shape[d], src[d], dst[d], x.shape[d]);
    b.dst_base = offset * dst[axis];
    copies->push_back({i, 0, b});
    offset += x.shape[axis];
  }
  return Support::yes();
}

Support plan_split(const NodeView& node, std::vector<Copy>* copies) {
  const Value& x = *node.inputs[0];
  const int64_t rank = x.rank();
  int64_t axis;
  if (rank == 0 || !normalize_axis(node.attrs().i("axis", 0), rank, &axis)) return Support::no("axis out of range");
  const std::vector<int64_t> src = row_major(x.shape);
  int64_t offset = 0;
  for (size_t o = 0; o < node.outputs.size(); ++o) {
    if (node.outputs[o] == nullptr) return Support::no("an output is missing");
    const Shape& out = node.outputs[o]->shape;
    if (static_cast<int64_t>(out.size()) != rank) return Support::no("output ranks differ");
    copies->push_back({0, o, contiguous_box(out, src, offset * src[axis])});
    offset += out[axis];
  }
  if (offset > x.shape[axis]) return Support::no("outputs exceed the split axis");
  return Support::yes();
}

Support plan_expand(const NodeView& node, std::vector<Copy>* copies) {
  const Value& x = *node.inputs[0];
  const Shape& out = node.outputs[0]->shape;
  const int64_t r = x.rank(), R = static_cast<int64_t>(out.size());
  if (r > R) return Support::no("output rank below the input's");
  const std::vector<int64_t> in = row_major(x.shape);
  std::vector<int64_t> strides(R, 0);
  for (int64_t d = 0; d < R; ++d) {
    const int64_t id = d - (R - r);
    if (id < 0) continue;
    if (x.shape[id] == out[d])
      strides[d] = in[id];
    else if (x.shape[id] != 1)
      return Support::no("input " + shape_of(x) + " does not broadcast to " + shape_str(out));
  }
  copies->push_back({0, 0, contiguous_box(out, strides, 0)});
  return Support::yes();
}

Support plan_tile(const NodeView& node, std::vector<Copy>* copies) {
  const Value& x = *node.inputs[0];
  const Shape& out = node.outputs[0]->shape;
  if (out.size() != x.shape.size()) return Support::no("output rank differs from the input's");
  Box b = contiguous_box(out, row_major(x.shape), 0);
  for (size_t d = 0; d < out.size(); ++d) b.src_mod[d] = std::max<int64_t>(x.shape[d], 1);
  copies->push_back({0, 0, b});
  return Support::yes();
}

// A transpose of a contiguous view of X: box dims view[perm[d]], source strides those of the view.
Box permuted_view_box(const Shape& view, const std::vector<int64_t>& perm) {
  const std::vector<int64_t> in = row_major(view);
  Shape dims(perm.size());
  std::vector<int64_t> strides(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) {
    dims[d] = view[perm[d]];
    strides[d] = in[perm[d]];
  }
  return contiguous_box(dims, strides, 0);
}

// DepthToSpace / SpaceToDepth on [N, C, H, W]: reshape-transpose-reshape (engine/ops/depth_to_space.cpp).
Support plan_depth_to_space(const NodeView& node, std::vector<Copy>* copies) {
  const Value& x = *node.inputs[0];
  const int64_t b = node.attrs().i("blocksize", 0);
  if (x.rank() != 4 || b <= 0) return Support::no("input " + shape_of(x) + " is not 4-D or blocksize is not positive");
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  if (c % (b * b) != 0) return Support::no("channels not a multiple of blocksize^2");
  const std::string mode = node.attrs().s("mode", "DCR");
  const int64_t oc = c / (b * b);
  if (mode == "DCR")
    copies->push_back({0, 0, permuted_view_box({n, b, b, oc, h, w}, {0, 3, 4, 1, 5, 2})});
  else if (mode == "CRD")
    copies->push_back({0, 0, permuted_view_box({n, oc, b, b, h, w}, {0, 1, 4, 2, 5, 3})});
  else
    return Support::no("mode '" + mode + "'");
  return Support::yes();
}

Support plan_space_to_depth(const NodeView& node, std::vector<Copy>* copies) {
  const Value& x = *node.inputs[0];
  const int64_t b = node.attrs().i("blocksize", 0);
  if (x.rank() != 4 || b <= 0) return Support::no("input " + shape_of(x) + " is not 4-D or blocksize is not positive");
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  if (h % b != 0 || w % b != 0) return Support::no("height and width not multiples of blocksize");
  copies->push_back({0, 0, permuted_view_box({n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4})});
  return Support::yes();
}

using CopyPlanner = Support (*)(const NodeView&, std::vector<Copy>*);

CopyPlanner copy_planner(fb::OpType op) {
  switch (op) {
    case fb::OpType::Transpose:
      return plan_transpose;
    case fb::OpType::Slice:
      return plan_slice;
    case fb::OpType::Concat:
      return plan_concat;
    case fb::OpType::Split:
      return plan_split;
    case fb::OpType::Expand:
      return plan_expand;
    case fb::OpType::Tile:
      return plan_tile;
    case fb::OpType::DepthToSpace:
      return plan_depth_to_space;
    case fb::OpType::SpaceToDepth:
      return plan_space_to_depth;
    default:
      return nullptr;
  }
}

// Number of leading inputs that are data (the rest are prepare-time shape operands).
size_t data_inputs(const NodeView& node) {
  return node.op() == fb::OpType::Concat ? node.inputs.size() : std::min<size_t>(node.inputs.size(), 1);
}

// Every copy as push constants; the reason when a box keeps more than kMaxDims dims.
Support copy_pushes(const NodeView& node, std::vector<Copy>* copies, std::vector<CopyPush>* pushes) {
  CopyPlanner planner = copy_planner(node.op());
  if (Support s = planner(node, copies); !s.ok) return s;
  pushes->clear();
  for (const Copy& c : *copies) {
    // Every element the box touches lies inside its source and destination (the CPU op has
    // validated the node; this keeps a planning mistake from ever writing out of bounds).
    if (c.box.total() > 0) {
      int64_t src_lo = c.box.src_base, src_hi = c.box.src_base, dst_hi = c.box.dst_base;
      for (size_t d = 0; d < c.box.dims.size(); ++d) {
        const int64_t last = std::min(c.box.dims[d], c.box.src_mod[d]) - 1;
        (c.box.src_stride[d] < 0 ? src_lo : src_hi) += last * c.box.src_stride[d];
        dst_hi += (c.box.dims[d] - 1) * c.box.dst_stride[d];
      }
      if (src_lo < 0 || src_hi >= node.inputs[c.src]->elements() || dst_hi >= node.outputs[c.dst]->elements())
        return Support::no("copy plan out of bounds for input " + shape_of(*node.inputs[c.src]) + " and output " +
                           shape_of(*node.outputs[c.dst]));
    }
    CopyPush p;
    if (!to_push(c.box, &p) && c.box.total() > 0)
      return Support::no("more than " + std::to_string(kMaxDims) + " dims after merging (" +
                         std::to_string(c.box.dims.size()) + " in the plan)");
    pushes->push_back(p);
  }
  return Support::yes();
}

class CopyVk final : public VkOp {
 public:
  explicit CopyVk(fb::OpType op) : op_(op) {}

  Status prepare(VkPrepare& ctx) override {
    const NodeView& node = ctx.node();
    if (Support s = copy_pushes(node, &copies_, &pushes_); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    StoreType store = StoreType::kFloat;
    store_of(node.outputs[0]->dtype, &store);
    shader_ = store == StoreType::kFloat ? "transpose" : "transpose_u32";
    for (size_t i = 0; i < data_inputs(node); ++i) sources_.push_back(operand(ctx, i));
    grids_.resize(pushes_.size());
    for (size_t i = 0; i < pushes_.size(); ++i)
      if (!grid_xy((uint64_t{pushes_[i].total} + kGroup - 1) / kGroup, ctx.caps(), &grids_[i][0], &grids_[i][1]))
        return ctx.fail(StatusCode::kUnsupported,
                        "copy of " + std::to_string(pushes_[i].total) + " elements exceeds the workgroup counts");
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    for (size_t i = 0; i < copies_.size(); ++i) {
      if (pushes_[i].total == 0) continue;
      ctx.dispatch(shader_, {sources_[copies_[i].src].get(ctx), ctx.output(copies_[i].dst)}, &pushes_[i],
                   sizeof(CopyPush), grids_[i][0], grids_[i][1]);
    }
  }

  std::string kernel_name() const override {
    switch (op_) {
      case fb::OpType::Transpose:
        return "vulkan.transpose";
      case fb::OpType::Slice:
        return "vulkan.slice";
      case fb::OpType::Concat:
        return "vulkan.concat";
      case fb::OpType::Split:
        return "vulkan.split";
      case fb::OpType::Expand:
        return "vulkan.expand";
      case fb::OpType::DepthToSpace:
        return "vulkan.depth_to_space";
      case fb::OpType::SpaceToDepth:
        return "vulkan.space_to_depth";
      default:
        return "vulkan.tile";
    }
  }

 private:
  fb::OpType op_;
  std::vector<Copy> copies_;
  std::vector<CopyPush> pushes_;
  std::vector<Operand> sources_;
  std::vector<std::array<uint32_t, 2>> grids_;
  const char* shader_ = "transpose";
};

// ---------------------------------------------------------------------------------------------
// Gather

struct GatherPush {
  uint32_t total, num_indices, axis_dim, inner;
};

Support plan_gather(const NodeView& node, GatherPush* p) {
  const Value& x = *node.inputs[0];
  const Value& idx = *node.inputs[1];
  if (idx.dtype != DType::I64 && idx.dtype != DType::I32)
    return Support::no(std::string("indices dtype ") + dtype_name(idx.dtype));
  if (Support s = check_data(idx, "indices"); !s.ok) return s;
  int64_t axis;
  if (x.rank() == 0 || !normalize_axis(node.attrs().i("axis", 0), x.rank(), &axis))
    return Support::no("axis out of range");
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape[d];
  *p = GatherPush{};
  p->total = static_cast<uint32_t>(node.outputs[0]->elements());
  p->num_indices = static_cast<uint32_t>(idx.elements());
  p->axis_dim = static_cast<uint32_t>(x.shape[axis]);
  p->inner = static_cast<uint32_t>(inner);
  if (p->axis_dim == 0 || p->num_indices == 0 || p->inner == 0) p->total = 0;
  return Support::yes();
}

class GatherVk final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    const NodeView& node = ctx.node();
    if (Support s = plan_gather(node, &push_); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    StoreType store = StoreType::kFloat;
    store_of(node.outputs[0]->dtype, &store);
    shader_ = store == StoreType::kFloat ? "gather" : "gather_u32";
    data_ = operand(ctx, 0);
    indices_ = operand(ctx, 1);
    if (!grid_xy((uint64_t{push_.total} + kGroup - 1) / kGroup, ctx.caps(), &gx_, &gy_))
      return ctx.fail(StatusCode::kUnsupported,
                      "gather of " + std::to_string(push_.total) + " elements exceeds the workgroup counts");
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    if (push_.total == 0) return;
    ctx.dispatch(shader_, {data_.get(ctx), indices_.get(ctx), ctx.output(0)}, &push_, sizeof(push_), gx_, gy_);
  }

  std::string kernel_name() const override { return "vulkan.gather"; }

 private:
  GatherPush push_{};
  Operand data_, indices_;
  const char* shader_ = "gather";
  uint32_t gx_ = 0, gy_ = 1;
};

// ---------------------------------------------------------------------------------------------
// Pad

struct PadPush {
  uint32_t total, mode, value_bits;
  uint32_t out_dims[kMaxDims];
  uint32_t in_dims[kMaxDims];
  int32_t begin[kMaxDims];
};
static_assert(sizeof(PadPush) == 84);

Support plan_pad(const NodeView& node, PadPush* p) {
  const Value& x = *node.inputs[0];
  const Value& y = *node.outputs[0];
  const int64_t rank = x.rank();
  std::vector<int64_t> pads;
  bool found;
  if (Support s = read_ints(node, 1, "pads", &pads, &found); !s.ok) return s;
  if (static_cast<int64_t>(pads.size()) != 2 * rank || y.rank() != rank)
    return Support::no("pads " + ints_str(pads) + " do not match the rank");
  if (rank > kMaxDims) return Support::no("rank " + std::to_string(rank) + " > " + std::to_string(kMaxDims));
  *p = PadPush{};
  const std::string mode = node.attrs().s("mode", "constant");
  if (mode == "constant")
    p->mode = 0;
  else if (mode == "reflect")
    p->mode = 1;
  else if (mode == "edge")
    p->mode = 2;
  else
    return Support::no("mode '" + mode + "'");
  const int64_t lead = kMaxDims - rank;
  for (int64_t d = 0; d < kMaxDims; ++d) {
    p->out_dims[d] = p->in_dims[d] = 1;
    if (d < lead) continue;
    const int64_t k = d - lead;
    if (std::abs(pads[k]) > kMaxElements) return Support::no("pads " + ints_str(pads) + " beyond 2^31");
    p->out_dims[d] = static_cast<uint32_t>(y.shape[k]);
    p->in_dims[d] = static_cast<uint32_t>(x.shape[k]);
    p->begin[d] = static_cast<int32_t>(pads[k]);
  }
  p->total = static_cast<uint32_t>(y.elements());
  if (p->mode != 0 && x.elements() == 0) p->total = 0;  // the CPU refuses a non-empty output there
  // The constant, converted to X's dtype as the CPU op does (value attr, or input 2).
  const float value = node.attrs().f("value", 0.f);
  uint8_t bytes[8] = {};
  if (node.has_input(2)) {
    const Value& v = *node.inputs[2];
    if (!is_constant(v) || v.dtype != x.dtype || v.elements() != 1)
      return Support::no("value operand is not a known scalar");
    std::memcpy(bytes, v.data, dtype_size(v.dtype));
  } else if (x.dtype != DType::F32) {
    kernels::cast(&value, static_cast<int>(DType::F32), bytes, static_cast<int>(x.dtype), 1, nullptr);
  } else {
    std::memcpy(bytes, &value, 4);
  }
  switch (x.dtype) {
    case DType::F32:
      std::memcpy(&p->value_bits, bytes, 4);
      break;
    case DType::I32:
      std::memcpy(&p->value_bits, bytes, 4);
      break;
    case DType::I64: {
      int64_t v;
      std::memcpy(&v, bytes, 8);
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        return Support::no("pad value outside int32");
      p->value_bits = static_cast<uint32_t>(static_cast<int32_t>(v));
      break;
    }
    case DType::BOOL:
      p->value_bits = bytes[0] != 0 ? 1 : 0;
      break;
    default:
      p->value_bits = bytes[0];
      break;  // U8
  }
  return Support::yes();
}

class PadVk final : public VkOp {
 public:
  Status prepare(VkPrepare& ctx) override {
    const NodeView& node = ctx.node();
    if (Support s = plan_pad(node, &push_); !s.ok) return ctx.fail(StatusCode::kUnsupported, s.reason);
    StoreType store = StoreType::kFloat;
    store_of(node.outputs[0]->dtype, &store);
    shader_ = store == StoreType::kFloat ? "pad" : "pad_u32";
    x_ = operand(ctx, 0);
    empty_input_ = node.inputs[0]->elements() == 0;
    if (!grid_xy((uint64_t{push_.total} + kGroup - 1) / kGroup, ctx.caps(), &gx_, &gy_))
      return ctx.fail(StatusCode::kUnsupported,
                      "pad of " + std::to_string(push_.total) + " elements exceeds the workgroup counts");
    return Status::Ok();
  }

  void record(VkRecord& ctx) override {
    if (push_.total == 0) return;
    const Tensor y = ctx.output(0);
    const Tensor x = empty_input_ ? y : x_.get(ctx);  // an empty input is never read
    ctx.dispatch(shader_, {x, y}, &push_, sizeof(push_), gx_, gy_);
  }

  std::string kernel_name() const override { return "vulkan.pad"; }

 private:
  PadPush push_{};
  Operand x_;
  bool empty_input_ = false;
  const char* shader_ = "pad";
  uint32_t gx_ = 0, gy_ = 1;
};

bool is_tensor_op(fb::OpType op) {
  return copy_planner(op) != nullptr || op == fb::OpType::Gather || op == fb::OpType::Pad;
}

}  // namespace

Support vk_supports_tensor(const NodeView& node, const DeviceCaps& caps) {
  (void)caps;
  if (!is_tensor_op(node.op())) return Support::no("");
  if (node.inputs.empty() || !node.has_input(0)) return Support::no("input 0 missing");
  if (node.outputs.empty()) return Support::no("no outputs");
  const DType dtype = node.inputs[0]->dtype;
  for (size_t i = 0; i < data_inputs(node); ++i) {
    if (!node.has_input(i)) return Support::no("input " + std::to_string(i) + " missing");
    if (Support s = check_data(*node.inputs[i], "input"); !s.ok) return s;
    if (node.inputs[i]->dtype != dtype) return Support::no("inputs of different dtypes");
  }
  for (const Value* out : node.outputs) {
    if (out == nullptr) return Support::no("an output is missing");
    if (Support s = check_data(*out, "output"); !s.ok) return s;
    if (out->dtype != dtype) return Support::no("output dtype differs from the input's");
  }
  if (node.op() == fb::OpType::Gather) {
    if (node.inputs.size() != 2 || !node.has_input(1)) return Support::no("Gather needs data and indices");
    GatherPush p;
    return plan_gather(node, &p);
  }
  if (node.op() == fb::OpType::Pad) {
    PadPush p;
    return plan_pad(node, &p);
  }
  std::vector<Copy> copies;
  std::vector<CopyPush> pushes;
  return copy_pushes(node, &copies, &pushes);
}

std::unique_ptr<VkOp> make_vk_op_tensor(const NodeView& node) {
  if (!is_tensor_op(node.op())) return nullptr;
  if (node.op() == fb::OpType::Gather) return std::make_unique<GatherVk>();
  if (node.op() == fb::OpType::Pad) return std::make_unique<PadVk>();
  return std::make_unique<CopyVk>(node.op());
}

}  // namespace pocket::vk
