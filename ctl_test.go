package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cinit/cinit/control"
	"github.com/cinit/cinit/internal/proctest"
)

// ctlEnv gives a test its own socket directory: $XDG_RUNTIME_DIR/cinit is
// the first candidate, so cinit and its clients meet there.
func ctlEnv(t *testing.T) []string {
	return []string{"XDG_RUNTIME_DIR=" + t.TempDir()}
}

// socketFiles returns the files matching pattern in the socket directory
// of env (see ctlEnv).
func socketFiles(env []string, pattern string) []string {
	files, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(env[0], "XDG_RUNTIME_DIR="), "cinit", pattern))
	return files
}

// ctlResult is what one client command did.
type ctlResult struct {
	code   int
	stdout string
	stderr string
}

// ctl runs a client command in dir and waits for it (hangLimit at most).
func ctl(t *testing.T, dir string, env []string, args ...string) ctlResult {
	t.Helper()
	return startCtl(t, dir, env, args...).wait(t)
}

// pendingCtl is a client command running in the background.
type pendingCtl struct {
	cmd       *exec.Cmd
	out, errb bytes.Buffer
}

// startCtl starts a client command in dir; wait collects its result.
func startCtl(t *testing.T, dir string, env []string, args ...string) *pendingCtl {
	t.Helper()
	p := &pendingCtl{cmd: ctlCommand(t, dir, env, args...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errb
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// wait waits for the command (hangLimit at most) and returns its result.
func (p *pendingCtl) wait(t *testing.T) ctlResult {
	t.Helper()
	err := p.cmd.Wait()
	r := ctlResult{stdout: p.out.String(), stderr: p.errb.String()}
	if ee, ok := err.(*exec.ExitError); ok && ee.Exited() {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(p.cmd.Args, " "), err)
	}
	return r
}

// ctlCommand prepares a client command; it is killed after hangLimit.
func ctlCommand(t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, cinitBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GORACE=atexit_sleep_ms=0", "CINIT_SOCKET="), env...)
	return cmd
}

// want checks a client's exit status and that its output contains substr.
func (r ctlResult) want(t *testing.T, code int, substr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout+r.stderr, substr) {
		t.Fatalf("exit %d, output %q %q; want exit %d and %q", r.code, r.stdout, r.stderr, code, substr)
	}
}

// statusOf runs status --json and decodes it.
func statusOf(t *testing.T, dir string, env []string, names ...string) control.Status {
	t.Helper()
	r := ctl(t, dir, env, append([]string{"status", "--json"}, names...)...)
	var st control.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v in %q (stderr %q)", err, r.stdout, r.stderr)
	}
	return st
}

// runPid is the pid cinit printed for name's last start so far.
func runPid(r *procRun, name string) int {
	r.mu.Lock()
	lines := append([]string(nil), r.seen...)
	r.mu.Unlock()
	return pidOf(lines, name)
}

func TestControlStatusAndSelection(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("block")+"\nworker: "+helperLine("block")+"\n")
	r := startCinit(t, dir, env, "-m", "web=2")
	r.waitAll("cinit", "web.1 started", "web.2 started", "worker started")

	res := ctl(t, dir, env, "status")
	res.want(t, 0, "PROCESS")
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], strconv.Itoa(runPid(r, "web.1"))) || !strings.Contains(lines[3], "running") {
		t.Fatalf("status:\n%s", res.stdout)
	}
	st := statusOf(t, dir, env)
	if st.Cinit.Phase != "running" || len(st.Processes) != 3 || st.Processes[2].Pid != runPid(r, "worker") || st.Processes[0].Type != "web" {
		t.Fatalf("status --json: %+v", st)
	}
	for _, c := range []struct {
		names []string
		n     int
	}{{[]string{"web"}, 2}, {[]string{"web.2"}, 1}, {[]string{"w*"}, 3}, {[]string{"all"}, 3}, {[]string{"worker", "web.1"}, 2}} {
		if got := statusOf(t, dir, env, c.names...); len(got.Processes) != c.n {
			t.Errorf("status %v: %d processes, want %d", c.names, len(got.Processes), c.n)
		}
	}
	res = ctl(t, dir, env, "status", "web", "nope")
	res.want(t, 4, `"nope"`)
	if res.stdout != "" {
		t.Errorf("status nope printed %q", res.stdout)
	}
	ctl(t, dir, env, "ps", "worker").want(t, 0, "worker")
	ctl(t, dir, env, "status", "--bogus").want(t, 2, "bogus")
	// --help prints the command's line of cinit help and its flags.
	for _, cmd := range []string{"status", "restart", "stop", "kill", "logs", "probe", "quit", "attach"} {
		help := ctl(t, dir, env, cmd, "--help")
		help.want(t, 0, "  cinit "+cmd)
		if !strings.Contains(help.stdout, "--socket") || help.stderr != "" {
			t.Errorf("cinit %s --help: %q %q", cmd, help.stdout, help.stderr)
		}
	}
	r.signal(syscall.SIGTERM)
	if code, _ := r.wait(); code != 0 {
		t.Fatalf("cinit exited %d", code)
	}
}

func TestControlProbe(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("block")+"\nworker: "+helperLine("block")+"\n")
	flag := filepath.Join(dir, "web-ready")
	r := startCinit(t, dir, env, "--ready", "web=file:"+flag)
	r.waitAll("cinit", "web started", "worker started")

	ctl(t, dir, env, "probe").want(t, 1, "not ready: web starting")
	ctl(t, dir, env, "probe", "--live").want(t, 0, "alive")
	ctl(t, dir, env, "status", "web").want(t, 3, "starting")
	os.WriteFile(flag, nil, 0o644)
	r.waitLine("cinit", "web is ready")
	ctl(t, dir, env, "probe").want(t, 0, "ready")
	ctl(t, dir, env, "probe", "web").want(t, 0, "ready")
	if res := ctl(t, dir, env, "probe", "-q"); res.code != 0 || res.stdout != "" {
		t.Errorf("probe -q: exit %d, %q", res.code, res.stdout)
	}
	// probe exits only 0 or 1: a usage error and no cinit are 1 too.
	ctl(t, dir, env, "probe", "--bogus").want(t, 1, "bogus")
	ctl(t, dir, env, "probe", "nope").want(t, 1, "nope")
	// No cinit: an explicit socket that does not exist (a directory
	// without a socket would find those of other cinits on this machine).
	gone := filepath.Join(t.TempDir(), "gone.sock")
	ctl(t, dir, env, "probe", "--socket", gone).want(t, 1, "cinit not reachable")
	ctl(t, dir, env, "status", "--socket", gone).want(t, 7, "not running")
	r.signal(syscall.SIGTERM)
	r.wait()
}

// A process never ready yet keeps cinit starting while it waits for an
// automatic restart: probe of another process is not ready either.
func TestControlStartingThroughBackoff(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "a: "+helperLine("block")+"\nb: exit 1\n")
	r := startCinit(t, dir, env, "--restart", "b=always", "--ready", "b=file:"+filepath.Join(dir, "never"))
	r.waitLine("cinit", "b exited with code 1, restarting in 1s")
	ctl(t, dir, env, "probe", "a").want(t, 1, "not ready: cinit is starting")
	if st := statusOf(t, dir, env); st.Cinit.Phase != "starting" {
		t.Errorf("phase %q while b was never ready, want starting", st.Cinit.Phase)
	}
	r.signal(syscall.SIGTERM)
	r.wait()
}

func TestControlStopIsNotAFailure(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("trapterm")+"\nworker: "+helperLine("trapterm")+"\n")
	r := startCinit(t, dir, env, "--stop-signal", "worker=QUIT")
	r.waitLine("web", "ready")
	r.waitLine("worker", "ready")
	web := runPid(r, "web")

	ctl(t, dir, env, "stop", "worker").want(t, 0, "worker stopped")
	r.waitLine("worker", "got quit")
	r.waitLine("cinit", "stop worker requested by pid")
	ctl(t, dir, env, "status").want(t, 3, "stopped")
	ctl(t, dir, env, "probe").want(t, 0, "ready") // stopped on purpose
	// Everything stopped: cinit keeps running and waits.
	ctl(t, dir, env, "stop", "all").want(t, 0, "web stopped")
	if st := statusOf(t, dir, env); st.Cinit.Phase != "running" || st.Processes[0].State != "stopped" || st.Processes[0].Want != "down" {
		t.Fatalf("after stop all: %+v", st)
	}
	ctl(t, dir, env, "restart", "all").want(t, 0, "worker running")
	r.waitLine("web", "ready") // the new runs' signal handlers are set
	r.waitLine("worker", "ready")
	st := statusOf(t, dir, env)
	if st.Processes[0].Pid == web || st.Processes[0].Pid == 0 || st.Processes[0].Restarts != 1 {
		t.Fatalf("after restart all: %+v", st.Processes[0])
	}
	r.signal(syscall.SIGTERM)
	if code, _ := r.wait(); code != 0 {
		t.Fatalf("cinit exited %d, want 0", code)
	}
}

func TestControlStopTwiceKills(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("ignoreterm")+"\nworker: "+helperLine("block")+"\n")
	r := startCinit(t, dir, env, "-t", "1h")
	r.waitAll("web", "ready")
	r.waitAll("cinit", "worker started")
	ctl(t, dir, env, "stop", "--no-wait", "web").want(t, 0, "web stopping")
	ctl(t, dir, env, "stop", "web").want(t, 0, "web stopped") // would wait an hour without the kill
	r.waitLine("cinit", "web was killed by SIGKILL")
	ctl(t, dir, env, "status", "worker").want(t, 0, "running")
	r.signal(syscall.SIGTERM)
	r.wait()
}

// A process that is stopped on request while it is not ready yet is not
// failed by --ready-timeout during its grace period: the stop is never a
// failure and never a teardown. web ignores SIGTERM, so its stop lasts
// the grace period (5 s), and the ready timeout (3 s) comes while it does.
func TestControlStopOutlastsReadyTimeout(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("ignoreterm")+"\nworker: "+helperLine("block")+"\n")
	r := startCinit(t, dir, env, "--ready", "web=file:"+filepath.Join(dir, "never"), "--ready-timeout", "3s", "-t", "5s")
	r.waitAll("web", "ready")
	r.waitAll("cinit", "worker started")
	ctl(t, dir, env, "stop", "web").want(t, 0, "web stopped")
	r.waitLine("cinit", "web was killed by SIGKILL")
	ctl(t, dir, env, "status", "worker").want(t, 0, "running")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 || indexOf(lines, "cinit", "web was not ready within 3s") >= 0 {
		t.Fatalf("exit %d, want 0 and no ready timeout:\n%s", code, tail(lines))
	}
}

func TestControlRestartWaitsForReadiness(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("block")+"\n")
	flag := filepath.Join(dir, "ready")
	os.WriteFile(flag, nil, 0o644)
	r := startCinit(t, dir, env, "--ready", "web=file:"+flag)
	r.waitLine("cinit", "web is ready")
	first := runPid(r, "web")
	os.Remove(flag)

	restart := startCtl(t, dir, env, "restart", "web")
	r.waitLine("cinit", "web started with pid")
	ctl(t, dir, env, "probe").want(t, 1, "web starting")
	os.WriteFile(flag, nil, 0o644) // only now may the restart return
	restart.wait(t).want(t, 0, "web running")
	st := statusOf(t, dir, env)
	if p := st.Processes[0]; p.Pid == first || p.State != "running" || !p.Ready || p.Restarts != 1 {
		t.Fatalf("after restart: %+v", p)
	}
	r.waitLine("cinit", "web is ready")
	r.signal(syscall.SIGTERM)
	r.wait()
}

func TestControlRestartThatExitsFails(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("block")+"\nworker: "+helperLine("block")+"\n")
	r := startCinit(t, dir, env, "--ready", "web=file:"+filepath.Join(dir, "never"))
	r.waitAll("cinit", "web started", "worker started")

	restart := startCtl(t, dir, env, "restart", "web")
	r.waitLine("cinit", "restart web requested")
	r.waitLine("cinit", "web started with pid")
	ctl(t, dir, env, "kill", "-s", "KILL", "web").want(t, 0, "web")
	restart.wait(t).want(t, 1, "killed by SIGKILL before it was ready")
	// An operator's run that fails does not tear the container down.
	ctl(t, dir, env, "status", "web").want(t, 3, "failed")
	ctl(t, dir, env, "status", "worker").want(t, 0, "running")
	r.signal(syscall.SIGTERM)
	r.wait()
}

// A run started by cinit restart that is not ready within --ready-timeout
// fails alone: the client exits 1, the run is stopped (not left running
// as "failed"), the container goes on, and a later restart revives it.
func TestControlRestartNotReadyInTime(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("block")+"\nworker: "+helperLine("block")+"\n")
	flag := filepath.Join(dir, "ready")
	os.WriteFile(flag, nil, 0o644)
	r := startCinit(t, dir, env, "--ready", "web=file:"+flag, "--ready-timeout", "2s")
	r.waitAll("cinit", "web is ready", "worker started")
	os.Remove(flag)

	ctl(t, dir, env, "restart", "web").want(t, 1, "web was not ready within 2s")
	second := runPid(r, "web")
	r.waitLine("cinit", "web was killed by SIGTERM") // the first run, stopped by the restart
	r.waitLine("cinit", "web was killed by SIGTERM") // the second, stopped for not being ready
	if err := syscall.Kill(second, 0); err != syscall.ESRCH {
		t.Fatalf("the run that was not ready (pid %d) is still there: %v", second, err)
	}
	if p := statusOf(t, dir, env, "web").Processes[0]; p.State != "failed" || p.Pid != 0 {
		t.Fatalf("after the failed restart: %+v, want failed without a pid", p)
	}
	ctl(t, dir, env, "status", "worker").want(t, 0, "running")

	os.WriteFile(flag, nil, 0o644)
	ctl(t, dir, env, "restart", "web").want(t, 0, "web")
	if p := statusOf(t, dir, env, "web").Processes[0]; p.State != "running" || !p.Ready {
		t.Fatalf("after the second restart: %+v", p)
	}
	r.signal(syscall.SIGTERM)
	_, lines := r.wait()
	if indexOf(lines, "cinit", "web was not ready in time, stopping all processes") >= 0 {
		t.Fatalf("the failed restart tore the container down:\n%s", tail(lines))
	}
}

// A stop that waits is answered once its run has ended, also when a
// restart started the next run meanwhile (it used to wait for good, and
// keep one of the 32 connections).
func TestControlStopAnsweredWhenRestarted(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("ignoreterm")+"\n")
	r := startCinit(t, dir, env, "-t", "2s")
	r.waitLine("web", "ready")
	first := runPid(r, "web")
	stop := startCtl(t, dir, env, "stop", "web")
	r.waitLine("cinit", "stop web requested")
	ctl(t, dir, env, "restart", "web").want(t, 0, "web running")
	stop.wait(t).want(t, 0, "web")
	if pid := runPid(r, "web"); pid == first {
		t.Fatalf("web still runs as pid %d", pid)
	}
	r.signal(syscall.SIGTERM)
	r.wait()
}

// A restart after one whose client left while the run was not ready yet
// (it gave up at --timeout, or was killed) restarts again, instead of
// joining that run for good.
func TestControlRestartAfterAnAbandonedOne(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		leave func(t *testing.T, r *procRun, dir string, env []string)
	}{
		{"timeout", func(t *testing.T, r *procRun, dir string, env []string) {
			ctl(t, dir, env, "restart", "--timeout", "300ms", "web").want(t, 1, "not ready within 300ms")
		}},
		{"killed", func(t *testing.T, r *procRun, dir string, env []string) {
			first := startCtl(t, dir, env, "restart", "web")
			r.waitLine("cinit", "web started with pid")
			first.cmd.Process.Kill()
			first.cmd.Wait()
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := ctlEnv(t)
			// Each run is ready when ok existed as it started.
			dir := writeProcfile(t, "web: rm -f ready; if [ -e ok ]; then touch ready; fi; exec sleep 1000\n")
			ok := filepath.Join(dir, "ok")
			os.WriteFile(ok, nil, 0o644)
			r := startCinit(t, dir, env, "--ready", "web=file:ready")
			r.waitLine("cinit", "web is ready")
			os.Remove(ok)
			c.leave(t, r, dir, env)
			second := runPid(r, "web")
			os.WriteFile(ok, nil, 0o644)
			ctl(t, dir, env, "restart", "web").want(t, 0, "web running")
			if pid := runPid(r, "web"); pid == second {
				t.Fatalf("the second restart joined the run (pid %d) of the first", pid)
			}
			r.signal(syscall.SIGTERM)
			r.wait()
		})
	}
}

// A oneshot or a process that can die, rerun by cinit restart, still
// ends by itself when its run succeeds or ends: once everything has,
// cinit exits 0 as it does without the restart.
func TestControlRestartedOneshotsStillEnd(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "a: until [ -e go-a ]; do sleep 0.05; done\n"+
		"b: until [ -e go-b ]; do sleep 0.05; done\n"+
		"c: until [ -e go-c ]; do sleep 0.05; done; exit 3\n")
	r := startCinit(t, dir, env, "--oneshot", "a,b", "--can-die", "c")
	r.waitAll("cinit", "a started", "b started", "c started")
	ctl(t, dir, env, "restart", "--no-wait", "b", "c").want(t, 0, "b")
	r.waitLine("cinit", "b started")
	r.waitLine("cinit", "c started")
	for _, f := range []string{"go-b", "go-c"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	r.waitAll("cinit", "b exited with code 0", "c exited with code 3")
	os.WriteFile(filepath.Join(dir, "go-a"), nil, 0o644)
	if code, lines := r.wait(); code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, tail(lines))
	}
}

// startGated runs cinit with nothing reading its stdout until the
// returned function is called: cinit's output, and so the end of its
// processes' runs, waits there.
func startGated(t *testing.T, dir string, env []string, args ...string) (*procRun, func()) {
	t.Helper()
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r := newProcRun(t, dir, env, cinitBin, args...)
	r.cmd.Stdout = wr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wr.Close()
	var once sync.Once
	read := func() { once.Do(func() { go r.read(rd) }) }
	t.Cleanup(func() { read(); r.kill() })
	return r, read
}

// pollStatus runs status --json until done says yes (hangLimit at most),
// for a test that cannot read cinit's lines; not reachable yet is no.
func pollStatus(t *testing.T, dir string, env []string, done func(control.Status) bool) control.Status {
	t.Helper()
	deadline := time.Now().Add(hangLimit)
	for {
		var st control.Status
		r := ctl(t, dir, env, "status", "--json")
		if r.code != 7 {
			if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
				t.Fatalf("status --json: %v in %q (stderr %q)", err, r.stdout, r.stderr)
			}
			if done(st) {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never came to pass: %+v (%s)", st, r.stderr)
		}
		time.Sleep(10 * time.Millisecond) // polling: there is no event to wait on from outside
	}
}

// A restart that comes after a process ended by itself, while its last
// lines still wait to be printed, does not hide the end: the exit came
// first and its policy applies, here the teardown with web's code. While
// the lines wait, status shows web exited, without a pid.
func TestControlRestartAfterTheExit(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("lines 20000")+"; exit 3\nother: "+helperLine("block")+"\n")
	r, read := startGated(t, dir, env)
	st := pollStatus(t, dir, env, func(st control.Status) bool { return st.Processes[0].LastExit != nil })
	if p := st.Processes[0]; p.State != "exited" || p.Pid != 0 {
		t.Errorf("web while its lines are printed: %s, pid %d; want exited, no pid", p.State, p.Pid)
	}
	// cinit answers at once (its loop never waits for the output), and
	// web's end cannot have been handled: its lines wait for read.
	ctl(t, dir, env, "restart", "--no-wait", "web").want(t, 0, "web exited")
	read()
	code, lines := r.wait()
	if code != 3 || indexOf(lines, "cinit", "web exited, stopping all processes") < 0 || len(linesOf(lines, "web")) != 20000 {
		t.Fatalf("exit %d with %d lines of web, want 3 after the teardown web's exit began:\n%s", code, len(linesOf(lines, "web")), tail(lines))
	}
}

// The same for a stop: the exit came first, its restart policy applies,
// and the stop then keeps the process stopped instead of restarted.
func TestControlStopAfterTheExit(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("lines 20000")+"; exit 3\nother: "+helperLine("block")+"\n")
	r, read := startGated(t, dir, env, "--restart", "web=always")
	pollStatus(t, dir, env, func(st control.Status) bool { return st.Processes[0].LastExit != nil })
	ctl(t, dir, env, "stop", "--no-wait", "web").want(t, 0, "web exited")
	read()
	r.waitLine("cinit", "web exited with code 3, restarting in 1s")
	ctl(t, dir, env, "status", "web").want(t, 3, "stopped")
	r.signal(syscall.SIGTERM)
	if code, lines := r.wait(); code != 0 || len(linesOf(lines, "web")) != 20000 || lineCount(lines, "cinit", "web started") != 1 {
		t.Fatalf("exit %d, %d lines of web; want 0, web started once and all its lines:\n%s", code, len(linesOf(lines, "web")), tail(lines))
	}
}

// lineCount counts name's lines that contain substr.
func lineCount(lines []string, name, substr string) int {
	n := 0
	for _, l := range linesOf(lines, name) {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// A restart of a process that waits for its dependencies waits for its
// run too, within --timeout: it used to exit 0 at once, nothing started.
// So does one of a stopped process whose dependency is not ready.
func TestControlRestartWaitsForDependencies(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "db: "+helperLine("block")+"\napi: "+helperLine("block")+"\n")
	dbReady := filepath.Join(dir, "db-ready")
	r := startCinit(t, dir, env, "--ready", "db=file:"+dbReady, "--after", "api=db")
	r.waitLine("cinit", "db started")
	ctl(t, dir, env, "restart", "--timeout", "300ms", "api").want(t, 1, "not ready within 300ms")
	ctl(t, dir, env, "stop", "api").want(t, 0, "api stopped")
	ctl(t, dir, env, "restart", "--timeout", "300ms", "api").want(t, 1, "not ready within 300ms")
	r.waitLine("cinit", "restart api requested") // the two above
	r.waitLine("cinit", "restart api requested")
	restart := startCtl(t, dir, env, "restart", "api")
	r.waitLine("cinit", "restart api requested") // this one waits for db now
	os.WriteFile(dbReady, nil, 0o644)
	restart.wait(t).want(t, 0, "api running")
	r.waitLine("cinit", "api started")
	r.signal(syscall.SIGTERM)
	r.wait()
}

// A stop while a restart is stopping the process cancels the restart,
// whose client exits 1 at once, and is a first stop: the grace period
// runs on (here an hour, with SIGTERM ignored), and only a second stop
// kills.
func TestControlStopDuringRestart(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("ignoreterm")+"\n")
	r := startCinit(t, dir, env, "-t", "1h")
	r.waitLine("web", "ready")
	web := runPid(r, "web")
	restart := startCtl(t, dir, env, "restart", "--timeout", "1m", "web")
	r.waitLine("cinit", "restart web requested")
	ctl(t, dir, env, "stop", "--no-wait", "web").want(t, 0, "web")
	restart.wait(t).want(t, 1, "web was stopped before it restarted")
	if !proctest.Alive(web) {
		t.Fatal("the first stop killed web")
	}
	ctl(t, dir, env, "stop", "web").want(t, 0, "web stopped") // the second: SIGKILL
	r.waitLine("cinit", "web was killed by SIGKILL")
	if st := statusOf(t, dir, env, "web"); st.Processes[0].State != "stopped" {
		t.Fatalf("after the stops: %+v", st.Processes[0])
	}
	r.signal(syscall.SIGTERM)
	r.wait()
}

// A readiness check that passes while its process is being stopped does
// not make it ready, and what starts after it does not start. The exec
// check is in flight when the stop comes, and passes during the grace
// period.
func TestControlCheckDuringStop(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("ignoreterm")+"\nworker: "+helperLine("block")+"\n")
	r := startCinit(t, dir, env, "-t", "1h", "--after", "worker=web",
		"--ready", "web=exec:while [ ! -e flag ]; do sleep 0.01; done")
	r.waitLine("web", "ready")
	cinit := r.cmd.Process.Pid
	checks := func() int {
		n := 0
		for _, p := range proctest.All() {
			if p.PPid == cinit && p.Comm == "sh" {
				n++
			}
		}
		return n
	}
	waitUntil(t, "the readiness check to run", func() bool { return checks() > 0 })
	ctl(t, dir, env, "stop", "--no-wait", "web").want(t, 0, "web")
	os.WriteFile(filepath.Join(dir, "flag"), nil, 0o644)
	waitUntil(t, "the check to pass and be reaped", func() bool { return checks() == 0 })
	st := statusOf(t, dir, env)
	if web, worker := st.Processes[0], st.Processes[1]; web.Ready || worker.State != "waiting" {
		t.Fatalf("after the check passed during the stop: web %+v, worker %+v", web, worker)
	}
	ctl(t, dir, env, "stop", "web").want(t, 0, "web stopped")
	r.signal(syscall.SIGTERM)
	_, lines := r.wait()
	if indexOf(lines, "cinit", "web is ready") >= 0 {
		t.Fatalf("web was found ready while it was stopped:\n%s", tail(lines))
	}
}

func TestControlClientGoneMidRestart(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("block")+"\n")
	flag := filepath.Join(dir, "ready")
	r := startCinit(t, dir, env, "--ready", "web=file:"+flag)
	r.waitLine("cinit", "web started")

	restart := startCtl(t, dir, env, "restart", "web")
	r.waitLine("cinit", "restart web requested")
	restart.cmd.Process.Kill()
	restart.cmd.Wait()
	r.waitLine("cinit", "web started with pid")
	os.WriteFile(flag, nil, 0o644)
	r.waitLine("cinit", "web is ready")
	ctl(t, dir, env, "probe").want(t, 0, "ready")
	r.signal(syscall.SIGTERM)
	r.wait()
}

func TestControlKill(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("trapterm")+"\nworker: "+helperLine("block")+"\n")
	r := startCinit(t, dir, env)
	r.waitAll("web", "ready")
	r.waitAll("cinit", "worker started")
	web := runPid(r, "web")
	ctl(t, dir, env, "kill", "-s", "HUP", "web").want(t, 0, "web running (pid "+strconv.Itoa(web)+")")
	r.waitLine("web", "got hangup")
	r.waitLine("cinit", "kill -s HUP web requested by pid")
	ctl(t, dir, env, "kill", "-s", "NOPE", "web").want(t, 2, "NOPE")
	ctl(t, dir, env, "kill", "web", "nope").want(t, 4, "nope")
	ctl(t, dir, env, "kill").want(t, 2, "name a process")
	// A kill that reaches nothing fails and is not logged as done.
	ctl(t, dir, env, "stop", "web").want(t, 0, "web stopped")
	ctl(t, dir, env, "kill", "-s", "USR1", "web").want(t, 1, "no selected process is running")
	// A TERM to a process that is not can-die ends the container as its
	// own exit would.
	ctl(t, dir, env, "kill", "worker").want(t, 0, "worker")
	r.waitLine("cinit", "worker was killed by SIGTERM")
	code, lines := r.wait()
	if code != 143 {
		t.Fatalf("cinit exited %d, want 143 (worker's status)", code)
	}
	if lineCount(lines, "cinit", "kill -s USR1") != 0 {
		t.Errorf("the failed kill was logged as requested:\n%s", tail(lines))
	}
}

func TestControlQuitIsSIGTERM(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("trapterm")+"\n")
	r := startCinit(t, dir, env)
	r.waitLine("web", "ready")
	ctl(t, dir, env, "quit").want(t, 0, "stopping")
	r.waitLine("web", "got terminated")
	code, _ := r.wait()
	if code != 0 {
		t.Fatalf("cinit exited %d, want 0 as after SIGTERM", code)
	}
	if socks := socketFiles(env, "*.sock"); len(socks) != 0 {
		t.Errorf("sockets left after exit: %v", socks)
	}
}

func TestControlDuringTeardown(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("ignoreterm")+"\nworker: "+helperLine("block")+"\n")
	r := startCinit(t, dir, env, "-t", "1h")
	r.waitAll("web", "ready")
	r.waitAll("cinit", "worker started")
	r.signal(syscall.SIGTERM)
	r.waitLine("cinit", "worker was killed by SIGTERM")
	// web ignores TERM and has an hour: the teardown waits for it.
	st := statusOf(t, dir, env)
	if st.Cinit.Phase != "stopping" || st.Processes[0].State != "stopping" {
		t.Fatalf("status during the teardown: %+v", st)
	}
	ctl(t, dir, env, "probe").want(t, 1, "stopping")
	ctl(t, dir, env, "probe", "--live").want(t, 1, "stopping")
	ctl(t, dir, env, "restart", "web").want(t, 1, "stopping")
	ctl(t, dir, env, "stop", "web").want(t, 1, "stopping")
	ctl(t, dir, env, "quit").want(t, 1, "stopping")
	ctl(t, dir, env, "kill", "-s", "KILL", "web").want(t, 0, "web")
	if code, _ := r.wait(); code != 137 {
		t.Fatalf("cinit exited %d, want 137", code)
	}
}

func TestControlStaleSocketReplaced(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("block")+"\n")
	r := startCinit(t, dir, env)
	r.waitLine("cinit", "web started")
	web := runPid(r, "web")
	r.cmd.Process.Kill() // cinit dies without a word
	r.wait()
	syscall.Kill(-web, syscall.SIGKILL)
	ctl(t, dir, env, "status").want(t, 7, "stale socket")
	ctl(t, dir, env, "probe").want(t, 1, "stale socket")

	r2 := startCinit(t, dir, env)
	r2.waitLine("cinit", "web started")
	ctl(t, dir, env, "status").want(t, 0, strconv.Itoa(runPid(r2, "web")))
	r2.signal(syscall.SIGTERM)
	r2.wait()
}

// A --socket or CINIT_SOCKET that names a file of the user's is refused
// before anything starts, and the file is kept.
func TestControlSocketPathIsAFile(t *testing.T) {
	t.Parallel()
	dir := writeProcfile(t, "web: echo started-web\n")
	procfile := filepath.Join(dir, "Procfile")
	for _, c := range []struct {
		env  []string
		args []string
		name string
	}{
		{nil, []string{"--socket", procfile}, "--socket"},
		{[]string{"CINIT_SOCKET=" + procfile}, nil, "CINIT_SOCKET"},
	} {
		code, stdout, stderr := runCinit(t, dir, c.env, c.args...)
		if code != 2 || !strings.Contains(stderr, c.name) || !strings.Contains(stderr, "not a socket") || strings.Contains(strings.Join(stdout, "\n"), "started-web") {
			t.Errorf("%s naming the Procfile: exit %d, stderr %q, stdout %q; want 2 before anything starts", c.name, code, stderr, stdout)
		}
		if b, err := os.ReadFile(procfile); err != nil || string(b) != "web: echo started-web\n" {
			t.Fatalf("the Procfile became %q, %v", b, err)
		}
	}
}

func TestControlSecondCinitSameRoot(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("block")+"\n")
	a := startCinit(t, dir, env)
	a.waitLine("cinit", "web started")
	st := statusOf(t, dir, env)

	b := startCinit(t, dir, env)
	b.waitLine("cinit", "web started")
	if got := statusOf(t, dir, env); got.Cinit.Pid != st.Cinit.Pid {
		t.Errorf("status reaches pid %d, want the first cinit %d", got.Cinit.Pid, st.Cinit.Pid)
	}
	code, _, stderr := runCinit(t, dir, env, "--socket", st.Cinit.Socket)
	if code != 2 || !strings.Contains(stderr, "--socket") {
		t.Errorf("explicit --socket that is taken: exit %d, %q; want 2", code, stderr)
	}
	b.signal(syscall.SIGTERM)
	b.wait()
	if !strings.Contains(b.err.String(), "belongs to the cinit with pid "+strconv.Itoa(st.Cinit.Pid)) {
		t.Errorf("second cinit's stderr %q: want a warning naming pid %d", b.err.String(), st.Cinit.Pid)
	}
	ctl(t, dir, env, "status").want(t, 0, "web")
	a.signal(syscall.SIGTERM)
	a.wait()
}

func TestControlTwoDirectories(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dirA := writeProcfile(t, "web: "+helperLine("block")+"\n")
	dirB := writeProcfile(t, "web: "+helperLine("block")+"\nother: "+helperLine("block")+"\n")
	a := startCinit(t, dirA, env)
	a.waitLine("cinit", "web started")
	b := startCinit(t, dirB, env)
	b.waitAll("cinit", "web started", "other started")
	if st := statusOf(t, dirA, env); len(st.Processes) != 1 || st.Processes[0].Pid != runPid(a, "web") {
		t.Errorf("status in A: %+v", st.Processes)
	}
	if st := statusOf(t, dirB, env); len(st.Processes) != 2 || st.Processes[0].Pid != runPid(b, "web") {
		t.Errorf("status in B: %+v", st.Processes)
	}
	ctl(t, t.TempDir(), env, "status").want(t, 7, "several")
	ctl(t, dirA, env, "stop", "web").want(t, 0, "web stopped")
	ctl(t, dirB, env, "status", "web").want(t, 0, "running")
	a.signal(syscall.SIGTERM)
	a.wait()
	b.signal(syscall.SIGTERM)
	b.wait()
}

func TestControlOtherUserIsRefused(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	setpriv := requireTool(t, "setpriv")
	shared, err := os.MkdirTemp("", "cinit-uid")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(shared)
	os.Chmod(shared, 0o755)
	bin := filepath.Join(shared, "cinit")
	copyFile(t, cinitBin, bin)
	sock := filepath.Join(shared, "s.sock")
	dir := writeProcfile(t, "web: "+helperLine("block")+"\n")
	r := startCinit(t, dir, nil, "--socket", sock)
	r.waitLine("cinit", "web started")

	run := func() ctlResult {
		cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "status", "--socket", sock)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		res := ctlResult{stdout: out.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			res.code = ee.ExitCode()
		}
		return res
	}
	run().want(t, 7, "permission denied") // the file mode stops it
	os.Chmod(sock, 0o666)
	run().want(t, 7, "only uid 0") // the peer check stops it
	ctl(t, dir, nil, "status", "--socket", sock).want(t, 0, "web")
	r.signal(syscall.SIGTERM)
	r.wait()
}

// copyFile copies an executable.
func copyFile(t *testing.T, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

func TestSingleCommandModeOpensNoSocket(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := t.TempDir()
	code, _, _ := runCinit(t, dir, env, "--", "/bin/sh", "-c", "exit 0")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if socks := socketFiles(env, "*"); len(socks) != 0 {
		t.Errorf("single-command mode made %v", socks)
	}
}

func TestControlLogs(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "chatty: "+helperLine("lines 500")+"\nweb: "+helperLine("trapterm")+"\n")
	r := startCinit(t, dir, env, "-c", "chatty")
	r.waitLine("cinit", "chatty exited with code 0")
	r.waitLine("web", "ready")

	res := ctl(t, dir, env, "logs", "-n", "3", "chatty")
	res.want(t, 0, "chatty.1 line 500")
	// The lines of chatty and cinit's messages about it.
	want := "chatty | chatty.1 line 499\nchatty | chatty.1 line 500\ncinit  | chatty exited with code 0\n"
	if res.stdout != want {
		t.Errorf("logs -n 3 chatty:\n%s\nwant:\n%s", res.stdout, want)
	}
	res = ctl(t, dir, env, "logs", "-n", "2", "--json", "chatty")
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("logs --json: %q", res.stdout)
	}
	var last struct{ Name, Stream, Line, Event, Process string }
	if err := json.Unmarshal([]byte(lines[1]), &last); err != nil || last.Event != "exit" || last.Process != "chatty" {
		t.Errorf("logs --json last line %q (%v): want chatty's exit event", lines[1], err)
	}
	if err := json.Unmarshal([]byte(lines[0]), &last); err != nil || last.Name != "chatty" || last.Stream != "stdout" || last.Line != "chatty.1 line 500" {
		t.Errorf("logs --json line %q (%v)", lines[0], err)
	}
	ctl(t, dir, env, "logs", "nope").want(t, 4, "nope")
	// Color and timestamps, off when stdout is no terminal, are asked
	// for as cinit start's are: flags, and CINIT_* variables they beat.
	stamped := regexp.MustCompile(`^[0-9]{2}:[0-9]{2}:[0-9]{2} cinit  \| chatty exited with code 0\n$`)
	for _, tc := range []struct {
		env           []string
		args          []string
		stamps, color bool
	}{
		{[]string{"CINIT_TIMESTAMPS=1"}, nil, true, false},
		{[]string{"CINIT_TIMESTAMPS=1"}, []string{"--no-timestamps"}, false, false},
		{nil, []string{"-T", "--color=always"}, true, true},
		{[]string{"CINIT_COLOR=always"}, nil, false, true},
		{[]string{"CINIT_COLOR=always"}, []string{"--color", "never"}, false, false},
		{[]string{"CINIT_TIMESTAMPS=false"}, []string{"-T"}, true, false},
	} {
		res := ctl(t, dir, append(env, tc.env...), append([]string{"logs", "-n", "1", "chatty"}, tc.args...)...)
		plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(res.stdout, "")
		if res.code != 0 || stamped.MatchString(plain) != tc.stamps || strings.Contains(res.stdout, "\x1b[") != tc.color {
			t.Errorf("logs %q with %q: %q", tc.args, tc.env, res.stdout)
		}
	}
	ctl(t, dir, append(env, "CINIT_COLOR=sometimes"), "logs").want(t, 2, "CINIT_COLOR")
	ctl(t, dir, env, "logs", "-T", "--no-timestamps").want(t, 2, "contradict")

	// A follower gets new lines, then the end of cinit's output.
	follow := ctlCommand(t, dir, env, "logs", "-f", "-n", "1", "web")
	var out lockedBuffer
	follow.Stdout = &out
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "web    | ready\n") // the follower is registered
	ctl(t, dir, env, "kill", "-s", "HUP", "web").want(t, 0, "web")
	r.waitLine("web", "got hangup")
	out.waitFor(t, "got hangup")
	r.signal(syscall.SIGTERM)
	r.wait()
	if err := follow.Wait(); err != nil {
		t.Fatalf("follower: %v", err)
	}
	if got := out.String(); !strings.HasPrefix(got, "web    | ready\n") || !strings.HasSuffix(got, "web exited with code 0\n") || strings.Contains(got, "chatty") || !strings.Contains(got, "cinit  | kill -s HUP web requested by pid") {
		t.Errorf("follower of web got:\n%s\nwant web's lines, ending with its exit", got)
	}
}

// lockedBuffer collects a client's output while the test reads it.
type lockedBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	more chan struct{}
}

// Write appends p.
func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.more == nil {
		l.more = make(chan struct{}, 1)
	}
	select {
	case l.more <- struct{}{}:
	default:
	}
	return l.b.Write(p)
}

// String returns what was written.
func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the output contains substr.
func (l *lockedBuffer) waitFor(t *testing.T, substr string) {
	t.Helper()
	deadline := time.After(hangLimit)
	for !strings.Contains(l.String(), substr) {
		l.mu.Lock()
		if l.more == nil {
			l.more = make(chan struct{}, 1)
		}
		more := l.more
		l.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("no %q after %v in %q", substr, hangLimit, l.String())
		}
	}
}

func TestControlStoppedFollowerDropsAndSlowsNothing(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	const n = 300000 // about 7 MB: more than a follower may fall behind (4 MiB)
	flag := filepath.Join(t.TempDir(), "go")
	dir := writeProcfile(t, "web: "+helperLine("block")+"\nchatty: "+helperLine("lines "+strconv.Itoa(n))+"\n")
	r := startCinit(t, dir, env, "-c", "chatty", "--ready", "web=file:"+flag, "--after", "chatty=web")
	r.waitLine("cinit", "web started")

	// Two followers; both have printed their first line, so both are
	// registered. One is then stopped.
	var followers [2]*exec.Cmd
	var outs [2]lockedBuffer
	for i := range followers {
		followers[i] = ctlCommand(t, dir, env, "logs", "-f", "-n", "1")
		followers[i].Stdout = &outs[i]
		if err := followers[i].Start(); err != nil {
			t.Fatal(err)
		}
		outs[i].waitFor(t, "\n")
	}
	stopped := followers[0]
	stopped.Process.Signal(syscall.SIGSTOP)
	defer stopped.Process.Signal(syscall.SIGCONT)

	os.WriteFile(flag, nil, 0o644) // web is ready: chatty starts
	r.waitLine("cinit", "chatty exited with code 0")
	r.mu.Lock()
	got := len(r.names["chatty"])
	r.mu.Unlock()
	if got != n {
		t.Fatalf("stdout has %d of chatty's %d lines while a follower is stopped", got, n)
	}
	outs[1].waitFor(t, "chatty exited with code 0")

	stopped.Process.Signal(syscall.SIGCONT)
	outs[0].waitFor(t, "lines dropped (reader too slow)")
	outs[0].waitFor(t, "chatty exited with code 0") // caught up
	r.signal(syscall.SIGTERM)
	if code, _ := r.wait(); code != 0 {
		t.Fatalf("cinit exited %d", code)
	}
	for i, f := range followers {
		if err := f.Wait(); err != nil {
			t.Errorf("follower %d: %v", i, err)
		}
		if got := outs[i].String(); !strings.HasSuffix(got, "web was killed by SIGTERM\n") {
			t.Errorf("follower %d ends with %q, want cinit's last line", i, got[max(0, len(got)-200):])
		}
	}
}

func TestControlStatusShowsTerminal(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: "+helperLine("block")+"\nworker: "+helperLine("block")+"\n")
	r := startCinit(t, dir, env, "--tty", "web")
	r.waitAll("cinit", "web started", "worker started")
	st := statusOf(t, dir, env)
	if !st.Processes[0].Policy.TTY || st.Processes[1].Policy.TTY {
		t.Errorf("policies %+v, %+v: want a terminal for web only", st.Processes[0].Policy, st.Processes[1].Policy)
	}
	r.signal(syscall.SIGTERM)
	r.wait()
}

// TestControlAutomaticRestartIsCheckedAgain: after an automatic restart,
// status and probe call a process ready only once its check has passed
// again (it used to be ready at once); what starts after it keeps running.
func TestControlAutomaticRestartIsCheckedAgain(t *testing.T) {
	t.Parallel()
	env := ctlEnv(t)
	dir := writeProcfile(t, "web: echo up; exec sleep 1000\ndep: echo dep up; exec sleep 1000\n")
	flag := filepath.Join(dir, "ready.flag")
	os.WriteFile(flag, nil, 0o644)
	r := startCinit(t, dir, env, "-r", "web=on-failure", "--ready", "web=file:ready.flag", "--after", "dep=web", "--ready-timeout", "1s")
	r.waitLine("cinit", "web is ready")
	r.waitLine("web", "up")
	r.waitLine("dep", "dep up")
	os.Remove(flag)
	ctl(t, dir, env, "kill", "web").want(t, 0, "")
	r.waitLine("cinit", "web was killed by SIGTERM, restarting in 1s")
	r.waitLine("web", "up")
	// Past the ready timeout, which an automatic restart of a process
	// that was ready does not get (it never had): still starting.
	st := pollStatus(t, dir, env, func(st control.Status) bool {
		return st.Cinit.Phase == "stopping" || st.Processes[0].Pid != 0 && st.Processes[0].UptimeS > 1.5
	})
	if p := st.Processes[0]; st.Cinit.Phase == "stopping" || p.State != "starting" || p.Ready {
		t.Errorf("web restarted without its check, or was failed by the ready timeout: %+v", p)
	}
	ctl(t, dir, env, "probe", "web").want(t, 1, "not ready")
	if p := statusOf(t, dir, env, "dep").Processes[0]; p.State != "running" {
		t.Errorf("dep did not keep running: %+v", p)
	}
	os.WriteFile(flag, nil, 0o644)
	r.waitLine("cinit", "web is ready")
	ctl(t, dir, env, "probe", "web").want(t, 0, "")
	r.signal(syscall.SIGTERM)
	r.wait()
}
