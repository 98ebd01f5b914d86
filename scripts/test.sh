#!/usr/bin/env bash
# Set up, build, run every test. Usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh
scripts/build.sh
build_dir="${POCKET_BUILD_DIR:-build}"
ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 900 "$@"
echo "test.sh: finished in $(( $(date +%s) - start )) s"
