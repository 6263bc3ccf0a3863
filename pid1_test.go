package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// As PID 1 the kernel delivers only signals that have a handler
// (pid_namespaces(7)), and a Go program without a handler for SIGPIPE
// exits 2 when its stdout goes away there, where elsewhere it would die of
// the signal (141). These run cinit as PID 1 of a new PID namespace.

func TestPID1_ClosedStdoutIs141(t *testing.T) {
	requirePIDNamespace(t)
	dir := writeProcfile(t, "a: exec yes\nb: exec sleep 1000\n")
	code := closeStdoutAfterOneLine(t, dir, "unshare", "--pid", "--fork", "--mount-proc", "--kill-child", cinitBin)
	if code != 141 {
		t.Fatalf("cinit as PID 1 exited %d, want 141", code)
	}
}

func TestPID1_ForwardsAndStops(t *testing.T) {
	requirePIDNamespace(t)
	// b ignores HUP: the forwarded HUP must not end it.
	dir := writeProcfile(t, "a: "+helperLine("trapterm")+"\nb: trap '' HUP; echo ready; exec sleep 1000\n")
	r := startInit(t, dir, nil)
	r.waitLine("a", "ready")
	r.waitLine("b", "ready")
	r.signalInit(syscall.SIGHUP)
	r.waitLine("a", "got hangup")
	r.signalInit(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 || indexOf(lines, "a", "got terminated") < 0 || indexOf(lines, "cinit", "b was killed by SIGTERM") < 0 {
		t.Fatalf("exit %d; output:\n%s", code, tail(lines))
	}
}

// enterInit starts script with sh, as docker exec does, inside the PID
// namespace of the cinit that startInit ran, from outside: its parent is
// not in the namespace, so cinit is told neither of it nor of its end. The
// script runs in dir and must create the file mark once it is ready.
func enterInit(t *testing.T, r *procRun, dir, script, mark string) {
	t.Helper()
	requireTool(t, "nsenter")
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(r.initPid()), "-p", "-m", "--wd="+dir, "--", "sh", "-c", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitUntil(t, "the entered shell", func() bool { return exists(filepath.Join(dir, mark)) })
}

// Processes that entered the container from outside get the stop signal
// and the time to clean up: cinit, as PID 1, waits for them (when PID 1
// exits, the kernel SIGKILLs them). cinit used to exit once its own
// children were gone, with the first in the middle of its cleanup. The
// second ignores TERM (an interactive shell does): it gets SIGKILL when
// the grace period ends, cinit exits then, and that kill, not being of a
// process of cinit's, does not change cinit's status.
func TestPID1_WaitsForProcessesFromOutside(t *testing.T) {
	requirePIDNamespace(t)
	for _, mode := range []string{"start", "single"} {
		dir := writeProcfile(t, "a: echo ready; exec sleep 1000\n")
		var r *procRun
		want := 0
		if mode == "start" {
			r = startInit(t, dir, nil, "-t", "3")
			r.waitLine("a", "ready")
		} else {
			r = startInit(t, dir, nil, "-t", "3", "--", "sh", "-c", "echo ready; exec sleep 1000")
			r.waitOutput("ready")
			want = 143
		}
		enterInit(t, r, dir, `trap 'sleep 0.5; echo clean > cleaned; exit 0' TERM; touch entered; while :; do sleep 0.1; done`, "entered")
		enterInit(t, r, dir, `trap '' TERM; touch deaf; while :; do sleep 0.1; done`, "deaf")
		r.signalInit(syscall.SIGTERM)
		code, lines := r.wait()
		if b, _ := os.ReadFile(filepath.Join(dir, "cleaned")); string(b) != "clean\n" || code != want {
			t.Errorf("%s: cinit exited %d (want %d), the entered shell cleaned up: %q:\n%s", mode, code, want, b, tail(lines))
		}
	}
}
