#!/usr/bin/env bash
# Set up, build, run every test: the native suite, then the ARM leg (aarch64 cross build under
# qemu, scripts/test_arm64.sh; POCKET_SKIP_ARM=1 skips it), then, with POCKET_SANITIZER_LEGS=1, the
# sanitizer legs (ASan+UBSan with the fuzzers, and TSan: scripts/test_sanitize.sh, their subsets). Usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh
scripts/build.sh
build_dir="${POCKET_BUILD_DIR:-build}"
native_rc=0
ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 900 "$@" || native_rc=$?
# The ARM leg: aarch64 cross build, kernel and op tests under qemu (-cpu max and -cpu cortex-a72).
arm_rc=0
if [[ "${POCKET_SKIP_ARM:-0}" == 1 ]]; then
  echo "test.sh: ARM leg skipped (POCKET_SKIP_ARM=1)"
else
  scripts/test_arm64.sh || arm_rc=$?
fi
# The sanitizer legs: their own build trees (build-asan, build-tsan), this tree's fixtures.
# Not yet part of the default run: under ASan+UBSan some unit tests and two fuzz targets still
# stop on UBSan reports (issue #6 is open on it). POCKET_SANITIZER_LEGS=1 runs them.
san_rc=0
if [[ "${POCKET_SANITIZER_LEGS:-0}" != 1 || "${POCKET_SKIP_SANITIZE:-0}" == 1 ]]; then
  echo "test.sh: sanitizer legs not run (POCKET_SANITIZER_LEGS=1 runs them: scripts/test_sanitize.sh all)"
else
  POCKET_FIXTURE_ROOT="$build_dir" scripts/test_sanitize.sh all || san_rc=$?
fi
echo "test.sh: finished in $(( $(date +%s) - start )) s (native ctest rc $native_rc, ARM leg rc $arm_rc, sanitizer legs rc $san_rc)"
((native_rc == 0 && arm_rc == 0 && san_rc == 0))
