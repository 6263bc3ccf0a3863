#!/usr/bin/env bash
# make qemu: runs the tests of the packages that need neither a subreaper
# nor PID namespaces (procfile, signals, output, supervisor) on other
# Linux architectures under qemu-user (Debian's qemu-user-static). This is
# what catches byte-order bugs: s390x is big-endian.
#
#   build/qemu.sh ARCH...       arm64, arm (built with GOARM=7), riscv64,
#                               ppc64le, s390x
#
# A missing qemu-ARCH-static is skipped with a message, or is a failure
# when CINIT_REQUIRE_TOOLS=1. Test binaries are built in parallel, then run
# one architecture at a time, each from its package's directory.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
PKGS=${QEMU_PKGS:-procfile signals output supervisor}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

qemu_of() {
  case $1 in
    arm64) echo qemu-aarch64-static ;;
    arm) echo qemu-arm-static ;;
    ppc64le) echo qemu-ppc64le-static ;;
    *) echo "qemu-$1-static" ;;
  esac
}

missing=0
arches=()
for arch in "$@"; do
  if command -v "$(qemu_of "$arch")" >/dev/null; then
    arches+=("$arch")
  elif [ "${CINIT_REQUIRE_TOOLS:-}" = 1 ]; then
    echo "qemu: $(qemu_of "$arch") not found (apt-get install qemu-user-static)" >&2
    missing=1
  else
    echo "qemu: skipping $arch: $(qemu_of "$arch") not found (apt-get install qemu-user-static)" >&2
  fi
done
[ "$missing" = 0 ] || exit 1

# Build every test binary first, in parallel (go test -c is mostly
# single-threaded per package).
pids=()
for arch in "${arches[@]}"; do
  for pkg in $PKGS; do
    CGO_ENABLED=0 GOOS=linux GOARCH=$arch GOARM=7 \
      "$GO" test -c -o "$work/$pkg.$arch" "./$pkg" &
    pids+=($!)
  done
done
for pid in "${pids[@]}"; do wait "$pid"; done

status=0
for arch in "${arches[@]}"; do
  for pkg in $PKGS; do
    start=$(date +%s)
    if (cd "$pkg" && "$(qemu_of "$arch")" "$work/$pkg.$arch" -test.count=1 -test.timeout=300s >"$work/log" 2>&1); then
      echo "ok   linux/$arch $pkg under $(qemu_of "$arch") ($(( $(date +%s) - start )) s)"
    else
      echo "FAIL linux/$arch $pkg under $(qemu_of "$arch")"
      tail -40 "$work/log"
      status=1
    fi
  done
done
exit $status
