// The Vulkan op dispatcher: asks each op family in turn (vk_op.h). A family answers
// Support::no("") for nodes it does not own.
#include "engine/backends/vulkan/vk_op.h"

namespace pocket::vk {

namespace {
using SupportFn = Support (*)(const NodeView&, const DeviceCaps&);
using MakeFn = std::unique_ptr<VkOp> (*)(const NodeView&);
constexpr SupportFn kSupports[] = {vk_supports_elementwise, vk_supports_dense, vk_supports_conv, vk_supports_norm,
                                   vk_supports_tensor, vk_supports_reduce};
constexpr MakeFn kMakers[] = {make_vk_op_elementwise, make_vk_op_dense, make_vk_op_conv, make_vk_op_norm,
                              make_vk_op_tensor, make_vk_op_reduce};
}  // namespace

Support vk_supports(const NodeView& node, const DeviceCaps& caps) {
  if (!node.node) return Support::no("no node");
  for (SupportFn f : kSupports) {
    Support s = f(node, caps);
    if (s.ok || !s.reason.empty()) return s;
  }
  return Support::no(std::string("no Vulkan shader for ") + fb::EnumNameOpType(node.op()));
}

std::unique_ptr<VkOp> make_vk_op(const NodeView& node) {
  if (!node.node) return nullptr;
  for (MakeFn f : kMakers) {
    if (auto op = f(node)) return op;
  }
  return nullptr;
}

}  // namespace pocket::vk
