#!/usr/bin/env bash
# pocket-bench --compare-onnx on the MobileNetV3-Small fixture, against ONNX Runtime.
#   compare_onnx.sh POCKET_BENCH FIXTURE_DIR REPO
# Exit 77 (skipped, reason printed) when node, onnxruntime-node (scripts/ort_install.sh) or the
# fixture is missing.
set -u
bench="$1"; fixtures="$2"; repo="$3"
model="$fixtures/mobilenet_v3_small"
command -v node >/dev/null || { echo "SKIP: node is not on PATH"; exit 77; }
ort="${POCKET_ORT_DIR:-${POCKET_CACHE:+$POCKET_CACHE/ort}}"
ort="${ort:-$repo/.cache/ort}"
[[ -f "$ort/node_modules/onnxruntime-node/package.json" ]] || { echo "SKIP: onnxruntime-node is not installed in $ort (run scripts/ort_install.sh)"; exit 77; }
[[ -f "$model.pocket" && -f "$model.onnx" && -f "${model}_input.npy" ]] || { echo "SKIP: no fixture $model.{pocket,onnx} (model tests export them)"; exit 77; }
out="$("$bench" "$model.pocket" --compare-onnx "$model.onnx" --input "input=${model}_input.npy" --iterations 4 --rounds 2 --warmup 1 --json)" || { echo "FAIL: pocket-bench exited with $?"; exit 1; }
echo "$out"
grep -Eq '"ort_median_ms":[0-9.]+' <<<"$out" || { echo "FAIL: no ort_median_ms"; exit 1; }
grep -Eq '"ratio_pocket_over_ort":[0-9.]+' <<<"$out" || { echo "FAIL: no ratio"; exit 1; }
diff="$(grep -Eo '"logits":[0-9.e+-]+' <<<"$out" | cut -d: -f2)"
[[ -n "$diff" ]] || { echo "FAIL: no output difference for logits"; exit 1; }
awk -v d="$diff" 'BEGIN { exit !(d < 1e-2) }' || { echo "FAIL: Pocket and ONNX Runtime outputs differ by $diff"; exit 1; }
echo "OK: same inputs, outputs agree to $diff"
