// Vulkan ops (norm family): placeholder until the shaders land.
#include "engine/backends/vulkan/vk_op.h"

namespace pocket::vk {

Support vk_supports_norm(const NodeView& node, const DeviceCaps& caps) {
  (void)node, (void)caps;
  return Support::no("");
}

std::unique_ptr<VkOp> make_vk_op_norm(const NodeView& node) {
  (void)node;
  return nullptr;
}

}  // namespace pocket::vk
