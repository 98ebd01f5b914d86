// Helpers shared by the Vulkan runtime and ops: storage types and sizes, fp16 conversion on the
// host, constants turned into weights, numpy broadcasting strides.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/backends/vulkan/vk_op.h"

namespace pocket::vk {

// The storage type a dtype has on the device, or false for a dtype the backend cannot hold
// (F16, BF16, I8, I4, F64: the CPU keeps those nodes).
bool store_type_of(DType dtype, StoreType* store);
// Bytes per element on the device (float: 4, or 2 in fp16 mode; int32 and bool: 4).
size_t store_size(StoreType store, bool fp16);

// IEEE half <-> float, round to nearest even; overflow gives infinity.
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

// "Add 'block.3.add'": the node's op type and name, for errors and reasons.
std::string node_label(const NodeView& node);

// The data of a constant (or known) input as floats (F32, F16, F64, I32, I64, U8, BOOL converted),
// false for other dtypes.
bool constant_floats(const Value& v, std::vector<float>* out);
// As int32 (I32, I64 in range, U8, BOOL); false when a value does not fit or the dtype is another.
bool constant_ints(const Value& v, std::vector<int32_t>* out);
// A constant input uploaded as a weight in its storage type (float or int32; bool as uint32 0/1).
// Returns the weight id, or -1 (the reason in *why).
int add_constant_weight(VkPrepare& ctx, const Value& v, std::string* why);
// Whether input i of the node is a constant (constant or known) value.
inline bool is_constant_input(const NodeView& n, size_t i) {
  return n.has_input(i) && (n.inputs[i]->constant || n.inputs[i]->known);
}

// Whether the device is a CPU implementation (lavapipe, SwiftShader): shaders may then prefer
// register blocking over shared-memory tiling (workgroup barriers are expensive there).
// POCKET_VK_CPU_STYLE=0/1 overrides (tests exercise both forms on one device).
bool prefers_cpu_style_shaders(const VkPrepare& ctx);

// A workgroup count over x and y with x * y >= groups, each within the device's limits (shaders
// take the linear group as y * num_groups.x + x and skip past the end); false when it cannot be.
bool grid_xy(uint64_t groups, const DeviceCaps& caps, uint32_t* gx, uint32_t* gy);

// numpy broadcasting: the element strides of `in` over an output of shape `out` (right-aligned,
// 0 for a broadcast dim), padded on the left to `rank` dims. False when `in` does not broadcast.
bool broadcast_strides(const Shape& in, const Shape& out, size_t rank, int32_t* strides);
// numpy's broadcast result shape of several shapes, false when they do not broadcast.
bool broadcast_shape(const std::vector<Shape>& shapes, Shape* out);

}  // namespace pocket::vk
