package main

import (
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
