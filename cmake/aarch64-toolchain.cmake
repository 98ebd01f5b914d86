# Cross toolchain for aarch64 Linux: Debian's g++-aarch64-linux-gnu, tests run under qemu-user.
# The arm64 libraries Pocket links (XNNPACK, pthreadpool, cpuinfo, FlatBuffers, GoogleTest) come
# from an extracted root (scripts/setup_arm64.sh), never from multiarch installs; see
# ../shared/TOOLCHAINS.md §2.
#   cmake -S . -B build-arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-toolchain.cmake
# The qemu CPU model follows the QEMU_CPU environment variable read by qemu-aarch64 itself
# (unset: "max", with dot-product and fp16): QEMU_CPU=cortex-a72 ctest ... runs the fallbacks.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT DEFINED ARM64_EXTRA_ROOT)
  set(ARM64_EXTRA_ROOT "$ENV{ARM64_EXTRA_ROOT}")
endif()
if(NOT ARM64_EXTRA_ROOT)
  set(ARM64_EXTRA_ROOT "/opt/arm64-extra")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ARM64_EXTRA_ROOT)

# Only the cross libc and the extracted root. Not "/": with CMAKE_LIBRARY_ARCHITECTURE set, CMake
# would then find the host's x86-64 libraries in /usr/lib.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu "${ARM64_EXTRA_ROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # host tools: flatc
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# libXNNPACK.so.0 needs libpthreadpool.so.0 and libcpuinfo.so.0 from the extra root.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${ARM64_EXTRA_ROOT}/usr/lib/aarch64-linux-gnu")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${ARM64_EXTRA_ROOT}/usr/lib/aarch64-linux-gnu")

# ctest runs the test binaries through qemu. -L is right only while no libc6:arm64 is installed
# through multiarch (a mismatched ld.so/libc.so.6 pair makes pthread_create spin forever);
# LD_LIBRARY_PATH goes through -E so that the host's own processes never see it.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-aarch64 -L /usr/aarch64-linux-gnu
    -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib:${ARM64_EXTRA_ROOT}/usr/lib/aarch64-linux-gnu)
