package container

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestStopHealthyProcfile: podman stop of the example image (web server
// and worker) sends SIGTERM to cinit, which stops both processes and exits
// 0 long before podman's own SIGKILL would come.
func TestStopHealthyProcfile(t *testing.T) {
	c := start(t, nil)
	c.waitLine("cinit", "web is ready")
	c.waitLine("cinit", "worker started")
	took, code := c.stop()
	t.Logf("podman stop took %v (podman's timeout: %v)", took.Round(time.Millisecond), stopTimeout)
	if code != 0 || took >= stopTimeout {
		t.Fatalf("exit %d after %v, want 0 well within %v", code, took, stopTimeout)
	}
	out := c.logs()
	for _, want := range []string{"SIGTERM received, stopping all processes", "web was killed by SIGTERM", "worker was killed by SIGTERM"} {
		if !hasLine(out, "cinit", want) {
			t.Errorf("no %q in the output", want)
		}
	}
}

// TestFirstExitIsContainerStatus: the first process to exit ends the
// container, and its code is what podman wait reports.
func TestFirstExitIsContainerStatus(t *testing.T) {
	opts, args := procfile(t, "a: echo bye; exit 7\nb: exec sleep 1000\n")
	c := start(t, opts, args...)
	if code := c.wait(); code != 7 {
		t.Fatalf("podman wait reported %d, want 7", code)
	}
	out := c.logs()
	if !hasLine(out, "a", "bye") || !hasLine(out, "cinit", "a exited with code 7") || !hasLine(out, "cinit", "b was killed by SIGTERM") {
		t.Fatalf("missing lines in the output")
	}
}

// TestSingleCommandPassesThrough: ENTRYPOINT cinit with `-- CMD` keeps the
// command's stdout and stderr apart and unprefixed, and the container's
// status is the command's: its own code, 127 when it is not found.
func TestSingleCommandPassesThrough(t *testing.T) {
	needImage(t)
	stdout, stderr, code := runAttached(t, "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3")
	if code != 3 || stdout != "to-stdout\n" || stderr != "to-stderr\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 3, \"to-stdout\\n\", \"to-stderr\\n\"", code, stdout, stderr)
	}
	// podman itself also exits 127 when the entry point is missing: the
	// message shows that cinit ran and reported the missing command.
	_, stderr, code = runAttached(t, "--", "no-such-program")
	if code != 127 || !strings.Contains(stderr, "cinit: no-such-program: command not found") {
		t.Fatalf("exit %d, stderr %q; want 127 and cinit's message", code, stderr)
	}
}

// runAttached runs the image in the foreground (podman run --rm) and
// returns its stdout, its stderr and its exit status. The image's health
// check is left out: without systemd podman prints errors about its timer
// on the same stderr as the command's.
func runAttached(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("podman", append([]string{"run", "--rm", "--no-healthcheck", image}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// hupLoop is a Procfile command that reports every SIGHUP and keeps going.
const hupLoop = "trap 'echo got HUP' HUP; echo ready; while :; do sleep 1000 & wait $!; done"

// TestKillHUPIsForwarded: podman kill -s HUP reaches every process, and
// the container keeps running (HUP is not a stop signal).
func TestKillHUPIsForwarded(t *testing.T) {
	opts, args := procfile(t, "a: "+hupLoop+"\nb: "+hupLoop+"\n")
	c := start(t, opts, args...)
	c.waitLine("a", "ready")
	c.waitLine("b", "ready")
	mustPodman(t, "kill", "-s", "HUP", c.name)
	c.waitLine("a", "got HUP")
	c.waitLine("b", "got HUP")
	if state := c.inspect("{{.State.Status}}"); state != "running" {
		t.Fatalf("container is %s after SIGHUP, want running", state)
	}
	if _, code := c.stop(); code != 0 {
		t.Fatalf("exit %d after podman stop, want 0", code)
	}
	if hasLine(c.logs(), "cinit", "SIGHUP") {
		t.Fatal("SIGHUP started a teardown")
	}
}

// TestOrphansAreReaped: processes whose parent exited are re-parented to
// cinit, PID 1 of the container, which reaps them: podman exec ps shows no
// zombie once they have ended.
func TestOrphansAreReaped(t *testing.T) {
	opts, args := procfile(t, "a: for i in 1 2 3 4 5 6 7 8; do (sh -c 'exit 0' &); done; echo spawned; exec sleep 1000\n")
	c := start(t, opts, args...)
	c.waitLine("a", "spawned")
	var ps string
	c.poll("zombie-free process list", func() bool {
		ps = c.exec("ps", "-o", "pid,ppid,stat,args")
		return !strings.Contains(ps, "exit 0") && !hasZombie(ps)
	})
	t.Logf("podman exec ps:\n%s", ps)
	if _, code := c.stop(); code != 0 {
		t.Fatalf("exit %d after podman stop, want 0", code)
	}
}

// hasZombie tells whether busybox ps -o pid,ppid,stat,args lists a zombie.
func hasZombie(ps string) bool {
	for line := range strings.SplitSeq(ps, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && strings.HasPrefix(f[2], "Z") {
			return true
		}
	}
	return false
}

// TestUnderPodmanInit: with podman run --init, catatonit is PID 1 and
// cinit its child. cinit makes itself a subreaper, so an orphan of a
// Procfile process comes to cinit, not to PID 1; podman stop still ends
// with exit 0 well within podman's timeout.
func TestUnderPodmanInit(t *testing.T) {
	opts, args := procfile(t, "a: (exec sleep 1001 &); echo started; exec sleep 1000\nb: exec sleep 1002\n")
	c := start(t, append(opts, "--init"), args...)
	c.waitLine("a", "started")
	// The orphan may not have exec'd sleep yet when a prints: poll.
	var ps, pid1, cinit, orphanParent string
	c.poll("the orphan in podman exec ps", func() bool {
		ps = c.exec("ps", "-o", "pid,ppid,args")
		pid1, cinit, orphanParent = initTree(ps)
		return orphanParent != ""
	})
	if !strings.Contains(pid1, "podman-init") || cinit == "" || orphanParent != cinit {
		t.Fatalf("want PID 1 podman-init and the orphan's parent cinit (pid %s); ps:\n%s", cinit, ps)
	}
	took, code := c.stop()
	t.Logf("podman stop took %v under --init", took.Round(time.Millisecond))
	if code != 0 || took >= stopTimeout {
		t.Fatalf("exit %d after %v, want 0 well within %v", code, took, stopTimeout)
	}
	out := c.logs()
	if !hasLine(out, "cinit", "a was killed by SIGTERM") || !hasLine(out, "cinit", "b was killed by SIGTERM") {
		t.Fatal("the processes were not stopped by SIGTERM")
	}
}

// initTree reads busybox ps -o pid,ppid,args: PID 1's command, cinit's
// pid, and the parent of the orphan "sleep 1001".
func initTree(ps string) (pid1, cinit, orphanParent string) {
	for line := range strings.SplitSeq(ps, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) < 3:
		case f[0] == "1":
			pid1 = f[2]
		case f[2] == "cinit":
			cinit = f[0]
		case strings.Join(f[2:], " ") == "sleep 1001":
			orphanParent = f[1]
		}
	}
	return pid1, cinit, orphanParent
}

// TestGraceThenKill: a process that ignores SIGTERM is SIGKILLed by cinit
// after its own grace period (-t 1), not by podman after its 10 s; the
// container's status says so (137).
func TestGraceThenKill(t *testing.T) {
	opts, args := procfile(t, "a: trap '' TERM; echo ready; while :; do sleep 1; done\nb: exec sleep 1000\n")
	c := start(t, opts, append(args, "-t", "1")...)
	c.waitLine("a", "ready")
	took, code := c.stop()
	t.Logf("podman stop took %v with cinit -t 1 (podman's timeout: %v)", took.Round(time.Millisecond), stopTimeout)
	if code != 137 || took < time.Second || took >= stopTimeout {
		t.Fatalf("exit %d after %v; want 137 after cinit's 1 s grace, before podman's %v", code, took, stopTimeout)
	}
	out := c.logs()
	if !hasLine(out, "cinit", "sending SIGKILL to 1 process") || !hasLine(out, "cinit", "a was killed by SIGKILL") {
		t.Fatal("cinit did not report its SIGKILL")
	}
}
