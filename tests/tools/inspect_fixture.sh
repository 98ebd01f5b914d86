#!/usr/bin/env bash
# pocket-inspect on a fixture model, if the fixture exists (exit 77: skipped):
#   inspect_fixture.sh POCKET_INSPECT MODEL.pocket [ARGS... --] REGEX...
# Exit code 0 required; every REGEX (grep -E) must be found in stdout.
set -u
tool="$1"; model="$2"; shift 2
args=()
if [[ " $* " == *" -- "* ]]; then
  while [[ "$1" != "--" ]]; do args+=("$1"); shift; done
  shift
fi
[[ -f "$model" ]] || { echo "SKIP: no fixture $model (the model tests export it)"; exit 77; }
out="$("$tool" "$model" "${args[@]}" 2>&1)"; rc=$?
echo "$out"
[[ $rc -eq 0 ]] || { echo "FAIL: exit code $rc"; exit 1; }
for re in "$@"; do grep -Eq -- "$re" <<<"$out" || { echo "FAIL: output lacks /$re/"; exit 1; }; done
echo "OK"
