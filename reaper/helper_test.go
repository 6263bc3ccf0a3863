package reaper

// The test binary plays every process these tests need, in the style of
// os/exec's exec_test.go: when helperEnv is set, TestMain runs the helper
// named by the first argument instead of the tests.
//
// Anything that calls wait4(-1) would steal the children of every other
// test in the binary, so each test of a running Reaper starts a helper
// subprocess that builds its own Reaper, starts the case's children, and
// prints what it saw as JSON lines (one event each) for the test to check.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv marks a process as a helper; os.Args[1] names the helper.
const helperEnv = "CINIT_REAPER_TEST_HELPER"

// helperTimeout bounds every wait inside a helper. It only keeps a broken
// reaper from hanging the run; nothing waits for it to pass.
const helperTimeout = 60 * time.Second

// exe is the test binary, which the helpers start again as children.
var exe string

// helpers maps a helper name to its body. A helper that fails prints why on
// stderr and exits 1.
var helpers = map[string]func(args []string){}

func TestMain(m *testing.M) {
	var err error
	if exe, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if os.Getenv(helperEnv) != "" && len(os.Args) > 1 {
		runHelperMain(os.Args[1], os.Args[2:])
	}
	os.Exit(m.Run())
}

// runHelperMain runs one helper and exits.
func runHelperMain(name string, args []string) {
	fn, ok := helpers[name]
	if !ok {
		fail("unknown helper %q", name)
	}
	fn(args)
	os.Exit(0)
}

// fail ends a helper with a message for the test to show.
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "helper %s: %s\n", os.Args[1], fmt.Sprintf(format, args...))
	os.Exit(1)
}

// event is one JSON line printed by a helper.
type event struct {
	Kind   string `json:"kind"`             // "start", "member", "exit", "skip" or a fact
	Name   string `json:"name,omitempty"`   // a started child's role, or text
	Pid    int    `json:"pid,omitempty"`    // the process
	Code   int    `json:"code,omitempty"`   // Exit.Code
	Signal int    `json:"signal,omitempty"` // Exit.Signal
	Last   bool   `json:"last,omitempty"`   // Exit.Last
	Pids   []int  `json:"pids,omitempty"`   // a list fact
	OK     bool   `json:"ok,omitempty"`     // a boolean fact
}

var stdout = json.NewEncoder(os.Stdout)

// emit prints one event.
func emit(e event) {
	if err := stdout.Encode(e); err != nil {
		fail("%v", err)
	}
}

// helperEnviron is the environment of every helper: the marker, and no
// second of sleep before a race-enabled binary exits (the race detector's
// atexit_sleep_ms defaults to 1000).
func helperEnviron() []string {
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	return append(os.Environ(), helperEnv+"=1", "GORACE="+gorace)
}

// self returns a command that runs the helper name with args.
func self(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(exe, append([]string{name}, args...)...)
	cmd.Env = helperEnviron()
	return cmd
}

// sh returns a command that runs script with /bin/sh -c, the way cinit runs
// Procfile entries. EXE in its environment names the test binary.
func sh(script string) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = append(helperEnviron(), "EXE="+exe)
	return cmd
}

// harness runs a Reaper inside a helper and consumes its exits the way the
// package documentation tells a consumer to.
type harness struct {
	r        *Reaper
	pending  map[int]bool   // started or announced, not yet reported
	roles    map[string]int // every announced process by role
	last     bool           // the most recent Exit had Last set
	deadline <-chan time.Time
}

// newHarness creates the Reaper; startHarness also runs it.
func newHarness() *harness {
	r, err := New(true)
	if err != nil {
		fail("%v", err)
	}
	return &harness{r: r, pending: map[int]bool{}, roles: map[string]int{}, deadline: time.After(helperTimeout)}
}

func startHarness() *harness {
	h := newHarness()
	h.run()
	return h
}

// run starts the Reaper's loop for the rest of the helper's life.
func (h *harness) run() {
	go h.r.Run(context.Background())
}

// start starts cmd as the child called name and announces it.
func (h *harness) start(name string, cmd *exec.Cmd) int {
	if err := cmd.Start(); err != nil {
		fail("start %s: %v", name, err)
	}
	h.expect(name, cmd.Process.Pid)
	return cmd.Process.Pid
}

// expect announces a process whose exit the Reaper must report.
func (h *harness) expect(name string, pid int) {
	emit(event{Kind: "start", Name: name, Pid: pid})
	h.pending[pid] = true
	h.roles[name] = pid
}

// member announces a descendant that its own living parent may collect, so
// that its exit may never reach the Reaper.
func (h *harness) member(name string, pid int) {
	emit(event{Kind: "member", Name: name, Pid: pid})
	h.roles[name] = pid
}

// next receives and prints one exit.
func (h *harness) next() Exit {
	select {
	case e, ok := <-h.r.Exits():
		if !ok {
			fail("Exits closed")
		}
		emit(event{Kind: "exit", Pid: e.Pid, Code: e.Code, Signal: int(e.Signal), Last: e.Last})
		delete(h.pending, e.Pid)
		h.last = e.Last
		return e
	case <-h.deadline:
		fail("timed out waiting for an exit; still pending: %v", h.pending)
	}
	panic("unreachable")
}

// waitFor receives exits until pid's.
func (h *harness) waitFor(pid int) Exit {
	for {
		if e := h.next(); e.Pid == pid {
			return e
		}
	}
}

// drain receives exits until the documented rule says no descendant is
// left: every announced process reported, and the latest exit had Last.
func (h *harness) drain() {
	for len(h.pending) > 0 || !h.last {
		h.next()
	}
}

// readPid reads one line of the form "[word ]pid" from r.
func readPid(r *bufio.Reader) (word string, pid int) {
	line, err := r.ReadString('\n')
	if err != nil {
		fail("reading a pid: %v (got %q)", err, line)
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		fail("empty line instead of a pid")
	}
	if pid, err = strconv.Atoi(fields[len(fields)-1]); err != nil {
		fail("bad pid line %q", line)
	}
	if len(fields) > 1 {
		word = fields[0]
	}
	return word, pid
}

// held keeps the write end of every pipe referenced, so that no finalizer
// closes one and lets the children blocked on it go early.
var held []*os.File

// mustPipe returns a pipe or ends the helper.
func mustPipe() (*os.File, *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		fail("%v", err)
	}
	held = append(held, w)
	return r, w
}

// runHelper runs the helper name in a subprocess and returns its events.
// setup may adjust the command before it starts. When the helper reports a
// "skip" event, the test is skipped with its reason.
func runHelper(t *testing.T, name string, setup func(*exec.Cmd), args ...string) []event {
	t.Helper()
	events, err := helperOutput(t, name, setup, args...)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// helperOutput is runHelper returning the error instead of failing.
func helperOutput(t *testing.T, name string, setup func(*exec.Cmd), args ...string) ([]event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*helperTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, append([]string{name}, args...)...)
	cmd.Env = helperEnviron()
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if setup != nil {
		setup(cmd)
	}
	out, err := cmd.Output()
	events := parseEvents(t, out)
	for _, e := range events {
		if e.Kind == "skip" {
			t.Skip(e.Name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("helper %s: %w\nstderr:\n%s\nstdout:\n%s", name, err, stderr.Bytes(), out)
	}
	return events, nil
}

// startError reports whether err came from starting the helper with errno.
func startError(err error, errno syscall.Errno) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && errors.Is(err, errno)
}

// parseEvents decodes the helper's JSON lines.
func parseEvents(t *testing.T, out []byte) []event {
	t.Helper()
	var events []event
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var e event
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("bad helper output: %v\n%s", err, out)
		}
		events = append(events, e)
	}
	return events
}

// run is a helper's output sorted for checking.
type run struct {
	started map[string]int // role → pid, members included
	roles   map[int]string // pid → role
	waited  []int          // the pids that must be reported
	exits   []event        // in the order received, notices included
	facts   map[string]event
}

func newRun(t *testing.T, events []event) *run {
	t.Helper()
	r := &run{started: map[string]int{}, roles: map[int]string{}, facts: map[string]event{}}
	for _, e := range events {
		switch e.Kind {
		case "start", "member":
			r.started[e.Name] = e.Pid
			r.roles[e.Pid] = e.Name
			if e.Kind == "start" {
				r.waited = append(r.waited, e.Pid)
			}
		case "exit":
			r.exits = append(r.exits, e)
		default:
			r.facts[e.Kind] = e
		}
	}
	return r
}

// exitOf returns the single exit reported for pid.
func (r *run) exitOf(t *testing.T, pid int) event {
	t.Helper()
	var found []event
	for _, e := range r.exits {
		if e.Pid == pid {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("pid %d (%s) reported %d times, want once", pid, r.roles[pid], len(found))
	}
	return found[0]
}

// checkEnd checks the contract every run ends with: each pid reported at
// most once, each expected pid reported, and the last value sent has Last.
func (r *run) checkEnd(t *testing.T) {
	t.Helper()
	seen := map[int]bool{}
	for _, e := range r.exits {
		if e.Pid == 0 {
			if !e.Last {
				t.Errorf("notice without Last: %+v", e)
			}
			continue
		}
		if seen[e.Pid] {
			t.Errorf("pid %d reported twice", e.Pid)
		}
		seen[e.Pid] = true
	}
	for _, pid := range r.waited {
		if !seen[pid] {
			t.Errorf("%s (pid %d) never reported", r.roles[pid], pid)
		}
	}
	if len(r.exits) == 0 || !r.exits[len(r.exits)-1].Last {
		t.Errorf("the final exit does not have Last set: %+v", r.exits)
	}
}
