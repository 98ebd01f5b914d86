#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine: set up, build, export MobileNetV3-Small
# to ONNX, convert it to .pocket with the ImageNet labels, check it against PyTorch, classify real
# photos that Debian ships, and benchmark it next to ONNX Runtime 1.30 on the same ONNX file.
#
#   scripts/demo.sh [--weights STATE_DICT.pth] [--out DIR]
#
# Without --weights the network has seeded random weights (no model hub is reachable here), so
# the labels it prints are arbitrary; with a real torchvision mobilenet_v3_small state_dict the
# same commands give real predictions.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
weights=""
out="${POCKET_DEMO_DIR:-$repo/build/demo}"
while (($#)); do
  case "$1" in
    --weights) [[ $# -ge 2 ]] || { echo "demo.sh: --weights needs a file" >&2; exit 2; }; weights=$(realpath "$2"); shift 2 ;;
    --out) [[ $# -ge 2 ]] || { echo "demo.sh: --out needs a folder" >&2; exit 2; }; out=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[[ -z "$weights" || -f "$weights" ]] || { echo "demo.sh: no such weights file '$weights'" >&2; exit 2; }

step() { printf '\n== %s\n' "$*"; }

step "1/6 set up and build"
scripts/setup.sh --with-node
scripts/build.sh
bin="$repo/build"
mkdir -p "$out"

step "2/6 export torchvision MobileNetV3-Small to ONNX (with PyTorch's reference output)"
export_args=("$out" --model mobilenet_v3_small)
[[ -n "$weights" ]] && export_args+=(--weights "$weights")
/usr/bin/python3 tests/fixtures/export_models.py "${export_args[@]}"
/usr/bin/python3 -c "
from torchvision.models._meta import _IMAGENET_CATEGORIES as c
open('$out/imagenet_classes.txt', 'w').write('\n'.join(c) + '\n')"

step "3/6 convert"
"$bin/converter/pocket-convert" "$out/mobilenet_v3_small.onnx" -o "$out/mnv3.pocket" \
  --labels "$out/imagenet_classes.txt" --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --input-size 224

step "4/6 run on a real photo and compare with PyTorch"
"$bin/tools/pocket-run" "$out/mnv3.pocket" --input "input=$out/mobilenet_v3_small_input.npy" --output-dir "$out/run"
/usr/bin/python3 -c "
import numpy as np
got = np.load('$out/run/logits.npy'); ref = np.load('$out/mobilenet_v3_small_output.npy')
err = float(np.abs(got - ref).max()); scale = float(np.abs(ref).max())
print(f'max|pocket - pytorch| = {err:.3g}  (max|pytorch| = {scale:.3g}, relative {err / scale:.2g})')
if not err <= 1e-4 * scale: raise SystemExit('demo: Pocket does not match PyTorch')"

step "5/6 classify photos shipped by Debian (scikit-image, scikit-learn)"
photos=$(/usr/bin/python3 -c "
import os, skimage, sklearn
s = os.path.join(os.path.dirname(skimage.__file__), 'data')
k = os.path.join(os.path.dirname(sklearn.__file__), 'datasets', 'images')
print(os.path.join(s, 'chelsea.png'), os.path.join(s, 'coffee.png'), os.path.join(k, 'china.jpg'))")
"$bin/tools/pocket-classify" "$out/mnv3.pocket" $photos
if [[ -z "$weights" ]]; then
  echo "NOTE: these weights are seeded random numbers, not trained ones: the labels above are arbitrary."
  echo "      Run scripts/demo.sh --weights mobilenet_v3_small.pth (a torchvision state_dict) for real predictions."
fi

step "6/6 benchmark: Pocket vs ONNX Runtime 1.30, same ONNX file, same input, alternating"
"$bin/tools/pocket-bench" "$out/mnv3.pocket" --threads 1 --input "input=$out/mobilenet_v3_small_input.npy"
scripts/ort_install.sh >/dev/null
/usr/bin/python3 bench/compare_ort.py --pocket "$out/mnv3.pocket" --onnx "$out/mobilenet_v3_small.onnx" \
  --input "input=$out/mobilenet_v3_small_input.npy" --threads 1,2 --rounds 3 --iterations 30 --build "$bin" \
  --json "$out/compare_ort.json"
[[ -z "$weights" ]] && echo "(seeded weights: speed figures are valid, labels are not)"
echo "demo: done; files in $out"
