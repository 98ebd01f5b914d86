# The Vulkan backend (issue #7): option POCKET_VULKAN, and pocket_vulkan_embed_shaders(), which
# compiles every engine/backends/vulkan/shaders/*.comp twice with glslc (NAME_f32 and NAME_f16 with
# -DSTORE_F16=1; a third time, NAME_f16a with -DARITH_F16=1 too, when the shader is marked for fp16
# arithmetic, see shaders/common.glsl) at build time and embeds the SPIR-V in a generated .cpp with the lookup
# pocket::vk::vk_shader(name, &words) (engine/backends/vulkan/vk_shaders.h).
#
# Default: ON when find_package(Vulkan COMPONENTS glslc) finds the loader, the headers and glslc,
# and this is not a cross build; OFF otherwise (make_vulkan_backend() then says the build has no
# Vulkan backend). Asking for ON without Vulkan is a configure error.
if(CMAKE_CROSSCOMPILING)
  set(_pocket_vulkan_default OFF)
  set(_pocket_vulkan_why "cross build")
else()
  find_package(Vulkan QUIET COMPONENTS glslc)
  if(Vulkan_FOUND AND TARGET Vulkan::glslc)
    set(_pocket_vulkan_default ON)
  else()
    set(_pocket_vulkan_default OFF)
    set(_pocket_vulkan_why "Vulkan headers/loader or glslc not found (Debian: libvulkan-dev glslc)")
  endif()
endif()
option(POCKET_VULKAN "Build the Vulkan compute backend (needs libvulkan-dev and glslc)" ${_pocket_vulkan_default})
if(POCKET_VULKAN)
  if(NOT Vulkan_FOUND)
    find_package(Vulkan QUIET COMPONENTS glslc)
  endif()
  if(NOT Vulkan_FOUND OR NOT TARGET Vulkan::glslc)
    message(FATAL_ERROR "POCKET_VULKAN=ON needs the Vulkan loader, headers and glslc (Debian: apt-get install libvulkan-dev glslc)")
  endif()
  message(STATUS "Pocket: Vulkan backend ON (${Vulkan_LIBRARY}, glslc ${Vulkan_GLSLC_EXECUTABLE})")
else()
  if(_pocket_vulkan_why)
    message(STATUS "Pocket: Vulkan backend OFF (${_pocket_vulkan_why})")
  else()
    message(STATUS "Pocket: Vulkan backend OFF (POCKET_VULKAN=OFF)")
  endif()
endif()

# Adds the generated shader table to `target`.
function(pocket_vulkan_embed_shaders target shader_dir)
  file(GLOB _comps CONFIGURE_DEPENDS ${shader_dir}/*.comp)
  list(SORT _comps)
  set(_out_dir ${CMAKE_CURRENT_BINARY_DIR}/vk_spirv)
  file(MAKE_DIRECTORY ${_out_dir})
  set(_spvs "")
  set(_names "")
  file(GLOB _glsl_includes ${shader_dir}/*.glsl)
  foreach(_comp IN LISTS _comps)
    get_filename_component(_stem ${_comp} NAME_WE)
    # Shaders marked `// pocket: fp16-arithmetic` get a third variant (common.glsl).
    set(_variants f32 f16)
    file(STRINGS ${_comp} _marker REGEX "^// pocket: fp16-arithmetic")
    if(_marker)
      list(APPEND _variants f16a)
    endif()
    foreach(_variant IN LISTS _variants)
      set(_spv ${_out_dir}/${_stem}_${_variant}.spv)
      if(_variant STREQUAL "f16")
        set(_defs -DSTORE_F16=1)
      elseif(_variant STREQUAL "f16a")
        set(_defs -DSTORE_F16=1 -DARITH_F16=1)
      else()
        set(_defs "")
      endif()
      add_custom_command(OUTPUT ${_spv}
        COMMAND Vulkan::glslc --target-env=vulkan1.1 -O -I ${shader_dir} ${_defs}
                -MD -MF ${_spv}.d -MT ${_spv} -o ${_spv} ${_comp}
        DEPENDS ${_comp} ${_glsl_includes}
        DEPFILE ${_spv}.d
        COMMENT "glslc ${_stem}_${_variant}"
        VERBATIM)
      list(APPEND _spvs ${_spv})
      list(APPEND _names ${_stem}_${_variant})
    endforeach()
  endforeach()
  set(_gen ${CMAKE_CURRENT_BINARY_DIR}/vk_shaders_embedded.cpp)
  string(REPLACE ";" "," _spv_arg "${_spvs}")
  add_custom_command(OUTPUT ${_gen}
    COMMAND ${CMAKE_COMMAND} -DOUT=${_gen} "-DSPVS=${_spv_arg}" -P ${CMAKE_SOURCE_DIR}/cmake/PocketEmbedSpirv.cmake
    DEPENDS ${_spvs} ${CMAKE_SOURCE_DIR}/cmake/PocketEmbedSpirv.cmake
    COMMENT "Embedding SPIR-V shaders"
    VERBATIM)
  target_sources(${target} PRIVATE ${_gen})
endfunction()
