#!/usr/bin/env bash
# The installable library, end to end: builds ${POCKET_BUILD_DIR:-build} (unless --no-build),
# installs it into a temporary prefix, then builds examples/embed from a copy OUTSIDE the source
# tree against that prefix only, twice (CMake find_package(Pocket), and make with pkg-config), and
# runs the four programs on a real photo with a fixture classifier, checking each prints the same
# top-1 class as pocket-classify.
#
#   scripts/test_install.sh [--no-build] [--keep]
#     --no-build  use the build as it is (CTest runs it so)
#     --keep      keep the temporary folder (the install tree and the example builds)
# Environment: POCKET_BUILD_DIR (default build), POCKET_FIXTURE_DIR (default BUILD/fixtures: the
# torchvision fixtures a full build exports), POCKET_JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build_dir="${POCKET_BUILD_DIR:-build}"
[[ "$build_dir" = /* ]] || build_dir="$repo/$build_dir"
do_build=1
keep=0
for a in "$@"; do
  case "$a" in
    --no-build) do_build=0 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test_install.sh: unknown argument '$a' (try --help)" >&2; exit 2 ;;
  esac
done
start=$(date +%s)
step() { printf 'test_install: %s (%d s)\n' "$*" $(( $(date +%s) - start )); }
die() { echo "test_install: FAILED: $*" >&2; exit 1; }

if ((do_build)); then
  if [[ -f "$build_dir/CMakeCache.txt" ]]; then
    cmake --build "$build_dir" -j"${POCKET_JOBS:-2}" >/dev/null
  else
    POCKET_BUILD_DIR="$build_dir" scripts/build.sh >/dev/null
  fi
fi
[[ -f "$build_dir/CMakeCache.txt" ]] || die "no build in $build_dir"
convert="$build_dir/converter/pocket-convert"
classify_tool="$build_dir/tools/pocket-classify"
fixture="${POCKET_FIXTURE_DIR:-$build_dir/fixtures}/mobilenet_v3_small.onnx"
for f in "$convert" "$classify_tool" "$fixture"; do
  [[ -e "$f" ]] || die "$f is missing (a full build makes it)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pocket-install-test.XXXXXX")
if ((keep)); then echo "test_install: keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi

# 1. Install: everything into $tmp/full, the library component alone into $tmp/prefix (the
#    examples are built against the latter, so it must be self-sufficient).
step "installing $build_dir"
cmake --install "$build_dir" --prefix "$tmp/full" >"$tmp/install_full.log"
cmake --install "$build_dir" --prefix "$tmp/prefix" --component lib >"$tmp/install_lib.log"
prefix="$tmp/prefix"
for f in lib/libpocket.a include/pocket/pocket.h include/pocket/pocket.hpp include/pocket/pocket_text.h \
         include/pocket/pocket_speech.h lib/cmake/Pocket/PocketConfig.cmake \
         lib/cmake/Pocket/PocketConfigVersion.cmake lib/cmake/Pocket/PocketTargets.cmake lib/pkgconfig/pocket.pc; do
  [[ -f "$prefix/$f" ]] || die "the lib component did not install $f"
done
for t in pocket-convert pocket-run pocket-bench pocket-classify; do
  [[ -x "$tmp/full/bin/$t" ]] || die "the full install has no bin/$t"
done
[[ ! -e "$prefix/bin" ]] || die "the lib component installed bin/ too"
"$tmp/full/bin/pocket-classify" --help >/dev/null || die "the installed pocket-classify does not run"
# Nothing installed may point back into the source or build tree.
if grep -rlF -e "$repo/" -e "$build_dir" "$prefix" --include='*.cmake' --include='*.pc' --include='*.h' --include='*.hpp'; then
  die "installed files above name the source or build tree"
fi
# Each public header compiles on its own with the install tree as the only include path.
for h in "$prefix"/include/pocket/*.h; do
  printf '#include <pocket/%s>\nint main(void) { return 0; }\n' "$(basename "$h")" >"$tmp/h.c"
  cc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$prefix/include" "$tmp/h.c" 2>"$tmp/h.log" ||
    die "installed header $(basename "$h") does not compile as C99 alone: $(head -3 "$tmp/h.log")"
done
for h in "$prefix"/include/pocket/*.h "$prefix"/include/pocket/*.hpp; do
  printf '#include <pocket/%s>\nint main() { return 0; }\n' "$(basename "$h")" >"$tmp/h.cpp"
  c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$prefix/include" "$tmp/h.cpp" 2>"$tmp/h.log" ||
    die "installed header $(basename "$h") does not compile as C++17 alone: $(head -3 "$tmp/h.log")"
done

# 2. The examples, from a copy outside the repository.
cp -r "$repo/examples/embed" "$tmp/embed-cmake"
cp -r "$repo/examples/embed" "$tmp/embed-make"
step "building examples/embed with CMake against the install tree"
# Debug (-O0: stb_image compiles 6x faster than at -O2, and a Debug consumer of the Release
# package is worth checking too); the make build likewise gets -O0.
cmake -S "$tmp/embed-cmake" -B "$tmp/embed-cmake/build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$tmp/embed_cmake.log" 2>&1 ||
  { cat "$tmp/embed_cmake.log"; die "configuring examples/embed failed"; }
grep -q "^Pocket_DIR:PATH=$prefix/lib/cmake/Pocket\$" "$tmp/embed-cmake/build/CMakeCache.txt" ||
  die "find_package(Pocket) did not find the install tree: $(grep '^Pocket_DIR' "$tmp/embed-cmake/build/CMakeCache.txt")"
cmake --build "$tmp/embed-cmake/build" >>"$tmp/embed_cmake.log" 2>&1 ||
  { cat "$tmp/embed_cmake.log"; die "building examples/embed with CMake failed"; }
if grep -F -e "$repo" -e "$build_dir" "$tmp/embed-cmake/build/compile_commands.json" "$tmp/embed-cmake/build/build.ninja"; then
  die "the CMake example build uses the source or build tree (lines above)"
fi
grep -q "$prefix/lib/libpocket.a" "$tmp/embed-cmake/build/build.ninja" || die "the CMake example build does not link the installed libpocket.a"

step "building examples/embed with make + pkg-config against the install tree"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[[ "$(pkg-config --modversion pocket)" == 1.* ]] || die "pkg-config --modversion pocket: $(pkg-config --modversion pocket 2>&1)"
make -C "$tmp/embed-make" CFLAGS="-O0 -Wall -Wextra -Wno-unused-function" \
  CXXFLAGS="-O0 -Wall -Wextra -Wno-unused-function" >"$tmp/embed_make.log" 2>&1 || { cat "$tmp/embed_make.log"; die "make with pkg-config failed"; }
if grep -F -e "$repo" -e "$build_dir" "$tmp/embed_make.log"; then
  die "the pkg-config example build uses the source or build tree (lines above)"
fi

if grep -h "warning:" "$tmp/embed_cmake.log" "$tmp/embed_make.log"; then die "the examples compile with warnings (above)"; fi

# 3. Run: MobileNetV3-Small (the fixture's seeded weights) converted with ImageNet labels and
#    mean/std; and converted with a 160x160 input size (the programs resize the model input).
step "converting the fixture classifier"
/usr/bin/python3 -c "
from torchvision.models._meta import _IMAGENET_CATEGORIES as c
open('$tmp/imagenet_classes.txt', 'w').write('\n'.join(c) + '\n')" || die "cannot write the ImageNet labels"
"$convert" -q "$fixture" -o "$tmp/mnv3.pocket" --labels "$tmp/imagenet_classes.txt" \
  --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --input-size 224 || die "pocket-convert failed"
"$convert" -q "$fixture" -o "$tmp/mnv3_160.pocket" --labels "$tmp/imagenet_classes.txt" \
  --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --input-size 160 || die "pocket-convert failed"
photos=$(/usr/bin/python3 -c "
import os, skimage, sklearn
s = os.path.join(os.path.dirname(skimage.__file__), 'data')
k = os.path.join(os.path.dirname(sklearn.__file__), 'datasets', 'images')
print(os.path.join(s, 'chelsea.png'), os.path.join(k, 'china.jpg'))") || die "cannot find the sample photos"

top1() { sed -n 's/^ *1\. *[0-9.]* *\(.*\)$/\1/p' "$1" | head -1; }
checks=0
for model in "$tmp/mnv3.pocket" "$tmp/mnv3_160.pocket"; do
  for photo in $photos; do
    "$classify_tool" "$model" "$photo" >"$tmp/want.txt" || die "pocket-classify failed on $photo"
    want=$(top1 "$tmp/want.txt")
    [[ -n "$want" ]] || die "pocket-classify printed no top-1 line: $(cat "$tmp/want.txt")"
    for prog in embed-cmake/build/classify embed-cmake/build/classify_cpp embed-make/classify embed-make/classify_cpp; do
      "$tmp/$prog" "$model" "$photo" >"$tmp/got.txt" 2>"$tmp/got.err" ||
        die "$prog $(basename "$model") $(basename "$photo") failed: $(cat "$tmp/got.err")"
      got=$(top1 "$tmp/got.txt")
      [[ "$got" == "$want" ]] ||
        die "$prog on $(basename "$model") $(basename "$photo"): top-1 '$got', pocket-classify says '$want'"
      checks=$((checks + 1))
    done
    echo "  $(basename "$model") $(basename "$photo"): top-1 $want (pocket-classify and all 4 examples)"
  done
done
echo "--- classify (C, CMake build) on chelsea.png:"
"$tmp/embed-cmake/build/classify" "$tmp/mnv3.pocket" "${photos%% *}"
# Errors are one line and a non-zero exit.
if "$tmp/embed-make/classify" "$tmp/nothere.pocket" "${photos%% *}" 2>"$tmp/err.txt"; then die "a missing model did not fail"; fi
[[ $(wc -l <"$tmp/err.txt") -eq 1 ]] || die "a missing model gave more than one line: $(cat "$tmp/err.txt")"
if "$tmp/embed-make/classify_cpp" "$tmp/mnv3.pocket" "$tmp/imagenet_classes.txt" 2>"$tmp/err.txt"; then die "a non-image did not fail"; fi
[[ $(wc -l <"$tmp/err.txt") -eq 1 ]] || die "a non-image gave more than one line: $(cat "$tmp/err.txt")"
step "done"
echo "$checks passed, 0 failed"
