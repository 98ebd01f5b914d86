#!/usr/bin/env bash
# Installs ONNX Runtime for Node (onnxruntime-node, CPU build) into a cache folder, for the
# comparison benchmark scripts/ort_bench.mjs.
#
#   scripts/ort_install.sh [--force]      prints the install folder on stdout
#
# Folder: $POCKET_ORT_DIR, else $POCKET_CACHE/ort, else <repo>/.cache/ort. Idempotent: when the
# wanted version is already there and loads, it returns at once. The package is installed with
# --ignore-scripts (its postinstall only fetches optional GPU providers); the linux-x64 CPU
# binding ships inside the npm tarball, and this script checks that it is there and loads.
set -euo pipefail

version="${POCKET_ORT_VERSION:-1.30.0}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -n "${POCKET_ORT_DIR:-}" ]]; then
  dir="$POCKET_ORT_DIR"
elif [[ -n "${POCKET_CACHE:-}" ]]; then
  dir="$POCKET_CACHE/ort"
else
  dir="$repo/.cache/ort"
fi
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ort_install.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

command -v node >/dev/null || { echo "ort_install.sh: node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "ort_install.sh: npm is not installed" >&2; exit 1; }

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "ort_install.sh: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
pkg="$dir/node_modules/onnxruntime-node"

# Loads the binding and creates nothing: proves the native library resolves.
check() {
  [[ -f "$pkg/package.json" ]] || return 1
  local have
  have="$(node -p "require('$pkg/package.json').version" 2>/dev/null)" || return 1
  [[ "$have" == "$version" ]] || return 1
  ls "$pkg"/bin/napi-v*/linux/"$arch"/onnxruntime_binding.node >/dev/null 2>&1 || return 1
  (cd "$dir" && node -e "const o = require('onnxruntime-node'); if (typeof o.InferenceSession?.create !== 'function') process.exit(1);") \
    >/dev/null 2>&1
}

if [[ $force -eq 0 ]] && check; then
  echo "$dir"
  exit 0
fi

mkdir -p "$dir"
[[ -f "$dir/package.json" ]] || echo '{ "name": "pocket-ort-cache", "private": true }' > "$dir/package.json"
echo "ort_install.sh: installing onnxruntime-node@$version into $dir" >&2
(cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
  "onnxruntime-node@$version" >&2)

binding="$(ls "$pkg"/bin/napi-v*/linux/"$arch"/onnxruntime_binding.node 2>/dev/null | head -1 || true)"
if [[ -z "$binding" ]]; then
  echo "ort_install.sh: onnxruntime-node@$version has no linux/$arch native binding in $pkg/bin" >&2
  exit 1
fi
if ! check; then
  echo "ort_install.sh: onnxruntime-node@$version is installed but does not load:" >&2
  (cd "$dir" && node -e "require('onnxruntime-node')") >&2 || true
  exit 1
fi
echo "$dir"
