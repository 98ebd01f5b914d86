// The SPIR-V of every engine/backends/vulkan/shaders/*.comp, compiled by glslc at build time and
// embedded by cmake/PocketEmbedSpirv.cmake (generated vk_shaders_embedded.cpp). Names are the file
// stem plus the storage variant: "binary_f32", "binary_f16".
#pragma once

#include <cstddef>
#include <cstdint>

namespace pocket::vk {

// The shader's words (and their count in *words), or nullptr when there is no such shader.
const uint32_t* vk_shader(const char* name, size_t* words);
size_t vk_shader_count();  // variants embedded (two per .comp)

}  // namespace pocket::vk
