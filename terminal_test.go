package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCtrlCReachesEachProcessOnce runs cinit start on a terminal, as docker
// run -t does: cinit keeps the foreground, so the ^C the terminal turns into
// SIGINT reaches cinit alone, and cinit passes exactly one SIGINT to each
// process (README, "Using cinit as PID 1").
func TestCtrlCReachesEachProcessOnce(t *testing.T) {
	master, slave := openPty(t)
	dir := writeProcfile(t, "a: "+helperLine("trapterm")+"\nb: "+helperLine("trapterm")+"\n")
	cmd := exec.Command(cinitBin, "-f", filepath.Join(dir, "Procfile"), "--no-color")
	cmd.Env = append(os.Environ(), "CINIT_TEST_HELPER=1", "CINIT_TEST_EXE="+os.Args[0], "GORACE=atexit_sleep_ms=0")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	defer cmd.Process.Kill()

	var seen strings.Builder
	lines := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			lines <- string(buf[:n])
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	waitFor := func(want int) {
		deadline := time.After(hangLimit)
		for strings.Count(seen.String(), "| ready") < want {
			select {
			case s, ok := <-lines:
				if !ok {
					t.Fatalf("terminal closed; output:\n%s", seen.String())
				}
				seen.WriteString(s)
			case <-deadline:
				t.Fatalf("processes not ready; output:\n%s", seen.String())
			}
		}
	}
	waitFor(2)
	if _, err := master.Write([]byte{3}); err != nil { // ^C
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		for s := range lines {
			seen.WriteString(s)
		}
		out := strings.ReplaceAll(seen.String(), "\r", "")
		if err != nil {
			t.Fatalf("cinit: %v; output:\n%s", err, out)
		}
		if n := strings.Count(out, "got interrupt"); n != 2 {
			t.Fatalf("%d SIGINTs reached the processes, want one each; output:\n%s", n, out)
		}
		if !strings.Contains(out, "SIGINT received, stopping all processes") {
			t.Errorf("no teardown message; output:\n%s", out)
		}
	case <-time.After(hangLimit):
		t.Fatalf("cinit did not stop on ^C; output:\n%s", seen.String())
	}
}

// requireTool finds a program the test needs. .ci/run installs every one
// of them and sets CINIT_REQUIRE_TOOLS, so there a missing tool fails the
// test; on a developer's machine the test is skipped with the reason.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CINIT_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s is not installed (.ci/run installs it)", name)
	}
	t.Skipf("%s is not installed: apt-get install %s", name, name)
	return ""
}

// TestUnderTini runs cinit as the child of tini, as `docker run --init`
// does: cinit is not PID 1, becomes a subreaper, and a SIGTERM that tini
// forwards (docker stop) is a graceful stop.
func TestUnderTini(t *testing.T) {
	tini := requireTool(t, "tini")
	dir := writeProcfile(t, "a: "+helperLine("trapterm")+"\nb: "+helperLine("daemon "+filepath.Join(t.TempDir(), "stopped"))+" && exec "+helperLine("block")+"\n")
	r := startProgram(t, dir, nil, tini, "-s", "--", cinitBin)
	r.waitLine("a", "ready")
	r.waitLine("b", "daemon pid")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 || indexOf(lines, "a", "got terminated") < 0 {
		t.Fatalf("exit %d; output:\n%s", code, tail(lines))
	}
}

// TestURGNeverReachesChildren: SIGURG is the Go runtime's preemption
// signal. Whether the runtime sends it to cinit's threads (under heavy
// output) or somebody sends it to cinit, it is never passed on (the
// signals package comment), while a signal that is forwarded (USR1)
// does arrive.
func TestURGNeverReachesChildren(t *testing.T) {
	dir := writeProcfile(t, "a: trap 'echo got URG' URG; trap 'echo got USR1' USR1; echo ready; while :; do sleep 0.01; done\n"+
		"b: "+helperLine("lines 300000")+"; exec "+helperLine("block")+"\n")
	r := startCinit(t, dir, nil)
	r.waitLine("a", "ready")
	for range 50 {
		r.signal(syscall.SIGURG)
	}
	r.waitLine("b", "b.1 line 300000")
	// b's shell and the helper it execs die of a USR1 that comes before
	// the Go runtime has its handlers (Go then ignores USR1): wait for it.
	r.waitLine("b", "ready")
	r.signal(syscall.SIGUSR1)
	r.waitLine("a", "got USR1")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 || indexOf(lines, "a", "got URG") >= 0 {
		t.Fatalf("exit %d; output:\n%s", code, tail(lines))
	}
}
