#!/usr/bin/env bash
# The ARM leg: cross-compiles Pocket for aarch64 (cmake/aarch64-toolchain.cmake) and runs the
# kernel and op tests under qemu-aarch64 twice: `-cpu max` (NEON with dot-product and fp16: the
# best variants are dispatched) and `-cpu cortex-a72` (plain NEON: the fallbacks, no SIGILL).
# Prints the features and variants each run dispatched, and a summary; exits non-zero if any test
# failed. qemu is for correctness only: never read performance from these runs.
# Usage: scripts/test_arm64.sh   (env: POCKET_ARM64_BUILD_DIR=build-arm64, POCKET_JOBS=2,
#        POCKET_ARM64_CPUS="max cortex-a72", ARM64_EXTRA_ROOT=/opt/arm64-extra)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${POCKET_ARM64_BUILD_DIR:-build-arm64}"
jobs="${POCKET_JOBS:-2}"
cpus="${POCKET_ARM64_CPUS:-max cortex-a72}"

t0=$(date +%s)
scripts/setup_arm64.sh
t1=$(date +%s)

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-toolchain.cmake" "${launcher[@]}" >/dev/null
cmake --build "$build_dir" -j"$jobs"
t2=$(date +%s)

# The exact feature set each qemu CPU model must report (see tests/unit/kernels_dispatch_test.cpp).
expected_features() {
  case "$1" in
    max) echo "neon,neon_dot,neon_fp16" ;;
    cortex-a72 | cortex-a57 | cortex-a53) echo "neon" ;;
    *) echo "" ;;
  esac
}

summary=()
failed=0
for cpu in $cpus; do
  ts=$(date +%s)
  expect=$(expected_features "$cpu")
  echo "== test_arm64: ctest under qemu-aarch64 -cpu $cpu =="
  rc=0
  env QEMU_CPU="$cpu" ${expect:+POCKET_EXPECT_FEATURES="$expect"} \
    ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" --timeout 600 || rc=$?
  log="$build_dir/Testing/Temporary/LastTest.log"
  # The uncapped run of the dispatch test (its POCKET_ISA=scalar/neon entries print lines too).
  features=$(grep -m1 -o 'cpu_features: .*(POCKET_ISA=unset)' "$log" || echo "cpu_features: (not printed)")
  dispatch=$(grep -m1 -o 'dispatch: .*(POCKET_ISA=unset)' "$log" || echo "dispatch: (not printed)")
  ntests=$(grep -c '^[0-9]*/[0-9]* Testing:' "$log" || true)
  status="passed"
  if ((rc != 0)); then
    status="FAILED"
    failed=1
  fi
  summary+=("-cpu $cpu: $status ($ntests ctest entries, $(($(date +%s) - ts)) s)"
            "    $features" "    $dispatch")
done
t3=$(date +%s)

echo "== test_arm64 summary =="
printf '%s\n' "${summary[@]}"
echo "time: setup $((t1 - t0)) s, build $((t2 - t1)) s, qemu runs $((t3 - t2)) s, total $((t3 - t0)) s"
if ((failed)); then
  echo "test_arm64: FAILED"
  exit 1
fi
echo "test_arm64: all passed"
