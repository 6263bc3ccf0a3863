package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cinit/cinit/internal/proctest"
)

// The three things an export relies on: cinit run applies the entry's
// --stop-signal and --instance, and cinit ready runs one readiness check.

func TestRunAppliesStopSignal(t *testing.T) {
	// The program reports every signal and exits 0 on QUIT only: a TERM
	// to cinit must reach it as QUIT.
	dir := writeProcfile(t, "web: "+helperLine("signals SIGQUIT")+"\n")
	r := startCinit(t, dir, nil, "run", "--stop-signal", "web=QUIT", "web")
	r.waitOutput("ready")
	r.signal(syscall.SIGTERM)
	r.waitOutput("got SIGQUIT")
	code, lines := r.wait()
	if code != 0 || strings.Contains(strings.Join(lines, "\n"), "got SIGTERM") {
		t.Fatalf("exit %d, want 0 and no SIGTERM; output:\n%s", code, tail(lines))
	}
}

func TestRunStopSignalDeathIsClean(t *testing.T) {
	// sleep dies of the QUIT cinit sent for the TERM it received: a clean
	// stop (0), as in cinit start. The same death without a configured
	// stop signal keeps tini's 128+N.
	dir := writeProcfile(t, "web: echo ready; exec sleep 1000\n")
	for _, tc := range []struct {
		env  []string
		sig  syscall.Signal
		want int
	}{
		{[]string{"CINIT_STOP_SIGNAL=web=QUIT"}, syscall.SIGTERM, 0},
		{[]string{"CINIT_STOP_SIGNAL=web=USR1"}, syscall.SIGINT, 0},
		{nil, syscall.SIGTERM, 143},
	} {
		r := startCinit(t, dir, tc.env, "run", "web")
		r.waitOutput("ready")
		r.signal(tc.sig)
		if code, lines := r.wait(); code != tc.want {
			t.Errorf("%v, %v: exit %d, want %d; output:\n%s", tc.env, tc.sig, code, tc.want, tail(lines))
		}
	}
}

func TestRunStopSignalOtherDeathCounts(t *testing.T) {
	// Dying of something else than the configured signal is the
	// program's status, as before.
	dir := writeProcfile(t, "web: trap 'exit 7' QUIT; echo ready; while :; do sleep 0.1; done\n")
	r := startCinit(t, dir, []string{"CINIT_STOP_SIGNAL=web=QUIT"}, "run", "web")
	r.waitOutput("ready")
	r.signal(syscall.SIGTERM)
	if code, lines := r.wait(); code != 7 {
		t.Fatalf("exit %d, want 7; output:\n%s", code, tail(lines))
	}
}

func TestRunBadPolicyIsUsageError(t *testing.T) {
	dir := writeProcfile(t, "web: true\n")
	for _, args := range [][]string{
		{"run", "--stop-signal", "web=NOPE", "web"},
		{"run", "--stop-signal", "db=QUIT", "web"},
		{"run", "--instance", "2", "--", "true"},
		{"run", "--instance", "-1", "web"},
	} {
		code, _, stderr := runCinit(t, dir, nil, args...)
		if code != 2 || !strings.Contains(stderr, "--") {
			t.Errorf("%q: exit %d, stderr %q; want 2 naming the flag", args, code, stderr)
		}
	}
}

func TestRunInstanceSetsPortAndPS(t *testing.T) {
	dir := writeProcfile(t, "a: true\nweb: "+helperLine("printenv PORT PS")+"\n")
	for _, tc := range []struct {
		args []string
		env  []string
		want []string
	}{
		{[]string{"run", "web"}, nil, []string{"PORT=5100", "PS=web.1"}},
		{[]string{"run", "--instance", "3", "web"}, nil, []string{"PORT=5102", "PS=web.3"}},
		{[]string{"run", "--instance=2", "-p", "7000", "web"}, nil, []string{"PORT=7101", "PS=web.2"}},
		{[]string{"run", "web"}, []string{"CINIT_INSTANCE=4", "CINIT_PORT=6000"}, []string{"PORT=6103", "PS=web.4"}},
		{[]string{"run", "--instance", "2", "-N", "web"}, []string{"PORT=1"}, []string{"PORT=1", "PS=web.2"}},
	} {
		code, lines, stderr := runCinit(t, dir, tc.env, tc.args...)
		if code != 0 || strings.Join(lines, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q %q: exit %d, %q, stderr %q; want %q", tc.args, tc.env, code, lines, stderr, tc.want)
		}
	}
}

func TestReadyChecks(t *testing.T) {
	dir := writeProcfile(t, "a: true\nweb: true\n")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	open := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	closed := strconv.Itoa(freePort(t))
	os.WriteFile(filepath.Join(dir, "here"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("TOKEN='a b'\n"), 0o644)
	for _, tc := range []struct {
		args []string
		env  []string
		want int
	}{
		{[]string{"tcp:" + open}, nil, 0},
		{[]string{"tcp:127.0.0.1:" + open}, nil, 0},
		{[]string{"tcp:[::1]:" + closed}, nil, 1},
		{[]string{"tcp:[::1:" + open}, nil, 2},
		{[]string{"tcp:" + closed}, nil, 1},
		{[]string{"tcp"}, []string{"PORT=" + open}, 0},
		{[]string{"--for", "web", "-p", strconv.Itoa(mustAtoi(open) - 100), "tcp"}, nil, 0},
		{[]string{"--for", "web", "--instance", "2", "-p", strconv.Itoa(mustAtoi(open) - 101), "tcp"}, nil, 0},
		{[]string{"--for", "web", "-p", strconv.Itoa(mustAtoi(open) - 99), "tcp"}, nil, 1},
		{[]string{"file:" + filepath.Join(dir, "here")}, nil, 0},
		{[]string{"file:" + filepath.Join(dir, "nothere")}, nil, 1},
		{[]string{"--for", "web", "file:here"}, nil, 0},
		{[]string{"exec:exit 0"}, nil, 0},
		{[]string{"exec:exit 3"}, nil, 1},
		{[]string{"--for", "web", `exec:test "$TOKEN $PS $PORT" = "a b web.1 5100"`}, nil, 0},
		{[]string{"--for", "web", "exec:test -f here"}, nil, 0},
		{[]string{"--timeout", "300ms", "exec:sleep 100"}, nil, 1},
		{[]string{"http:http://127.0.0.1:" + closed + "/"}, nil, 1},
		{[]string{"nope:1"}, nil, 2},
		{[]string{"tcp"}, nil, 2},
		{[]string{"--for", "db", "tcp"}, nil, 2},
		{[]string{}, nil, 2},
		{[]string{"tcp:1", "tcp:2"}, nil, 2},
		{[]string{"-e", ".env", "tcp:" + open}, nil, 2},             // ignored without --for: refused
		{[]string{"--oneshot", "web", "tcp:" + open}, nil, 2},       // the same
		{[]string{"tcp:" + open}, []string{"CINIT_ONESHOT=web"}, 0}, // a variable is left alone
	} {
		code, _, stderr := runCinit(t, dir, tc.env, append([]string{"ready"}, tc.args...)...)
		if code != tc.want {
			t.Errorf("ready %q %q: exit %d, want %d; stderr %q", tc.args, tc.env, code, tc.want, stderr)
		}
	}
}

func TestReadyWait(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "mark")
	// --wait polls until the file appears; the helper creates it only
	// after cinit ready has reported that it is waiting (its first
	// attempt failed), so the success is one of the later polls.
	tried := filepath.Join(dir, "tried")
	r := startCinit(t, dir, nil, "ready", "--wait", "exec:test -f "+mark+" || { touch "+tried+"; exit 1; }")
	waitUntil(t, "a first attempt", func() bool { return exists(tried) })
	if err := os.WriteFile(mark, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _ := r.wait(); code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	// A check that never succeeds ends with 1 when --timeout passes; the
	// grace period's CINIT_TIMEOUT is not its timeout.
	code, _, _ := runCinit(t, dir, []string{"CINIT_TIMEOUT=1h"}, "ready", "--wait", "--timeout", "500ms", "file:"+mark+".no")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// A cinit ready stopped by TERM (a caller's timeout) kills its exec check
// and waits for it before it exits 143; the check used to run on, one
// more leftover each time.
func TestReadyStoppedTakesItsCheck(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "check.pid")
	for _, wait := range []bool{false, true} {
		os.Remove(pidFile)
		args := []string{"ready", "exec:echo $$ > " + pidFile + ".new && mv " + pidFile + ".new " + pidFile + " && exec sleep 1000"}
		if wait {
			args = append(args, "--wait")
		}
		r := startCinit(t, dir, nil, args...)
		waitUntil(t, "the check", func() bool { return exists(pidFile) })
		pid := readPid(t, pidFile)
		r.signal(syscall.SIGTERM)
		if code, _ := r.wait(); code != 143 || proctest.Alive(pid) {
			t.Errorf("--wait %v: exit %d, want 143; the check %d alive: %v", wait, code, pid, proctest.Alive(pid))
		}
	}
}
