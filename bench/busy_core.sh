#!/usr/bin/env bash
# Busy-core benchmark (issue #3): with 2 threads on a machine where another process holds one
# core, latency must stay within 1.3x of the 1-thread latency.
#
#   bench/busy_core.sh MODEL.pocket [--build DIR] [--rounds R] [--iterations N] [--warmup N]
#                      [--input NAME=FILE.npy ...]
#
# Runs `pocket-bench --json` in R alternating rounds (default 5) of five cases and prints each
# case's median (over rounds) of the per-round median latency:
#   1t quiet            --threads 1
#   1t + spinner        --threads 1 --spinner       (one busy-looping process for the run)
#   2t quiet            --threads 2
#   2t + spinner        --threads 2 --spinner       (the session's adaptive threading on, default)
#   2t + spinner fixed  --threads 2 --spinner --fixed-threads   (always the pool: the raw effect)
# and the ratios to "1t quiet". The target is "2t + spinner" <= 1.3 x "1t quiet".
# Timings on a shared machine are noisy: compare ratios from one run.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
build="$repo/build"
rounds=5
iterations=30
warmup=5
model=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --iterations) iterations="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --input) extra+=(--input "$2"); shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "busy_core.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) if [[ -n "$model" ]]; then echo "busy_core.sh: unexpected argument '$1'" >&2; exit 2; fi; model="$1"; shift ;;
  esac
done
[[ -n "$model" ]] || { echo "busy_core.sh: missing MODEL.pocket (try --help)" >&2; exit 2; }
[[ -f "$model" ]] || { echo "busy_core.sh: no such file '$model'" >&2; exit 1; }
bench="$build/tools/pocket-bench"
[[ -x "$bench" ]] || { echo "busy_core.sh: '$bench' is not built (cmake --build $build --target pocket-bench)" >&2; exit 1; }

names=("1t quiet" "1t + spinner" "2t quiet" "2t + spinner" "2t + spinner fixed")
args=("--threads 1" "--threads 1 --spinner" "--threads 2" "--threads 2 --spinner" "--threads 2 --spinner --fixed-threads")
declare -a samples
for ((r = 0; r < rounds; ++r)); do
  for i in "${!names[@]}"; do
    # shellcheck disable=SC2086
    out="$("$bench" "$model" ${args[$i]} --json --iterations "$iterations" --warmup "$warmup" "${extra[@]}")"
    med="$(grep -o '"median_ms":[0-9.]*' <<<"$out" | cut -d: -f2)"
    single="$(grep -o '"single_thread_runs":[0-9]*' <<<"$out" | cut -d: -f2)"
    samples[$i]="${samples[$i]:-} $med"
    singles[$i]="${singles[$i]:-} $single"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
base="$(median <<<"${samples[0]}")"
printf '%s, %d rounds x %d runs (median of per-round medians)\n' "$(basename "$model")" "$rounds" "$iterations"
printf '%-20s %12s %14s %22s\n' "case" "median ms" "vs 1t quiet" "1-thread fallback runs"
for i in "${!names[@]}"; do
  m="$(median <<<"${samples[$i]}")"
  s="$(median <<<"${singles[$i]}")"
  printf '%-20s %12.3f %13.2fx %22s\n' "${names[$i]}" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN {print a / b}')" "$s"
done
two_spin="$(median <<<"${samples[3]}")"
ratio="$(awk -v a="$two_spin" -v b="$base" 'BEGIN {printf "%.2f", a / b}')"
verdict="$(awk -v r="$ratio" 'BEGIN {print (r <= 1.3) ? "meets" : "misses"}')"
echo "2 threads + spinner / 1 thread quiet = ${ratio}x ($verdict the 1.3x target)"
one_spin="$(median <<<"${samples[1]}")"
echo "2 threads + spinner / 1 thread + spinner = $(awk -v a="$two_spin" -v b="$one_spin" 'BEGIN {printf "%.2f", a / b}')x" \
     "(when 1 thread + spinner is well above 1 thread quiet, other processes hold the second core too)"
