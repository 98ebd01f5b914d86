#!/usr/bin/env bash
# Prepares the aarch64 cross build (see ../shared/TOOLCHAINS.md §2): installs the Debian cross
# compiler and qemu-user, and unpacks the arm64 builds of Pocket's libraries (XNNPACK,
# pthreadpool, cpuinfo, FlatBuffers, GoogleTest) into a private root with dpkg-deb -x.
# No arm64 package is ever installed on the host: arm64 is added to dpkg's architectures only so
# that apt can download the .debs (installing them through multiarch would remove the amd64
# XNNPACK and torch, and a multiarch libc6:arm64 makes threads hang under qemu -L).
# Idempotent; a fast no-op when everything is in place.
# Usage: scripts/setup_arm64.sh            (root: ${ARM64_EXTRA_ROOT:-/opt/arm64-extra})
set -euo pipefail

root="${ARM64_EXTRA_ROOT:-/opt/arm64-extra}"
host_packages=(g++-aarch64-linux-gnu qemu-user)
arm64_packages=(
  libxnnpack-dev libxnnpack0 libpthreadpool-dev libpthreadpool0 libcpuinfo-dev libcpuinfo0
  libflatbuffers-dev libflatbuffers2 libgtest-dev libgmock-dev
)
# NOT flatbuffers-compiler-dev:arm64: its FlatcTargets.cmake points at an arm64 flatc that does
# not exist in the root, which breaks find_package(FlatBuffers). The host flatc is used.
stamp="$root/.pocket-arm64-packages"
wanted="${arm64_packages[*]}"

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"

missing=()
for p in "${host_packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)) && [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "setup_arm64: cross compiler, qemu and $root present"
  exit 0
fi

updated=0
if ((${#missing[@]})); then
  echo "setup_arm64: installing ${missing[*]}"
  $SUDO apt-get update -qq
  updated=1
  apt_log=$(mktemp)
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" \
      >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    rm -f "$apt_log"
    exit 1
  fi
  rm -f "$apt_log"
fi

if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "setup_arm64: adding arm64 to dpkg's architectures (for apt-get download only)"
    $SUDO dpkg --add-architecture arm64
    updated=0
  fi
  # The arm64 indexes exist only after an update that knew about the architecture.
  if ((updated == 0)) || ! apt-cache show libxnnpack0:arm64 >/dev/null 2>&1; then
    $SUDO apt-get update -qq
  fi
  debs=$(mktemp -d)
  trap 'rm -rf "$debs"' EXIT
  chmod 755 "$debs"  # apt's _apt user must be able to write here when not root
  echo "setup_arm64: downloading ${#arm64_packages[@]} arm64 packages"
  (cd "$debs" && apt-get download -q "${arm64_packages[@]/%/:arm64}" 2>&1 | grep -v "unsandboxed" || true)
  n=$(find "$debs" -name '*.deb' | wc -l)
  if ((n != ${#arm64_packages[@]})); then
    echo "setup_arm64: expected ${#arm64_packages[@]} .debs, got $n" >&2
    exit 1
  fi
  $SUDO rm -rf "$root"
  $SUDO mkdir -p "$root"
  for d in "$debs"/*.deb; do $SUDO dpkg-deb -x "$d" "$root"; done
  # Defensive: a stale flatc target file would break find_package(FlatBuffers) (see above).
  $SUDO find "$root" -name 'FlatcTargets*.cmake' -delete
  echo "$wanted" | $SUDO tee "$stamp" >/dev/null
  echo "setup_arm64: unpacked into $root"
fi
