#!/usr/bin/env bash
# make smoke-arm64: the arm64 release binary (dist/cinit-linux-arm64,
# built here if missing) under qemu-user, as PID 1 of a new PID namespace
# running examples/Procfile, and as a plain process, where qemu-user
# before 9.0 refuses PR_SET_CHILD_SUBREAPER: cinit must then warn once and
# run on. Needs root (binfmt_misc, unshare) and qemu-user-static; without
# them it skips, or fails when CINIT_REQUIRE_TOOLS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/dist/cinit-linux-arm64
skip() {
  if [ "${CINIT_REQUIRE_TOOLS:-}" = 1 ]; then echo "smoke-arm64: $*" >&2; exit 1; fi
  echo "smoke-arm64: skipped: $*" >&2; exit 0
}
fail() { echo "smoke-arm64: $*" >&2; exit 1; }
# denied: a missing privilege, not a missing tool: skipped even in CI, as
# the PID-namespace tests are.
denied() { echo "smoke-arm64: skipped: $*" >&2; exit 0; }

command -v qemu-aarch64-static >/dev/null || skip "qemu-aarch64-static not found (apt-get install qemu-user-static)"
command -v unshare >/dev/null || skip "unshare not found (util-linux)"
[ "$(id -u)" = 0 ] || denied "needs root for binfmt_misc and PID namespaces"
if [ ! -x "$bin" ]; then
  mkdir -p dist
  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 ${GO:-go} build -trimpath -o "$bin" .
fi

# binfmt_misc lets the kernel start arm64 binaries through qemu, so that
# cinit can be PID 1 itself and the test binary's re-executions work.
binfmt=/proc/sys/fs/binfmt_misc
[ -e $binfmt/register ] || mount -t binfmt_misc binfmt_misc $binfmt || denied "cannot mount binfmt_misc"
if [ ! -e $binfmt/qemu-aarch64 ]; then
  conf=/usr/lib/binfmt.d/qemu-aarch64.conf
  [ -r $conf ] || skip "$conf not found"
  cat $conf >$binfmt/register || denied "cannot register qemu-aarch64"
fi

# 1. cinit version.
got=$("$bin" version)
case $got in *" linux/arm64") ;; *) fail "cinit version printed \"$got\"" ;; esac

# 2. As PID 1, the example Procfile: clock and worker stopped when web
#    exits 0, and cinit exits 0.
out=$(cd examples && timeout 60 unshare --pid --fork --mount-proc --kill-child "$bin" --no-color 2>&1) ||
  fail "examples/Procfile as PID 1 exited $?: $out"
grep -q "web exited with code 0" <<<"$out" || fail "no \"web exited with code 0\" in: $out"

# 3. Not PID 1, where qemu refuses the subreaper: one warning, CMD's status.
set +e
err=$(timeout 60 "$bin" -- sh -c 'sleep 1000 & exit 3' 2>&1 >/dev/null)
code=$?
set -e
[ "$code" = 3 ] || fail "cinit -- sh -c 'sleep 1000 & exit 3' exited $code: $err"
n=$(grep -c "cannot become a child subreaper" <<<"$err" || true)
case $n in
  0) echo "smoke-arm64: this qemu grants the subreaper" ;;
  1) ;;
  *) fail "$n warnings about the subreaper: $err" ;;
esac
echo "smoke-arm64: ok ($got; PID 1 example run; exit 3 with $n warning)"
