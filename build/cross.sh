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
#   CROSS_JOBS      targets compiled at once (default 2: linking and vet
#                   leave a core idle that another target can use)
#   CROSS_QEMU=0    build only, run nothing under qemu
#
# A missing qemu-ARCH-static is skipped with a message, or is a failure
# when CINIT_REQUIRE_TOOLS=1 (apt-get install qemu-user-static).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
TARGETS=${CROSS_TARGETS:-darwin/amd64 darwin/arm64 linux/arm64 linux/arm linux/386 linux/ppc64le linux/s390x linux/riscv64 freebsd/amd64}
JOBS=${CROSS_JOBS:-2}
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
say() { printf '%-14s %s\n' "$1" "$2"; }

# compile builds, vets and test-compiles one target into $work/OS-ARCH,
# leaving its report in report and its errors in log there.
compile() {
  local target=$1 dir=$work/${1%/*}-${1#*/} start
  mkdir -p "$dir"
  export GOOS=${target%/*} GOARCH=${target#*/} GOARM=7 CGO_ENABLED=0
  start=$(date +%s)
  if ! "$GO" build -trimpath -o "$dir/cinit" . >"$dir/log" 2>&1; then
    say "$target" "FAIL build" >"$dir/report"; return 1
  fi
  if ! "$GO" vet ./... >"$dir/log" 2>&1; then
    say "$target" "FAIL vet" >"$dir/report"; return 1
  fi
  if ! "$GO" test -c -o "$dir/" ./... >"$dir/log" 2>&1; then
    say "$target" "FAIL test binaries" >"$dir/report"; return 1
  fi
  say "$target" "ok   build, vet, $(ls "$dir"/*.test | wc -l) test binaries ($(( $(date +%s) - start )) s)" >"$dir/report"
}

status=0
for target in $TARGETS; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  compile "$target" &
done
wait || true
for target in $TARGETS; do
  dir=$work/${target%/*}-${target#*/}
  cat "$dir/report"
  if ! grep -q "^$target *ok" "$dir/report"; then cat "$dir/log"; status=1; fi
done

for target in $TARGETS; do
  qemu=$(qemu_of "$target")
  dir=$work/${target%/*}-${target#*/}
  [ -n "$qemu" ] && [ "${CROSS_QEMU:-1}" != 0 ] && [ -e "$dir/output.test" ] || continue
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
    if (cd "$pkg" && "$qemu" "$dir/$pkg.test" -test.count=1 -test.timeout=300s >"$work/qemu.log" 2>&1); then
      say "$target" "ok   $pkg tests under $qemu ($(( $(date +%s) - start )) s)"
    else
      say "$target" "FAIL $pkg tests under $qemu"; tail -40 "$work/qemu.log"; status=1
    fi
  done
done
exit $status
