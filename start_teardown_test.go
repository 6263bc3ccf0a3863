package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cinit/cinit/internal/proctest"
)

// readPid reads a pid written by a child into file.
func readPid(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestOrphanThatLeftItsGroupIsStopped(t *testing.T) {
	dir := t.TempDir()
	stopped := filepath.Join(dir, "stopped")
	os.WriteFile(filepath.Join(dir, "Procfile"), []byte("a: "+helperLine("daemon "+stopped)+"\n"), 0o644)
	// A bystander outside cinit's tree must never be touched.
	bystander := exec.Command("sleep", "1000")
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	defer bystander.Process.Kill()

	code, lines, _ := runCinit(t, dir, nil, "-t", "1h")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
	// The daemon's TERM trap ran (it got the grace period) before cinit
	// exited, and nothing of it is left.
	if b, err := os.ReadFile(stopped); err != nil || string(b) != "stopped\n" {
		t.Fatalf("daemon did not get SIGTERM: %v", err)
	}
	var pid int
	for _, l := range linesOf(lines, "a") {
		fmt.Sscanf(l, "daemon pid %d", &pid)
	}
	if pid == 0 || proctest.Alive(pid) {
		t.Errorf("daemon pid %d still alive after cinit exited", pid)
	}
	if !proctest.Alive(bystander.Process.Pid) {
		t.Errorf("the bystander was killed")
	}
}

func TestGrandchildInGroupStopped(t *testing.T) {
	// The shell waits for a background grandchild; TERM to the group
	// reaches both.
	dir := writeProcfile(t, "a: sleep 1000 & echo $! > gc.pid; echo ready; wait\n")
	r := startCinit(t, dir, nil, "-t", "1h")
	r.waitLine("a", "ready")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
	if pid := readPid(t, filepath.Join(dir, "gc.pid")); proctest.Alive(pid) {
		t.Errorf("grandchild %d survived", pid)
	}
}

// A group member that ignores the stop signal and outlives its leader is
// killed with its batch when the grace period ends, not after a second
// one: a's member and b, which ignores TERM, get SIGKILL together.
func TestGroupMemberKilledWithItsBatch(t *testing.T) {
	dir := writeProcfile(t, "a: (trap '' TERM; exec sleep 1000) & echo $! > gc.pid; trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done\n"+
		"b: "+helperLine("ignoreterm")+"\n")
	r := startCinit(t, dir, nil, "-t", "1s")
	r.waitAll("a", "ready")
	r.waitAll("b", "ready")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	kills := linesOf(lines, "cinit")
	kills = slices.DeleteFunc(kills, func(l string) bool { return !strings.HasPrefix(l, "sending SIGKILL") })
	if code != 137 || !slices.Equal(kills, []string{"sending SIGKILL to 2 processes"}) {
		t.Fatalf("exit %d, kills %q; want 137 and one SIGKILL for a's member and b:\n%s", code, kills, tail(lines))
	}
	if pid := readPid(t, filepath.Join(dir, "gc.pid")); proctest.Alive(pid) {
		t.Errorf("a's member %d survived", pid)
	}
}

func TestOrphanOfATeardownGetsWhatIsLeftOfTheGrace(t *testing.T) {
	// a answers TERM, a second into the teardown (long after the scan for
	// orphans that the teardown starts with), by leaving a daemon of its
	// own session that ignores TERM, and does not stop itself. The grace
	// period runs out for both at the same time: the daemon gets no second
	// one from the sweep that follows a's end, so the whole stop takes one
	// grace period, not two. The bound sits between the two.
	const grace = 4 * time.Second
	dir := writeProcfile(t, "a: trap 'sleep 1; setsid sh -c \"trap \\\"\\\" TERM; echo \\$\\$ > orphan.pid; exec sleep 1000\" &' TERM; echo ready; while :; do sleep 0.1; done\n")
	r := startCinit(t, dir, nil, "-t", grace.String())
	r.waitLine("a", "ready")
	begin := time.Now()
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	took := time.Since(begin)
	kills := linesOf(lines, "cinit")
	kills = slices.DeleteFunc(kills, func(l string) bool { return !strings.HasPrefix(l, "sending SIGKILL") })
	if code != 137 || len(kills) != 2 {
		t.Fatalf("exit %d, kills %q; want 137 and SIGKILL for a, then for its daemon:\n%s", code, kills, tail(lines))
	}
	if took >= grace+grace/2 {
		t.Errorf("the stop took %v with -t %v: the daemon got a grace period of its own", took, grace)
	}
	if pid := readPid(t, filepath.Join(dir, "orphan.pid")); proctest.Alive(pid) {
		t.Errorf("a's daemon %d survived", pid)
	}
}

func TestGrandchildHoldingPipeDoesNotDelayExit(t *testing.T) {
	// The shell exits at once; its background sleep keeps the pipe open.
	// The exit must be reported (and the teardown run) without waiting for
	// the pipe's end; the teardown then stops the sleep.
	dir := writeProcfile(t, "a: sleep 1000 & echo $! > gc.pid; echo started\n")
	code, lines, _ := runCinit(t, dir, nil, "-t", "1h")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
	i, j := indexOf(lines, "a", "started"), indexOf(lines, "cinit", "a exited with code 0")
	if i < 0 || j < i {
		t.Errorf("line or exit missing or out of order:\n%s", tail(lines))
	}
	if pid := readPid(t, filepath.Join(dir, "gc.pid")); proctest.Alive(pid) {
		t.Errorf("grandchild %d survived", pid)
	}
}

func TestCommandNotFoundAndNotExecutable(t *testing.T) {
	dir := writeProcfile(t, "a: no-such-command-for-cinit\n")
	code, lines, _ := runCinit(t, dir, nil)
	if code != 127 || !strings.Contains(strings.Join(linesOf(lines, "a"), "\n"), "not found") {
		t.Errorf("exit %d, want 127 and the shell's message:\n%s", code, tail(lines))
	}
	dir = writeProcfile(t, "a: ./script\n")
	os.WriteFile(filepath.Join(dir, "script"), []byte("#!/bin/sh\necho hi\n"), 0o644)
	code, lines, _ = runCinit(t, dir, nil)
	if code != 126 {
		t.Errorf("exit %d, want 126:\n%s", code, tail(lines))
	}
}

func TestHundredProcessesStartAndStop(t *testing.T) {
	const n = 100
	dir := writeProcfile(t, "a: echo ready; exec sleep 1000\nb: "+helperLine("trapterm")+"\n")
	r := startCinit(t, dir, nil, "-m", fmt.Sprintf("a=%d", n-1))
	for i := 1; i < n; i++ {
		r.waitLine(fmt.Sprintf("a.%d", i), "ready")
	}
	r.waitLine("b", "ready")
	r.signal(syscall.SIGTERM)
	code, lines := r.wait()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
	stopped := 0
	for _, l := range linesOf(lines, "cinit") {
		if strings.HasSuffix(l, "was killed by SIGTERM") || strings.HasSuffix(l, "exited with code 0") {
			stopped++
		}
	}
	if stopped != n {
		t.Errorf("%d processes reported stopped, want %d", stopped, n)
	}
}

func TestJSONOutput(t *testing.T) {
	dir := writeProcfile(t, "a: echo out; echo err >&2; printf 'bad\\377utf8\\n'\n")
	code, lines, _ := runCinit(t, dir, nil, "--log-format=json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
	type record struct {
		Time, Name, Stream, Line, Event, Process string
		Code                                     *int
	}
	var got []record
	for _, l := range lines {
		var r record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		if r.Time == "" {
			t.Errorf("no time in %q", l)
		}
		got = append(got, r)
	}
	want := map[string]string{"out": "stdout", "err": "stderr", "bad\uFFFDutf8": "stdout"}
	for _, r := range got {
		if s, ok := want[r.Line]; ok && r.Name == "a" && r.Stream == s {
			delete(want, r.Line)
		}
	}
	if len(want) > 0 {
		t.Errorf("lines missing: %v in %q", want, lines)
	}
	last := got[len(got)-1]
	if last.Name != "cinit" || last.Event == "" {
		t.Errorf("last record %+v is not a cinit event", last)
	}
	exit := false
	for _, r := range got {
		exit = exit || (r.Event == "exit" && r.Process == "a" && r.Code != nil && *r.Code == 0)
	}
	if !exit {
		t.Errorf("no exit event for a in %q", lines)
	}
}

func TestClosedStdoutStopsEverything(t *testing.T) {
	// `cinit | head -1`: once nobody reads, cinit stops everything as for
	// TERM and exits 141, leaving no child behind.
	dir := writeProcfile(t, "a: echo $$ > a.pid; exec yes\nb: echo $$ > b.pid; exec sleep 1000\n")
	if code := closeStdoutAfterOneLine(t, dir, cinitBin); code != 141 {
		t.Fatalf("cinit exited %d, want 141", code)
	}
	for _, f := range []string{"a.pid", "b.pid"} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); len(b) == 0 {
			continue // stopped before it wrote its pid
		}
		if pid := readPid(t, filepath.Join(dir, f)); proctest.Alive(pid) {
			t.Errorf("%s: process %d left running", f, pid)
		}
	}
}

// closeStdoutAfterOneLine runs argv in dir, reads one line of its stdout,
// closes the pipe and returns the exit status.
func closeStdoutAfterOneLine(t *testing.T, dir string, argv ...string) int {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
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
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode()
}
