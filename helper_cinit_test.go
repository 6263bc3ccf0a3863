package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hangLimit bounds every wait in these tests: it only stops a hung test,
// it never decides a pass.
const hangLimit = 90 * time.Second

// procRun is one cinit process under test, with its stdout read line by
// line as it comes.
type procRun struct {
	t     *testing.T
	cmd   *exec.Cmd
	more  chan struct{} // a token whenever seen grows or cinit ends
	mu    sync.Mutex
	seen  []string
	names map[string][]string // each name's lines, prefix removed
	next  map[string]int      // per name, the first line waitLine has not looked at
	done  chan struct{}
	code  int
	err   strings.Builder
}

// writeProcfile writes a Procfile into a new directory and returns it.
func writeProcfile(t *testing.T, procfile string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Procfile"), []byte(procfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startCinit runs cinit in dir with args; children find the helper binary
// in $CINIT_TEST_EXE.
func startCinit(t *testing.T, dir string, env []string, args ...string) *procRun {
	t.Helper()
	return startProgram(t, dir, env, cinitBin, args...)
}

// startProgram runs name (cinit, or a program that runs it) in dir.
func startProgram(t *testing.T, dir string, env []string, name string, args ...string) *procRun {
	t.Helper()
	r := newProcRun(t, dir, env, name, args...)
	// A child a failed test leaves behind may hold stderr open.
	r.cmd.WaitDelay = 5 * time.Second
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go r.read(out)
	t.Cleanup(r.kill)
	return r
}

// newProcRun prepares name (cinit, or a program that runs it) in dir,
// its stdout not yet connected.
func newProcRun(t *testing.T, dir string, env []string, name string, args ...string) *procRun {
	r := &procRun{t: t, more: make(chan struct{}, 1), done: make(chan struct{}),
		names: map[string][]string{}, next: map[string]int{}}
	r.cmd = exec.Command(name, args...)
	r.cmd.Dir = dir
	// The race detector sleeps a second at exit unless told not to; that
	// would make every helper child slow to stop.
	r.cmd.Env = append(os.Environ(), "CINIT_TEST_HELPER=1", "CINIT_TEST_EXE="+os.Args[0], "GORACE=atexit_sleep_ms=0")
	r.cmd.Env = append(r.cmd.Env, env...)
	r.cmd.Stderr = &r.err
	return r
}

// read collects stdout lines until EOF, then waits for cinit.
func (r *procRun) read(out interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		r.mu.Lock()
		r.seen = append(r.seen, line)
		if n, text, ok := strings.Cut(line, " | "); ok {
			n = strings.TrimSpace(n)
			r.names[n] = append(r.names[n], text)
		}
		r.mu.Unlock()
		r.poke()
	}
	err := r.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = 128 + int(ws.Signal())
		}
	}
	close(r.done)
	r.poke()
}

// poke wakes waitLine.
func (r *procRun) poke() {
	select {
	case r.more <- struct{}{}:
	default:
	}
}

// waitLine waits for a line of name's (cinit's own lines are "cinit")
// containing substr, after the line of name's that the previous waitLine
// matched.
func (r *procRun) waitLine(name, substr string) {
	r.t.Helper()
	deadline := time.After(hangLimit)
	for {
		if r.scan(name, substr) {
			return
		}
		select {
		case <-r.more:
		case <-deadline:
			r.t.Fatalf("no line with %q after %v; output:\n%s", substr, hangLimit, r.output())
		}
		select {
		case <-r.done:
			if !r.scan(name, substr) {
				r.t.Fatalf("cinit ended without printing %q; output:\n%s\nstderr:\n%s", substr, r.output(), r.err.String())
			}
			return
		default:
		}
	}
}

// waitAll waits until name has printed a line containing each of substrs,
// in any order.
func (r *procRun) waitAll(name string, substrs ...string) {
	r.t.Helper()
	deadline := time.After(hangLimit)
	for !r.hasAll(name, substrs) {
		select {
		case <-r.more:
		case <-r.done:
			if !r.hasAll(name, substrs) {
				r.t.Fatalf("cinit ended without printing all of %q; output:\n%s", substrs, r.output())
			}
			return
		case <-deadline:
			r.t.Fatalf("not all of %q after %v; output:\n%s", substrs, hangLimit, r.output())
		}
	}
}

// hasAll reports whether each of substrs is in one of name's lines.
func (r *procRun) hasAll(name string, substrs []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, sub := range substrs {
		if !slices.ContainsFunc(r.names[name], func(l string) bool { return strings.Contains(l, sub) }) {
			return false
		}
	}
	return true
}

// scan looks for a line of name's with substr among the lines not yet
// scanned.
func (r *procRun) scan(name, substr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := r.names[name]
	for i := r.next[name]; i < len(lines); i++ {
		if strings.Contains(lines[i], substr) {
			r.next[name] = i + 1
			return true
		}
	}
	r.next[name] = len(lines)
	return false
}

// signal sends sig to cinit.
func (r *procRun) signal(sig syscall.Signal) {
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(err)
	}
}

// wait waits for cinit to exit and returns its status and stdout lines.
func (r *procRun) wait() (int, []string) {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(hangLimit):
		r.t.Fatalf("cinit did not exit within %v; output:\n%s", hangLimit, r.output())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.code, append([]string(nil), r.seen...)
}

// output returns the last lines cinit printed, for failure messages.
func (r *procRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return tail(r.seen)
}

// tail joins the last 40 lines.
func tail(lines []string) string {
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// kill ends a cinit that a failed test left running: two stop signals
// make it SIGKILL its children; a SIGKILL of cinit itself is the last
// resort, since that would leave them running.
func (r *procRun) kill() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// runCinit runs cinit to the end.
func runCinit(t *testing.T, dir string, env []string, args ...string) (int, []string, string) {
	t.Helper()
	r := startCinit(t, dir, env, args...)
	code, lines := r.wait()
	return code, lines, r.err.String()
}

// linesOf returns the text of name's lines, prefix removed, in order.
func linesOf(lines []string, name string) []string {
	var out []string
	for _, l := range lines {
		n, text, ok := strings.Cut(l, " | ")
		if ok && strings.TrimSpace(n) == name {
			out = append(out, text)
		}
	}
	return out
}

// indexOf returns the position of name's first line equal to text, or -1.
func indexOf(lines []string, name, text string) int {
	for i, l := range lines {
		n, t, ok := strings.Cut(l, " | ")
		if ok && strings.TrimSpace(n) == name && t == text {
			return i
		}
	}
	return -1
}

// helperLine makes a Procfile command running a helper.
func helperLine(args string) string {
	return `"$CINIT_TEST_EXE" ` + args
}
