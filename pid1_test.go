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

// enterInit starts, as docker exec does, a shell inside the PID namespace
// of the cinit that startInit ran, from outside: its parent is not in the
// namespace, so cinit is told neither of it nor of its end. On TERM it
// takes a while to clean up, then writes "clean" to dir/cleaned.
func enterInit(t *testing.T, r *procRun, dir string) {
	t.Helper()
	requireTool(t, "nsenter")
	mark := filepath.Join(dir, "entered")
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(r.initPid()), "-p", "-m", "--wd="+dir, "--", "sh", "-c",
		`trap 'sleep 0.5; echo clean > cleaned; exit 0' TERM; touch entered; while :; do sleep 0.1; done`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitUntil(t, "the entered shell", func() bool { return exists(mark) })
}

// A process that entered the container from outside gets the stop signal
// and the time to clean up: cinit, as PID 1, waits for it (when PID 1
// exits, the kernel SIGKILLs it). cinit used to exit once its own
// children were gone, with that process in the middle of its cleanup.
func TestPID1_WaitsForProcessesFromOutside(t *testing.T) {
	requirePIDNamespace(t)
	for _, mode := range []string{"start", "single"} {
		dir := writeProcfile(t, "a: echo ready; exec sleep 1000\n")
		var r *procRun
		if mode == "start" {
			r = startInit(t, dir, nil, "-t", "30")
			r.waitLine("a", "ready")
		} else {
			r = startInit(t, dir, nil, "-t", "30", "--", "sh", "-c", "echo ready; exec sleep 1000")
			r.waitOutput("ready")
		}
		enterInit(t, r, dir)
		r.signalInit(syscall.SIGTERM)
		code, lines := r.wait()
		if b, _ := os.ReadFile(filepath.Join(dir, "cleaned")); string(b) != "clean\n" {
			t.Errorf("%s: cinit exited %d before the entered shell had cleaned up:\n%s", mode, code, tail(lines))
		}
	}
}
