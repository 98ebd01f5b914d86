// Built instead of engine/backends/vulkan/** when POCKET_VULKAN is OFF (cmake/PocketVulkan.cmake):
// the Vulkan backend is then simply absent, with an error that says so.
#include "engine/backend.h"

namespace pocket {

Result<std::unique_ptr<Backend>> make_vulkan_backend(bool allow_cpu_device) {
  (void)allow_cpu_device;
  return Status(StatusCode::kUnsupported, "this build has no Vulkan backend (POCKET_VULKAN=OFF)");
}

}  // namespace pocket
