#!/usr/bin/env bash
# Set up, build, run every test: the native suite, then the ARM leg (aarch64 cross build under
# qemu, scripts/test_arm64.sh; POCKET_SKIP_ARM=1 skips it), then the sanitizer legs (ASan+UBSan
# with the fuzzers, and TSan: scripts/test_sanitize.sh, their CI subsets; POCKET_SKIP_SANITIZE=1
# skips them). Usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh
scripts/build.sh
build_dir="${POCKET_BUILD_DIR:-build}"
native_rc=0
# The Vulkan tests run on Mesa's CPU driver (lavapipe), also on a machine with a real GPU, so that
# every machine tests the same thing (unset when lavapipe is not installed: they then skip).
lvp_icd=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json
[[ -f "$lvp_icd" ]] && export VK_ICD_FILENAMES="$lvp_icd"
ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 900 "$@" || native_rc=$?
# The ARM leg: aarch64 cross build, kernel and op tests under qemu (-cpu max and -cpu cortex-a72).
arm_rc=0
if [[ "${POCKET_SKIP_ARM:-0}" == 1 ]]; then
  echo "test.sh: ARM leg skipped (POCKET_SKIP_ARM=1)"
else
  scripts/test_arm64.sh || arm_rc=$?
fi
# The sanitizer legs: their own build trees (build-asan, build-tsan), this tree's fixtures.
san_rc=0
if [[ "${POCKET_SKIP_SANITIZE:-0}" == 1 ]]; then
  echo "test.sh: sanitizer legs skipped (POCKET_SKIP_SANITIZE=1)"
else
  POCKET_FIXTURE_ROOT="$build_dir" scripts/test_sanitize.sh all || san_rc=$?
fi
echo "test.sh: finished in $(( $(date +%s) - start )) s (native ctest rc $native_rc, ARM leg rc $arm_rc, sanitizer legs rc $san_rc)"
((native_rc == 0 && arm_rc == 0 && san_rc == 0))
