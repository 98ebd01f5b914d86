#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/fuzz_<name>.cpp) and runs each for a fixed time.
#
#   scripts/fuzz.sh [--build DIR] [--seconds N] [--runs SPEC] [--jobs J] [--fixtures DIR] [--no-build] [TARGET...]
#
#   --build DIR     fuzz build folder (default: build-fuzz); configured with clang-14, ASan+UBSan
#                   and POCKET_FUZZ=ON when it has no CMakeCache.txt yet
#   --seconds N     time per target (default 20; a long run: --seconds 3600)
#   --runs SPEC     stop each target after a fixed number of executions instead, N for all or
#                   TARGET=N,... (targets not named run for --seconds); with POCKET_FUZZ_SEED and a
#                   fresh corpus a run does the same amount of work on any machine (CI:
#                   scripts/test_sanitize.sh). --seconds still caps the time.
#   --jobs J        parallel fuzzing processes per target (libFuzzer -jobs/-workers; default 1)
#   --fixtures DIR  the Release build with the test fixtures (default: build) for extra seeds
#   --no-build      use the binaries already in DIR
#   TARGET          model, onnx, npy, wav, image, wordpiece, bpe (default: every fuzz/fuzz_*.cpp)
#
# Work corpus per target: DIR/fuzz-corpus/<target>/ (committed seeds from fuzz/corpus/<target>/
# plus fixture files, kept between runs so long runs build on short ones). Findings (crash-,
# leak-, timeout-, oom- files) go to DIR/fuzz-findings/<target>/. Prints per target: seconds,
# executions, exec/s, corpus size and findings; exits non-zero when any target found something.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-fuzz
SECONDS_PER=20
RUNS_SPEC=
JOBS=1
FIXTURES=$ROOT/build
DO_BUILD=1
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$(realpath -m "$2"); shift 2 ;;
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --runs) RUNS_SPEC=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --fixtures) FIXTURES=$(realpath -m "$2"); shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) TARGETS+=("${1#fuzz_}"); shift ;;
  esac
done
case "$SECONDS_PER" in ''|*[!0-9]*) echo "fuzz.sh: --seconds needs a whole number" >&2; exit 2 ;; esac
case "$JOBS" in ''|*[!0-9]*|0) echo "fuzz.sh: --jobs needs a positive whole number" >&2; exit 2 ;; esac
# runs_for TARGET: the execution count --runs gives TARGET, or nothing.
runs_for() {
  local item all=
  IFS=, read -ra items <<< "$RUNS_SPEC"
  for item in "${items[@]}"; do
    case "$item" in
      "$1"=*) echo "${item#*=}"; return ;;
      *=*) ;;
      *) all=$item ;;
    esac
  done
  echo "$all"
}
if [ -n "$RUNS_SPEC" ]; then
  IFS=, read -ra items <<< "$RUNS_SPEC"
  for item in "${items[@]}"; do
    n=${item#*=}
    case "$n" in ''|*[!0-9]*|0) echo "fuzz.sh: --runs needs N or TARGET=N,... with positive whole numbers, got '$item'" >&2; exit 2 ;; esac
    if [[ "$item" == *=* ]] && [ ! -f "$ROOT/fuzz/fuzz_${item%%=*}.cpp" ]; then
      echo "fuzz.sh: --runs names no target '${item%%=*}' (fuzz/fuzz_${item%%=*}.cpp)" >&2; exit 2
    fi
  done
fi
if [ ${#TARGETS[@]} -eq 0 ]; then
  for f in "$ROOT"/fuzz/fuzz_*.cpp; do n=$(basename "$f" .cpp); TARGETS+=("${n#fuzz_}"); done
fi
for t in "${TARGETS[@]}"; do
  [ -f "$ROOT/fuzz/fuzz_$t.cpp" ] || { echo "fuzz.sh: no target '$t' (fuzz/fuzz_$t.cpp)" >&2; exit 2; }
done

if [ $DO_BUILD = 1 ]; then
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 is needed (apt-get install clang-14)" >&2; exit 2; }
    export CCACHE_NOHASHDIR=true
    launcher=()
    command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
    CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPOCKET_SANITIZE=address,undefined -DPOCKET_FUZZ=ON -DPOCKET_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
  fi
  cmake --build "$BUILD" -j"$(nproc)" --target $(printf 'fuzz_%s ' "${TARGETS[@]}")
fi

# Fixture files that make good seeds, per target (missing ones are skipped).
fixture_seeds() {
  local t=$1
  shopt -s nullglob
  case "$t" in
    model) for f in "$FIXTURES"/fixtures/*.pocket "$FIXTURES"/fixtures5/*/*.pocket; do
             [ "$(stat -c %s "$f")" -le 20000000 ] && echo "$f"; done ;;
    onnx) for f in "$FIXTURES"/fixtures/*.onnx "$FIXTURES"/fixtures5/*/*.onnx; do
            [ "$(stat -c %s "$f")" -le 1000000 ] && echo "$f"; done ;;
    npy) for f in "$FIXTURES"/fixtures/*.npy "$FIXTURES"/fixtures4/*/*.npy "$FIXTURES"/fixtures5/*/*.npy; do
           [ "$(stat -c %s "$f")" -le 700000 ] && echo "$f"; done ;;
    wav) for f in "$FIXTURES"/fixtures*/*.wav "$FIXTURES"/fixtures*/*/*.wav; do
           [ "$(stat -c %s "$f")" -le 1000000 ] && echo "$f"; done ;;
    image) for f in "$FIXTURES"/fixtures*/*.{png,jpg,jpeg,bmp,ppm} "$FIXTURES"/fixtures*/*/*.{png,jpg,jpeg,bmp,ppm}; do
             [ "$(stat -c %s "$f")" -le 300000 ] && echo "$f"; done ;;
    *) ;;
  esac
}

FINDINGS_TOTAL=0
SUMMARY=()
for t in "${TARGETS[@]}"; do
  bin=$BUILD/fuzz/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz.sh: $bin was not built" >&2; exit 2; }
  corpus=$BUILD/fuzz-corpus/$t
  findings=$BUILD/fuzz-findings/$t
  mkdir -p "$corpus" "$findings"
  [ -d "$ROOT/fuzz/corpus/$t" ] && find "$ROOT/fuzz/corpus/$t" -maxdepth 1 -type f ! -name '*.py' ! -name '*.dict' \
    -exec cp -n {} "$corpus/" \;
  n=0
  while IFS= read -r f; do
    n=$((n + 1))
    # The image target reads a preprocessing byte first.
    if [ "$t" = image ]; then { printf '\x00'; cat "$f"; } > "$corpus/fixture-$(basename "$f")"
    else cp -n "$f" "$corpus/fixture-$(basename "$f")"; fi
  done < <(fixture_seeds "$t")
  dict=()
  [ -f "$ROOT/fuzz/corpus/$t.dict" ] && dict=(-dict="$ROOT/fuzz/corpus/$t.dict")
  # Findings: crash-, leak-, timeout-, oom- files. slow-unit- files (an input slower than 10 s,
  # below the 25 s timeout) are reported but fail nothing: their time depends on the machine.
  count_findings() { find "$findings" -type f ! -name '*.log' ! -name 'slow-unit-*' | wc -l; }
  count_slow() { find "$findings" -type f -name 'slow-unit-*' | wc -l; }
  before=$(count_findings)
  slow_before=$(count_slow)
  log=$BUILD/fuzz-findings/$t.log
  runs=$(runs_for "$t")
  echo "== fuzz_$t: ${runs:+$runs executions, at most }${SECONDS_PER}s, $JOBS job(s), $(find "$corpus" -type f | wc -l) seed files ($n from fixtures)"
  args=(-max_total_time="$SECONDS_PER" -timeout=25 -rss_limit_mb=3072 -print_final_stats=1
        -artifact_prefix="$findings/" "${dict[@]}")
  [ -n "$runs" ] && args+=(-runs="$runs")
  # POCKET_FUZZ_SEED: a fixed libFuzzer seed (CI's short runs use 1, so that a run that passed
  # once passes again on the same corpus and a finding reproduces); unset: a random seed.
  [ -n "${POCKET_FUZZ_SEED:-}" ] && args+=(-seed="$POCKET_FUZZ_SEED")
  start=$(date +%s)
  set +e
  if [ "$JOBS" -gt 1 ]; then
    (cd "$findings" && "$bin" "${args[@]}" -jobs="$JOBS" -workers="$JOBS" "$corpus" >"$log" 2>&1)
  else
    "$bin" "${args[@]}" "$corpus" >"$log" 2>&1
  fi
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - start ))
  # Executions: the final stats line of every worker (fuzz-<n>.log with -jobs).
  logs=("$log")
  [ "$JOBS" -gt 1 ] && logs+=("$findings"/fuzz-*.log)
  execs=$(cat "${logs[@]}" 2>/dev/null | sed -n 's/^stat::number_of_executed_units: *//p' | awk '{s+=$1} END {print s+0}')
  if [ "$execs" = 0 ]; then  # a crash ends the run before the final stats
    execs=$(cat "${logs[@]}" 2>/dev/null | sed -n 's/^#\([0-9]*\).*/\1/p' | sort -n | tail -1)
    execs=${execs:-0}
  fi
  rate=$(( elapsed > 0 ? execs / elapsed : execs ))
  files=$(find "$corpus" -type f | wc -l)
  new=$(( $(count_findings) - before ))
  [ "$new" -lt 0 ] && new=0
  slow=$(( $(count_slow) - slow_before ))
  [ "$slow" -gt 0 ] && echo "   $slow slow unit(s) (over 10 s, not a failure) in $findings"
  status=ok
  if [ "$new" -gt 0 ] || { [ $rc -ne 0 ] && grep -qE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error:' "${logs[@]}" 2>/dev/null; }; then
    status=FOUND
    FINDINGS_TOTAL=$((FINDINGS_TOTAL + (new > 0 ? new : 1)))
    echo "   finding(s) in $findings (log: $log):"
    grep -hE 'ERROR: |SUMMARY: |runtime error:' "${logs[@]}" 2>/dev/null | sort | uniq | head -5 | sed 's/^/     /'
  elif [ $rc -ne 0 ]; then
    status="exit $rc (see $log)"
    FINDINGS_TOTAL=$((FINDINGS_TOTAL + 1))
  fi
  line=$(printf '%-16s %6ss %12s execs %8s exec/s %7s corpus files  %s' "fuzz_$t" "$elapsed" "$execs" "$rate" "$files" \
         "$( [ "$status" = ok ] && echo "no findings" || echo "$status: $new new file(s)")")
  echo "   $line"
  SUMMARY+=("$line")
done
echo "== summary"
printf '%s\n' "${SUMMARY[@]}"
if [ $FINDINGS_TOTAL -gt 0 ]; then
  echo "fuzz.sh: findings: see $BUILD/fuzz-findings/" >&2
  exit 1
fi
