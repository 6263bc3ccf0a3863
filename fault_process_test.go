package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/cinit/cinit/internal/proctest"
	"golang.org/x/sys/unix"
)

func TestFaultForkerOf2000(t *testing.T) {
	t.Parallel()
	f := startFault(t, "f: "+helperLine("fault-forker 2000")+"\nb: "+helperLine("block")+"\n", nil, "-c", "f")
	f.waitLine("b", "ready")
	f.waitLine("f", "forked 2000")
	f.waitLine("cinit", "f exited with code 0")
	// The 1000 zombies f left are cinit's now; cinit reaps them all.
	waitUntil(t, "cinit to reap every zombie", func() bool { return len(proctest.Zombies(f.pid())) == 0 })
	f.signal(syscall.SIGTERM)
	if code, lines := f.end(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
}

func TestFaultThousandInstances(t *testing.T) {
	t.Parallel()
	const n = 1000
	f := startFault(t, "a: "+shellRecord+"echo ready; exec sleep 1000\n", nil, "-m", fmt.Sprintf("all=%d", n))
	for i := 1; i <= n; i++ {
		f.waitLine(fmt.Sprintf("a.%d", i), "ready")
	}
	waitUntil(t, "no zombie", func() bool { return len(proctest.Zombies(f.pid())) == 0 })
	f.signal(syscall.SIGTERM)
	code, lines := f.end()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
	stopped := 0
	for _, l := range linesOf(lines, "cinit") {
		if strings.HasSuffix(l, "was killed by SIGTERM") {
			stopped++
		}
	}
	if stopped != n || len(recordedPids(f.dir)) != n {
		t.Errorf("%d stopped, %d recorded their pid; want %d", stopped, len(recordedPids(f.dir)), n)
	}
}

func TestFaultChildIgnoresEverySignal(t *testing.T) {
	t.Parallel()
	f := startFault(t, "a: "+helperLine("fault-deaf")+"\nb: "+helperLine("fault-sigs")+"\n", nil, "-t", "1s")
	f.waitLine("a", "ready")
	f.waitLine("b", "ready")
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCONT} {
		f.signal(sig)
		f.waitLine("b", "got "+unix.SignalName(sig)) // forwarded to a as well
	}
	f.signal(syscall.SIGTERM)
	code, lines := f.end()
	if code != 137 {
		t.Fatalf("exit %d, want 137:\n%s", code, tail(lines))
	}
	if indexOf(lines, "cinit", "sending SIGKILL to 1 process") < 0 || indexOf(lines, "cinit", "a was killed by SIGKILL") < 0 {
		t.Errorf("a was not killed after the grace period:\n%s", tail(lines))
	}
}

func TestFaultStopAndContinueChild(t *testing.T) {
	t.Parallel()
	onlyPid := func(t *testing.T, f *faultRun) int {
		t.Helper()
		pids := livePids(f.dir)
		if len(pids) != 1 {
			t.Fatalf("pids %v, want one", pids)
		}
		return pids[0]
	}
	// stop stops the child, sending SIGSTOP again while it is not
	// stopped: in a teardown, cinit's SIGCONT after the stop signal may
	// come after the test's SIGSTOP on a loaded machine.
	stop := func(t *testing.T, pid int) {
		t.Helper()
		waitUntil(t, "the child to stop", func() bool {
			syscall.Kill(pid, syscall.SIGSTOP)
			return proctest.State(pid) == 'T'
		})
	}
	t.Run("continued during teardown", func(t *testing.T) {
		t.Parallel()
		f := startFault(t, "a: "+helperLine("fault-slowstop")+"\n", nil, "-t", "1h")
		f.waitLine("a", "ready")
		f.signal(syscall.SIGTERM)
		f.waitLine("a", "stopping")
		pid := onlyPid(t, f)
		stop(t, pid)
		syscall.Kill(pid, syscall.SIGUSR2) // pending until the child runs again
		syscall.Kill(pid, syscall.SIGCONT)
		code, lines := f.end()
		if i, j := indexOf(lines, "a", "bye"), indexOf(lines, "cinit", "a exited with code 0"); code != 0 || i < 0 || j < i {
			t.Fatalf("exit %d, bye at %d, exit at %d:\n%s", code, i, j, tail(lines))
		}
	})
	t.Run("left stopped during teardown", func(t *testing.T) {
		t.Parallel()
		// The grace must outlast stopping the child, which can take a
		// while on a loaded machine; it ends in a SIGKILL either way.
		f := startFault(t, "a: "+helperLine("fault-slowstop")+"\n", nil, "-t", "5s")
		f.waitLine("a", "ready")
		f.signal(syscall.SIGTERM)
		f.waitLine("a", "stopping")
		stop(t, onlyPid(t, f))
		code, lines := f.end()
		if code != 137 || indexOf(lines, "cinit", "a was killed by SIGKILL") < 0 {
			t.Fatalf("exit %d, want 137 and a SIGKILL:\n%s", code, tail(lines))
		}
	})
	t.Run("stopped before teardown", func(t *testing.T) {
		t.Parallel()
		// The stop signal is followed by SIGCONT (supervisor.signalGroup).
		f := startFault(t, "a: "+helperLine("fault-sigs")+"\n", nil, "-t", "1h")
		f.waitLine("a", "ready")
		stop(t, onlyPid(t, f))
		f.signal(syscall.SIGTERM)
		code, lines := f.end()
		if code != 0 || indexOf(lines, "a", "got SIGTERM") < 0 {
			t.Fatalf("exit %d, want 0 and the TERM handled:\n%s", code, tail(lines))
		}
	})
}

func TestFaultNoFDLeakAcrossRestarts(t *testing.T) {
	t.Parallel()
	// Backoff waits 1 s, 2 s, 4 s: the fourth run starts 7 s after the
	// first.
	const runs = 4
	f := startFault(t, "a: "+helperLine("fault-untilusr1")+"\n", nil, "-r", "a=always", "-t", "1h")
	var first []string
	var firstN int
	for run := 1; run <= runs; run++ {
		f.waitLine("a", "run")
		targets, ok := proctest.FDs(f.pid())
		if !ok {
			t.Fatal("cannot read cinit's file descriptors")
		}
		n := len(targets)
		if run == 1 {
			firstN, first = n, targets
		} else if n != firstN {
			t.Errorf("run %d: cinit has %d fds, %d in the first run:\n%v\n%v", run, n, firstN, first, targets)
		}
		if run == runs {
			break
		}
		for _, pid := range livePids(f.dir) {
			syscall.Kill(pid, syscall.SIGUSR1)
		}
		f.waitLine("cinit", "restarting in")
	}
	f.signal(syscall.SIGTERM)
	if code, lines := f.end(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
}
