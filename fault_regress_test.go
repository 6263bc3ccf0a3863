// Regression tests for faults that fault injection found: a NUL byte in a
// Procfile command or an env file (which could never reach execve) must be
// a configuration error, and a stop signal must survive a storm of other
// signals (os/signal drops what does not fit its channel; see
// signals.Subscribe).

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestFaultNULInProcfileCommand(t *testing.T) {
	dir := writeProcfile(t, "a: touch started\nb: echo x\x00y\n")
	code, lines, stderr := runCinit(t, dir, nil)
	if code != 2 || !strings.Contains(stderr, "Procfile:2:") {
		t.Errorf("start: exit %d, stderr %q; want 2 and Procfile:2", code, stderr)
	}
	if exists(filepath.Join(dir, "started")) || len(lines) > 0 {
		t.Errorf("something started: %q", lines)
	}
	code, _, stderr = runCinit(t, dir, nil, "check")
	if code != 1 || !strings.Contains(stderr, "Procfile:2:") {
		t.Errorf("check: exit %d, stderr %q; want 1 and Procfile:2", code, stderr)
	}
	code, _, stderr = runCinit(t, dir, nil, "run", "b")
	if code != 2 || !strings.Contains(stderr, "Procfile:2:") {
		t.Errorf("run b: exit %d, stderr %q; want 2 and Procfile:2", code, stderr)
	}
}

func TestFaultNULInEnvValue(t *testing.T) {
	dir := writeProcfile(t, "a: touch started\n")
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("A=x\x00y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, lines, stderr := runCinit(t, dir, nil)
	if code != 2 || !strings.Contains(stderr, ".env:1:") {
		t.Errorf("start: exit %d, stderr %q; want 2 and .env:1", code, stderr)
	}
	if exists(filepath.Join(dir, "started")) || len(lines) > 0 {
		t.Errorf("something started: %q", lines)
	}
	code, _, stderr = runCinit(t, dir, nil, "check")
	if code != 1 || !strings.Contains(stderr, ".env:1:") {
		t.Errorf("check: exit %d, stderr %q; want 1 and .env:1", code, stderr)
	}
}

func TestFaultSignalStorm(t *testing.T) {
	forwarded := []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCONT}
	kept := []syscall.Signal{syscall.SIGWINCH, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPIPE}
	mix := append(append([]syscall.Signal{}, forwarded...), kept...)
	for run := 1; run <= 20; run++ {
		f := startFault(t, "a: "+helperLine("fault-sigs")+"\nb: trap '' HUP USR1 USR2 ALRM; echo ready; exec sleep 1000\n", nil, "-m", "b=30")
		f.waitLine("a", "ready")
		for i := 1; i <= 30; i++ {
			f.waitLine("b."+strconv.Itoa(i), "ready")
		}
		for i := range 5000 {
			if err := syscall.Kill(f.pid(), mix[i%len(mix)]); err != nil {
				t.Fatal(err)
			}
		}
		// The kernel discards a pending SIGCONT whenever a stop signal
		// (TSTP, TTIN, TTOU) is generated, caught or not (signal(7)), so
		// a CONT of the storm may never reach cinit at all. One more CONT
		// after the storm must arrive and be forwarded.
		if err := syscall.Kill(f.pid(), syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		for _, sig := range forwarded {
			if !lineWithin(f, "a", "got "+unix.SignalName(sig), 10*time.Second) {
				t.Errorf("run %d: %s never forwarded", run, unix.SignalName(sig))
			}
		}
		f.signal(syscall.SIGTERM)
		select {
		case <-f.done:
		case <-time.After(10 * time.Second):
			t.Errorf("run %d: SIGTERM after the storm was lost: cinit still runs 10 s later", run)
			f.signal(syscall.SIGTERM) // a second TERM stops it: the first never arrived
		}
		code, lines := f.end()
		if code != 0 {
			t.Fatalf("run %d: exit %d, want 0:\n%s", run, code, tail(lines))
		}
		for _, sig := range kept {
			if indexOf(lines, "a", "got "+unix.SignalName(sig)) >= 0 {
				t.Errorf("run %d: a got %s, which cinit must not forward", run, unix.SignalName(sig))
			}
		}
		if t.Failed() {
			return
		}
	}
}

// lineWithin reports whether a line of name's containing substr arrives
// within d.
func lineWithin(f *faultRun, name, substr string, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		f.mu.Lock()
		lines := f.names[name]
		found := false
		for _, l := range lines {
			found = found || strings.Contains(l, substr)
		}
		f.mu.Unlock()
		if found {
			return true
		}
	}
	return false
}
