#!/usr/bin/env bash
# Configures and builds Pocket (Release) into ${POCKET_BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${POCKET_BUILD_DIR:-build}"
jobs="${POCKET_JOBS:-2}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j"$jobs"
