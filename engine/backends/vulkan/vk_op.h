// The Vulkan backend's op interface: the contract between the runtime (vk_runtime.*, device,
// memory plan, pipelines, command buffer: engine/backends/vulkan/vk_backend.cpp) and the ops
// (vk_ops_*.cpp, one shader or a few per op in shaders/*.comp).
//
// For each node of a subgraph the runtime:
//   1. asks vk_supports(node, caps) (the partitioner calls it through VulkanBackend::supports);
//   2. creates the op (make_vk_op) and calls prepare(VkPrepare&): the op checks what it needs,
//      turns constants into device weights (add_weight*, repacked on the host if it likes),
//      asks for device scratch live only during this node, and chooses its shaders;
//   3. plans device memory: every activation of the subgraph gets an offset in one device
//      allocation from liveness (engine/memory_plan.h); scratch likewise; an op whose
//      alias_input() >= 0 (Reshape, Flatten, Squeeze, Unsqueeze, Identity) gets no buffer: its
//      output is its input's range with the new shape;
//   4. records every op once into one command buffer (record(VkRecord&)), which each run
//      submits: uploads (staging -> device), the dispatches, downloads (device -> staging).
// The runtime puts a compute->compute memory barrier between consecutive dispatches, so an op
// may issue several dispatches that read each other's results.
//
// Storage types on the device: F32 values are stored as float (fp32 mode) or float16_t (fp16
// mode, when the device has storageBuffer16BitAccess); I64 values are stored as int32 (the
// runtime converts on upload/download, and checks that every value fits, else the upload
// fails); I32 as int32; BOOL and U8 as one uint32 per element (0/1). Shaders use the
// common.glsl STORE macros for float data; the _f16 variant of every shader is selected by
// VkRecord::shader() automatically in fp16 mode.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "engine/backend.h"

namespace pocket::vk {

// Device capabilities the ops may depend on.
struct DeviceCaps {
  bool fp16_storage = false;      // storageBuffer16BitAccess (fp16 mode available)
  bool fp16_arithmetic = false;   // shaderFloat16
  bool int64 = false;             // shaderInt64
  uint32_t max_workgroup_invocations = 128;
  uint32_t max_workgroup_count[3] = {65535, 65535, 65535};
  uint32_t max_push_constant_bytes = 128;
  uint32_t subgroup_size = 0;     // 0: unknown
  uint64_t max_storage_buffer_range = 1u << 27;
};

// The device type a value is stored as (see above).
enum class StoreType { kFloat, kInt32, kBool };

// A device range: a buffer (the activation arena, the weight buffer or the scratch arena), an
// offset and a size in bytes, plus the logical dtype/shape it holds.
struct Tensor {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize bytes = 0;
  StoreType store = StoreType::kFloat;
  Shape shape;
  int64_t elements() const { return num_elements(shape); }
};

// Handed to VkOp::prepare.
class VkPrepare {
 public:
  virtual ~VkPrepare() = default;
  virtual const NodeView& node() const = 0;
  virtual const DeviceCaps& caps() const = 0;
  virtual bool fp16() const = 0;  // float activations and float weights stored as float16_t
  // A weight from host floats, stored in the float storage type (fp32, or fp16 in fp16 mode).
  // Returns a weight id for VkRecord::weight(). The bytes are copied: the op may pass a temporary.
  virtual int add_weight_floats(const float* data, size_t count) = 0;
  // A weight of int32 elements (indices, tables), stored as is.
  virtual int add_weight_ints(const int32_t* data, size_t count) = 0;
  // Device scratch of `bytes` bytes, live only while this node runs. Returns a scratch id.
  virtual int add_scratch(size_t bytes) = 0;
  // An error naming the node: fail(StatusCode::kUnsupported, "...").
  virtual Status fail(StatusCode code, const std::string& what) const = 0;
};

// Handed to VkOp::record, once, after the memory plan.
class VkRecord {
 public:
  virtual ~VkRecord() = default;
  // A non-constant input's device range. A constant (or known) input has no device range: the
  // op turns it into a weight at prepare (add_weight_*); input(i) of one returns an empty Tensor,
  // and binding an empty Tensor in dispatch() fails the subgraph's prepare, naming the node.
  virtual Tensor input(size_t i) const = 0;
  virtual Tensor output(size_t i) const = 0;
  virtual Tensor weight(int id) const = 0;
  virtual Tensor scratch(int id) const = 0;
  // One dispatch of shader `name` (the file shaders/<name>.comp; the _f32/_f16 variant is chosen
  // by the runtime) with the given storage buffers at set 0, bindings 0..n-1, push constants
  // (at most 128 bytes, std430 layout), and a workgroup count. The runtime creates pipelines on
  // first use and caches them by name. Group counts of 0 skip the dispatch.
  virtual void dispatch(const char* shader, std::initializer_list<Tensor> bindings, const void* push,
                        uint32_t push_bytes, uint32_t gx, uint32_t gy = 1, uint32_t gz = 1) = 0;
};

class VkOp {
 public:
  virtual ~VkOp() = default;
  virtual Status prepare(VkPrepare& ctx) = 0;
  virtual void record(VkRecord& ctx) = 0;
  virtual std::string kernel_name() const = 0;  // "vulkan.conv2d", shown in profiles and reports
  // A view (Reshape, Flatten, Squeeze, Unsqueeze, Identity): output 0 is input alias_input()'s
  // range; record() does nothing. -1: not a view.
  virtual int alias_input() const { return -1; }
};

// Whether the Vulkan backend runs this node (dtypes, shapes, attributes), with the reason when
// not. Exactly the nodes make_vk_op() can prepare: prepare() fails only on device limits.
Support vk_supports(const NodeView& node, const DeviceCaps& caps);
std::unique_ptr<VkOp> make_vk_op(const NodeView& node);

// Per op family (vk_ops_<family>.cpp): each returns Support::no("...") for nodes it does not own,
// with an empty reason, so vk_supports can ask each in turn.
Support vk_supports_dense(const NodeView& node, const DeviceCaps& caps);       // MatMul, Gemm
Support vk_supports_elementwise(const NodeView& node, const DeviceCaps& caps); // unary, binary, views
Support vk_supports_conv(const NodeView& node, const DeviceCaps& caps);        // Conv, pools, SqueezeExcite
Support vk_supports_norm(const NodeView& node, const DeviceCaps& caps);        // Softmax, LayerNorm, RMSNorm, Attention
Support vk_supports_tensor(const NodeView& node, const DeviceCaps& caps);      // Gather, Transpose, Concat, ...
Support vk_supports_reduce(const NodeView& node, const DeviceCaps& caps);      // Reduce*, ArgMax/Min, InstanceNorm, Resize, Trilu
std::unique_ptr<VkOp> make_vk_op_dense(const NodeView& node);
std::unique_ptr<VkOp> make_vk_op_elementwise(const NodeView& node);
std::unique_ptr<VkOp> make_vk_op_conv(const NodeView& node);
std::unique_ptr<VkOp> make_vk_op_norm(const NodeView& node);
std::unique_ptr<VkOp> make_vk_op_tensor(const NodeView& node);
std::unique_ptr<VkOp> make_vk_op_reduce(const NodeView& node);

}  // namespace pocket::vk
