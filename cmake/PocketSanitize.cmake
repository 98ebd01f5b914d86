# Sanitizer and fuzzing builds (issue #6).
#   -DPOCKET_SANITIZE=address,undefined   ASan + UBSan, no recovery, float-cast-overflow included
#   -DPOCKET_SANITIZE=thread              TSan
#   -DPOCKET_FUZZ=ON                      libFuzzer targets in fuzz/ (clang only; every library is
#                                         built with -fsanitize=fuzzer-no-link coverage)
# Use clang-14 (CC=clang-14 CXX=clang++-14) for fuzzing; GCC handles the sanitizers alone too.
set(POCKET_SANITIZE "" CACHE STRING "Sanitizers to build with: '', 'address,undefined' or 'thread'")
option(POCKET_FUZZ "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)

if(POCKET_SANITIZE)
  # Line tables are all a sanitizer report needs (file:line in every frame); full -g doubles the
  # compile time of the test files. POCKET_SANITIZER_BUILD lets kernels skip forced unrolling that
  # only costs compile time under instrumentation (kernels/conv/dwconv_f32_tile.h).
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    set(_san_debug -gline-tables-only)
  else()
    set(_san_debug -g1)
  endif()
  set(_san_flags -fsanitize=${POCKET_SANITIZE} -fno-omit-frame-pointer ${_san_debug} -DPOCKET_SANITIZER_BUILD)
  if(POCKET_SANITIZE MATCHES "undefined")
    list(APPEND _san_flags -fsanitize=float-cast-overflow -fno-sanitize-recover=all)
  endif()
  add_compile_options(${_san_flags})
  add_link_options(-fsanitize=${POCKET_SANITIZE})
  if(POCKET_SANITIZE MATCHES "undefined")
    add_link_options(-fsanitize=float-cast-overflow)
  endif()
endif()

if(POCKET_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "POCKET_FUZZ needs clang (configure with CC=clang-14 CXX=clang++-14)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
endif()
