#!/usr/bin/env bash
# Installs every Debian package Pocket needs. Idempotent; fast when everything is present.
# Usage: scripts/setup.sh [--with-node]   (--with-node also makes sure node and npm exist)
set -euo pipefail

packages=(
  # build
  cmake g++ ninja-build pkg-config
  # runtime dependencies of libpocket.a
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libflatbuffers-dev flatbuffers-compiler
  # converter
  libonnx-dev libprotobuf-dev protobuf-compiler
  # tools
  libstb-dev
  # Vulkan backend: loader and headers, glslc (shaders compiled at build time), Mesa's drivers
  # (lavapipe, the CPU implementation the tests run on when there is no GPU)
  libvulkan-dev glslc mesa-vulkan-drivers
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # fixtures: reference models and real data (photos)
  python3 python3-numpy python3-torch python3-torchvision python3-onnx python3-skimage python3-sklearn
  # fixtures: speech synthesised for the Whisper tests
  espeak-ng
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ "${1:-}" == "--with-node" ]] && ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#packages[@]} packages present"
fi
