// The SPIR-V of every engine/backends/vulkan/shaders/*.comp, compiled by glslc at build time and
// embedded by cmake/PocketEmbedSpirv.cmake (generated vk_shaders_embedded.cpp). Names are the file
// stem plus the variant: "binary_f32", "binary_f16" (fp16 storage), and "matmul_f16a" (fp16
// storage and arithmetic) for the shaders marked `// pocket: fp16-arithmetic` (common.glsl).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pocket::vk {

// The shader's words (and their count in *words), or nullptr when there is no such shader.
const uint32_t* vk_shader(const char* name, size_t* words);
size_t vk_shader_count();  // variants embedded (two or three per .comp)

}  // namespace pocket::vk
