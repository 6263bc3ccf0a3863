package main

import (
	"bufio"
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// As PID 1 the kernel delivers only signals that have a handler, and a Go
// program without one for SIGPIPE exits 2 when its stdout goes away
// (research/init-semantics.md E11, E13). These run cinit as PID 1 of a new
// PID namespace.

func TestPID1_ClosedStdoutIs141(t *testing.T) {
	requirePIDNamespace(t)
	dir := writeProcfile(t, "a: exec yes\nb: exec sleep 1000\n")
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", cinitBin, "-f", filepath.Join(dir, "Procfile"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	out.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 141 {
		t.Fatalf("cinit as PID 1 ended with %v, want exit 141", err)
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
