#!/usr/bin/env bash
# make bench: measures bin/cinit against a plain `sh` with one `| cat` hop,
# each scenario interleaved (cinit, pipe, cinit, pipe, ...) in the same run,
# and prints a Markdown table of medians and ratios (see BENCHMARKS.md).
#
# Knobs (environment), defaults sized for ~2-3 minutes on 2 cores:
#   CINIT              binary under test            (bin/cinit)
#   BENCH_ONLY         comma list of scenarios: binary,short1,followers,
#                      short4,long,huge,json,tty,attach,startup,term,orphans,
#                      control,pinned                   (all)
#   BENCH_REPS         pairs per throughput scenario    (15)
#   BENCH_PIN          CPU list for a second, pinned pass of the throughput
#                      scenarios (taskset; both sides on the same CPUs);
#                      "none" skips it                  (0)
#   BENCH_PIN_REPS     pairs per pinned scenario        (7)
#   BENCH_SHORT_MIB    MiB of 60-byte lines per run     (512)
#   BENCH_LONG_MIB     MiB of 1 MiB lines per run       (1024)
#   BENCH_HUGE_MIB     size of the line without newline (10)
#   BENCH_HUGE_REPS    pairs for that line              (31)
#   BENCH_START_REPS   pairs for start-up               (101)
#   BENCH_TERM_REPS    runs for SIGTERM and idle RSS    (30)
#   BENCH_SETTLE_MS    idle time before RSS/SIGTERM     (200)
#   BENCH_ORPHANS      double-forked sleepers as PID 1  (3000)
#   BENCH_ORPHAN_SLEEP how long each sleeps             (0.05)
#   BENCH_SAMPLE_MS    zombie sampling interval         (20)
#   BENCH_CHUNK        writer's bytes per write         (65536)
#   BENCH_CONTROL_REPS runs of cinit status/probe/version and round trips (101)
#   BENCH_VERBOSE=1    print every throughput pair on stderr
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

# Tools beyond Go: file(1) for the binary check, unshare(1) for PID 1,
# taskset(1) for the pinned pass.
need=()
command -v file >/dev/null || need+=(file)
{ command -v unshare && command -v taskset; } >/dev/null || need+=(util-linux)
command -v sleep >/dev/null || need+=(coreutils)
if ((${#need[@]})); then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "bench: installing ${need[*]}" >&2
		apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
	else
		echo "bench: missing ${need[*]}; some figures will be errors" >&2
	fi
fi
if [ "$(id -u)" != 0 ]; then
	echo "bench: not root: the PID 1 scenario (unshare --pid) will fail" >&2
fi

export CINIT=${CINIT:-bin/cinit}
[ -x "$CINIT" ] || make --no-print-directory all >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Static and stripped, as bin/cinit is, so that its floors (a bare Go
# init) are comparable: with cgo it would map libc too.
CGO_ENABLED=0 "$GO" build -trimpath -ldflags="-s -w" -o "$tmp/harness" ./bench/harness
"$tmp/harness"
