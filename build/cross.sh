#!/usr/bin/env bash
# make cross: every target cinit is built for, checked from this machine.
# For each one: the binary builds, go vet ./... is clean (it type-checks
# the tests too), and every package's test binary compiles and links. The
# test binaries of the packages that need neither a subreaper nor PID
# namespaces (procfile, signals, output, supervisor) then run under
# qemu-user for the Linux targets it emulates: arm64, arm v7, riscv64,
# ppc64le and s390x, the big-endian one. linux/amd64 is make test's.
#
#   CROSS_TARGETS   OS/ARCH list (default: every target below)
#   CROSS_QEMU=0    build only, run nothing under qemu
#
# A missing qemu-ARCH-static is skipped with a message, or is a failure
# when CINIT_REQUIRE_TOOLS=1 (apt-get install qemu-user-static).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
TARGETS=${CROSS_TARGETS:-darwin/amd64 darwin/arm64 linux/arm64 linux/arm linux/386 linux/ppc64le linux/s390x linux/riscv64 freebsd/amd64}
PURE="procfile signals output supervisor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

qemu_of() {
  case $1 in
    linux/arm64) echo qemu-aarch64-static ;;
    linux/arm) echo qemu-arm-static ;;
    linux/riscv64 | linux/ppc64le | linux/s390x) echo "qemu-${1#linux/}-static" ;;
  esac
}

status=0
say() { printf '%-14s %s\n' "$1" "$2"; }

for target in $TARGETS; do
  export GOOS=${target%/*} GOARCH=${target#*/} GOARM=7 CGO_ENABLED=0
  start=$(date +%s)
  dir=$work/${GOOS}-${GOARCH}
  mkdir -p "$dir"
  if ! "$GO" build -trimpath -o "$dir/cinit" . >"$work/log" 2>&1; then
    say "$target" "FAIL build"; cat "$work/log"; status=1; continue
  fi
  if ! "$GO" vet ./... >"$work/log" 2>&1; then
    say "$target" "FAIL vet"; cat "$work/log"; status=1; continue
  fi
  if ! "$GO" test -c -o "$dir/" ./... >"$work/log" 2>&1; then
    say "$target" "FAIL test binaries"; cat "$work/log"; status=1; continue
  fi
  say "$target" "ok   build, vet, $(ls "$dir"/*.test | wc -l) test binaries ($(( $(date +%s) - start )) s)"

  qemu=$(qemu_of "$target")
  [ -n "$qemu" ] && [ "${CROSS_QEMU:-1}" != 0 ] || continue
  if ! command -v "$qemu" >/dev/null; then
    if [ "${CINIT_REQUIRE_TOOLS:-}" = 1 ]; then
      say "$target" "FAIL $qemu not found (apt-get install qemu-user-static)"; status=1
    else
      say "$target" "skip $qemu not found (apt-get install qemu-user-static)"
    fi
    continue
  fi
  for pkg in $PURE; do
    start=$(date +%s)
    if (cd "$pkg" && "$qemu" "$dir/$pkg.test" -test.count=1 -test.timeout=300s >"$work/log" 2>&1); then
      say "$target" "ok   $pkg tests under $qemu ($(( $(date +%s) - start )) s)"
    else
      say "$target" "FAIL $pkg tests under $qemu"; tail -40 "$work/log"; status=1
    fi
  done
done
exit $status
