#!/usr/bin/env bash
# pocket-inspect on a fixture model:
#   inspect_fixture.sh POCKET_INSPECT MODEL.pocket POCKET_CONVERT MODEL.onnx [ARGS... --] REGEX...
# The model tests write MODEL.pocket while ctest runs; when it is not there yet (test order), the
# fixture's ONNX (exported at build time) is converted here with default options into this test's
# own file. Neither there: exit 77 (skipped). pocket-inspect must exit 0 and print every REGEX
# (grep -E).
set -u
tool="$1"; model="$2"; convert="$3"; onnx="$4"; shift 4
args=()
if [[ " $* " == *" -- "* ]]; then
  while [[ "$1" != "--" ]]; do args+=("$1"); shift; done
  shift
fi
if [[ ! -f "$model" ]]; then
  [[ -f "$onnx" ]] || { echo "SKIP: no fixture $model nor $onnx (the model fixtures are exported at build time)"; exit 77; }
  [[ -x "$convert" ]] || { echo "SKIP: no fixture $model, and no pocket-convert in this build to convert $onnx"; exit 77; }
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  "$convert" "$onnx" -o "$tmp/model.pocket" > "$tmp/convert.log" 2>&1 || { cat "$tmp/convert.log"; echo "FAIL: cannot convert $onnx"; exit 1; }
  echo "($model not written yet: converted $onnx)"
  model="$tmp/model.pocket"
fi
out="$("$tool" "$model" "${args[@]}" 2>&1)"; rc=$?
echo "$out"
[[ $rc -eq 0 ]] || { echo "FAIL: exit code $rc"; exit 1; }
for re in "$@"; do grep -Eq -- "$re" <<<"$out" || { echo "FAIL: output lacks /$re/"; exit 1; }; done
echo "OK"
