package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cinit/cinit/internal/proctest"
)

// Fault injection, end to end with the real binary: hostile children,
// a hostile reader of cinit's stdout, signal storms and malformed
// configuration. After every run, nothing cinit started may be left: each
// helper child records its pid (and start time, since pids are reused)
// under pids/ in the Procfile's directory, and every process cinit starts
// carries a tag in its environment that /proc is searched for once cinit
// has exited.

// faultTagVar is the environment variable that marks every process of one
// test run.
const faultTagVar = "CINIT_FAULT_TAG"

var faultTags atomic.Int64

// faultRun is one cinit under test with its own directory and tag.
type faultRun struct {
	*procRun
	dir, tag string
}

// newFaultDir writes procfile into a new directory with an empty pids/,
// and returns it with a fresh tag.
func newFaultDir(t *testing.T, procfile string) (dir, tag string) {
	t.Helper()
	dir = writeProcfile(t, procfile)
	if err := os.Mkdir(filepath.Join(dir, "pids"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, fmt.Sprintf("%d-%d", os.Getpid(), faultTags.Add(1))
}

// startFault starts cinit on procfile, its stdout read by the harness.
func startFault(t *testing.T, procfile string, env []string, args ...string) *faultRun {
	t.Helper()
	dir, tag := newFaultDir(t, procfile)
	r := startCinit(t, dir, append(env, faultTagVar+"="+tag), args...)
	return &faultRun{procRun: r, dir: dir, tag: tag}
}

// end waits for cinit and checks that it neither panicked nor left
// anything behind.
func (f *faultRun) end() (int, []string) {
	f.t.Helper()
	code, lines := f.wait()
	checkStderr(f.t, f.err.String())
	checkLeftovers(f.t, f.dir, f.tag)
	return code, lines
}

// pid is the pid of cinit.
func (f *faultRun) pid() int { return f.cmd.Process.Pid }

// checkStderr fails t if cinit's stderr shows a crash or a data race.
func checkStderr(t *testing.T, stderr string) {
	t.Helper()
	for _, bad := range []string{"panic", "DATA RACE", "fatal error", "goroutine "} {
		if strings.Contains(stderr, bad) {
			t.Errorf("cinit's stderr has %q:\n%s", bad, stderr)
			return
		}
	}
}

// checkLeftovers fails t if a process that recorded itself under
// dir/pids, or any process whose environment carries tag, is alive.
func checkLeftovers(t *testing.T, dir, tag string) {
	t.Helper()
	for _, pid := range livePids(dir) {
		t.Errorf("process %d (%s) outlived cinit", pid, proctest.Comm(pid))
	}
	for _, pid := range taggedProcs(tag) {
		t.Errorf("process %d (%s) of this run outlived cinit", pid, proctest.Comm(pid))
	}
}

// taggedProcs lists the live processes whose environment holds tag.
func taggedProcs(tag string) []int {
	return slices.DeleteFunc(proctest.WithEnv(faultTagVar+"="+tag), func(pid int) bool { return !proctest.Alive(pid) })
}

// waitUntil polls cond until it holds; the bound only stops a hung test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(hangLimit); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, hangLimit)
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// recordedPids returns the pids recorded under dir/pids.
func recordedPids(dir string) []int {
	files, _ := os.ReadDir(filepath.Join(dir, "pids"))
	var pids []int
	for _, f := range files {
		if pid, err := strconv.Atoi(f.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// livePids returns the pids recorded under dir/pids whose process still
// runs (the same process: pids are reused).
func livePids(dir string) []int {
	var live []int
	for _, pid := range recordedPids(dir) {
		b, _ := os.ReadFile(filepath.Join(dir, "pids", strconv.Itoa(pid)))
		var p int
		var start string
		fmt.Sscan(string(b), &p, &start)
		if proctest.Alive(pid) && start != "" && proctest.StartTime(pid) == start {
			live = append(live, pid)
		}
	}
	return live
}

// plainCinit builds cinit without the race detector, once.
var plainCinit = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(cinitBin), "cinit-plain")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building cinit without -race: %v\n%s", err, out)
	}
	return bin, nil
})

// rawRun is a cinit started by rawCinit.
type rawRun struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer // safe to read after wait
	waited atomic.Bool
}

// rawCinit starts bin in dir with its stdout going to stdout, for the tests
// that need to control the reader.
func rawCinit(t *testing.T, bin, dir, tag string, stdout *os.File, args ...string) *rawRun {
	t.Helper()
	r := &rawRun{cmd: exec.Command(bin, args...)}
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), "CINIT_TEST_HELPER=1", "CINIT_TEST_EXE="+os.Args[0], "GORACE=atexit_sleep_ms=0", faultTagVar+"="+tag)
	r.cmd.Stdout = stdout
	r.cmd.Stderr = &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !r.waited.Load() {
			r.cmd.Process.Kill()
		}
	})
	return r
}

// wait waits for cinit and returns its exit status (128+N for a signal).
func (r *rawRun) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
		r.waited.Store(true)
	case <-time.After(hangLimit):
		t.Fatalf("cinit did not exit within %v", hangLimit)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}
