package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/procfile"
)

// Fault injection, end to end with the real binary: hostile children,
// a hostile reader of cinit's stdout, signal storms and malformed
// configuration. After every run, nothing cinit started may be left: each
// helper child records its pid (and start time, since pids are reused)
// under pids/ in the Procfile's directory, and every process cinit starts
// carries a tag in its environment that /proc is searched for once cinit
// has exited.

func init() {
	helpers["fault-flood"] = faultFlood
	helpers["fault-closeout"] = faultCloseOut
	helpers["fault-gc"] = faultGrandchild
	helpers["fault-late"] = faultLate
	helpers["fault-waitfile"] = faultWaitFile
	helpers["fault-forker"] = faultForker
	helpers["fault-deaf"] = faultDeaf
	helpers["fault-sigs"] = faultSigs
	helpers["fault-slowstop"] = faultSlowStop
	helpers["fault-untilusr1"] = faultUntilUSR1
	helpers["fault-garbage"] = faultGarbage
}

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
		t.Errorf("process %d (%s) outlived cinit", pid, procComm(pid))
	}
	for _, pid := range taggedProcs(tag) {
		t.Errorf("process %d (%s) of this run outlived cinit", pid, procComm(pid))
	}
}

// taggedProcs lists the live processes whose environment holds tag.
func taggedProcs(tag string) []int {
	want := []byte(faultTagVar + "=" + tag)
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) && alive(pid) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// procFields returns the fields of /proc/PID/stat after the command name:
// [0] is the state, [1] the parent, [19] the start time.
func procFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

func procStartTime(pid int) string {
	if f := procFields(pid); len(f) > 19 {
		return f[19]
	}
	return ""
}

func procState(pid int) string {
	if f := procFields(pid); len(f) > 0 {
		return f[0]
	}
	return ""
}

func procComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// zombiesOf lists the zombie children of pid.
func zombiesOf(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procFields(child); len(f) > 1 && f[0] == "Z" && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// fdCount returns how many file descriptors pid has open, and their
// targets.
func fdCount(t *testing.T, pid int) (int, []string) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join(dir, e.Name()))
		targets = append(targets, e.Name()+"->"+l)
	}
	return len(ents), targets
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
		if alive(pid) && start != "" && procStartTime(pid) == start {
			live = append(live, pid)
		}
	}
	return live
}

// shellRecord is a Procfile command prefix with which a shell line
// records its pid and start time the way the helpers do.
const shellRecord = `echo $$ $(cut -d' ' -f22 /proc/$$/stat) > pids/$$; `

// The helper children. Each records its pid first.

// recordPid writes this process's pid and start time under pids/.
func recordPid() {
	pid := os.Getpid()
	os.WriteFile(filepath.Join("pids", strconv.Itoa(pid)), fmt.Appendf(nil, "%d %s\n", pid, procStartTime(pid)), 0o644)
}

// floodLine is line i of a flood writer whose PS is ps, without newline.
func floodLine(b []byte, ps string, i int) []byte {
	b = append(b, ps...)
	b = append(b, ' ')
	for d := 1000000; d > 0; d /= 10 {
		b = append(b, byte('0'+i/d%10))
	}
	b = append(b, ' ')
	for j := range 52 {
		b = append(b, byte('a'+(i+j)%26))
	}
	return b
}

// faultFlood writes N numbered lines as fast as it can, creates the file
// done.$PS, and waits to be stopped. It refuses a non-blocking stdout:
// programs that are not written in Go would fail on it with EAGAIN once
// the pipe is full, instead of waiting for cinit.
func faultFlood(args []string) int {
	recordPid()
	if fl, err := unix.FcntlInt(1, unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK != 0 {
		fmt.Println("stdout is non-blocking", err)
		return 3
	}
	n, _ := strconv.Atoi(args[0])
	ps := os.Getenv("PS")
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	var line []byte
	for i := 1; i <= n; i++ {
		line = append(floodLine(line[:0], ps, i), '\n')
		if _, err := w.Write(line); err != nil {
			return 1
		}
	}
	w.Flush()
	os.WriteFile("done."+ps, nil, 0o644)
	select {}
}

// faultCloseOut prints a line, closes its stdout and stderr, creates the
// file "closed" and runs on until SIGTERM, which it survives by exiting 0.
func faultCloseOut(args []string) int {
	recordPid()
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGHUP)
	fmt.Println("before close")
	syscall.Close(1)
	syscall.Close(2)
	os.WriteFile("closed", nil, 0o644)
	for s := range c {
		if s == syscall.SIGTERM {
			return 0
		}
	}
	return 0
}

// faultGrandchild starts a copy of itself in a new session that keeps the
// output pipe, ticks on it, and on SIGTERM prints "gc got TERM" and exits
// ("trap"), or ignores SIGTERM ("deaf"); then it exits at once.
func faultGrandchild(args []string) int {
	mode := args[0]
	if len(args) > 1 {
		return faultGrandchildRun(mode)
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	cmd := exec.Command(os.Args[0], "fault-gc", mode, "child")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return 1
	}
	w.Close()
	r.Read(make([]byte, 1))
	fmt.Println("parent exits")
	return 0
}

func faultGrandchildRun(mode string) int {
	recordPid()
	c := make(chan os.Signal, 1)
	if mode == "deaf" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(c, syscall.SIGTERM)
	}
	ready := os.NewFile(3, "ready")
	ready.Write([]byte{1})
	ready.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	for i := 1; ; i++ {
		select {
		case <-c:
			fmt.Println("gc got TERM")
			return 0
		case <-tick.C:
			fmt.Printf("gc tick %d\n", i)
		}
	}
}

// faultLate creates the file ready.$PS once it traps SIGTERM; on SIGTERM it
// writes N lines "late I", a 3 MiB line of 'y' and "last", and exits 0.
func faultLate(args []string) int {
	recordPid()
	n, _ := strconv.Atoi(args[0])
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	fmt.Println("ready")
	os.WriteFile("ready."+os.Getenv("PS"), nil, 0o644)
	<-c
	w := bufio.NewWriter(os.Stdout)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "late %d\n", i)
	}
	w.WriteString(strings.Repeat("y", 3<<20) + "\nlast\n")
	w.Flush()
	return 0
}

// faultWaitFile waits for the file args[0] and exits with code args[1].
func faultWaitFile(args []string) int {
	recordPid()
	for !exists(args[0]) {
		time.Sleep(5 * time.Millisecond)
	}
	code, _ := strconv.Atoi(args[1])
	return code
}

// faultForker forks N short-lived children (/bin/true), reaps every other
// one itself and leaves the rest as zombies for whoever inherits them,
// prints "forked N" and exits 0.
func faultForker(args []string) int {
	recordPid()
	n, _ := strconv.Atoi(args[0])
	for i := range n {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{})
		if err != nil {
			fmt.Println(err)
			return 1
		}
		if i%2 == 0 {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
	}
	fmt.Printf("forked %d\n", n)
	return 0
}

// faultDeaf ignores every signal a process can ignore and blocks. Left
// alone are SIGKILL and SIGSTOP, which cannot be ignored, the synchronous
// signals of faults (the Go runtime's own), and 32 and 33, which the C
// library reserves.
func faultDeaf(args []string) int {
	recordPid()
	for n := 1; n <= 64; n++ {
		switch syscall.Signal(n) {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP, 32, 33:
			continue
		}
		signal.Ignore(syscall.Signal(n))
	}
	fmt.Println("ready")
	select {}
}

// faultSigs prints "got NAME" the first time it receives each signal of
// the list, and exits 0 on SIGTERM.
func faultSigs(args []string) int {
	recordPid()
	c := make(chan os.Signal, 64)
	signal.Notify(c, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCONT,
		syscall.SIGWINCH, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPIPE, syscall.SIGTERM)
	fmt.Println("ready")
	seen := map[os.Signal]bool{}
	for s := range c {
		if !seen[s] {
			seen[s] = true
			fmt.Println("got", unix.SignalName(s.(syscall.Signal)))
		}
		if s == syscall.SIGTERM {
			return 0
		}
	}
	return 0
}

// faultSlowStop prints "stopping" on SIGTERM, waits for SIGUSR2, prints
// "bye" and exits 0.
func faultSlowStop(args []string) int {
	recordPid()
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	proceed := make(chan os.Signal, 1)
	signal.Notify(proceed, syscall.SIGUSR2)
	fmt.Println("ready")
	<-c
	fmt.Println("stopping")
	<-proceed
	fmt.Println("bye")
	return 0
}

// faultUntilUSR1 prints "run" and exits 1 on SIGUSR1.
func faultUntilUSR1(args []string) int {
	recordPid()
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	fmt.Println("run")
	<-c
	return 1
}

// faultGarbage writes garbageData(seed, true) to stdout, then
// garbageData(seed+1, false) to stderr, in chunks of random sizes.
func faultGarbage(args []string) int {
	recordPid()
	seed, _ := strconv.ParseUint(args[0], 10, 64)
	rng := rand.New(rand.NewPCG(seed, 99))
	for _, out := range []struct {
		f    *os.File
		data []byte
	}{{os.Stdout, garbageData(seed, true)}, {os.Stderr, garbageData(seed+1, false)}} {
		data := out.data
		for len(data) > 0 {
			n := min(len(data), 1+rng.IntN(100000))
			if _, err := out.f.Write(data[:n]); err != nil {
				return 1
			}
			data = data[n:]
		}
	}
	return 0
}

// garbageData is hostile output made from seed: binary bytes, invalid
// UTF-8, control characters, carriage returns in every place, empty lines,
// with big a 20 MiB line (with a character cut by the 1 MiB piece
// boundaries) and a last line without newline.
func garbageData(seed uint64, big bool) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	var b []byte
	for range 300 {
		for n := rng.IntN(300); n > 0; n-- {
			switch k := rng.IntN(10); {
			case k < 4:
				b = append(b, byte(' '+rng.IntN(95)))
			case k < 6:
				b = append(b, byte(0x80+rng.IntN(128)))
			case k < 7:
				c := byte(rng.IntN(32))
				if c == '\n' {
					c = 0
				}
				b = append(b, c)
			case k < 8:
				b = append(b, '\r')
			default:
				b = append(b, []string{"é", "€", "😀", "\x1b[31m", "\xe2\x82", "\xf0\x9f"}[rng.IntN(6)]...)
			}
		}
		b = append(b, []string{"\n", "\r\n", "\r\r\n", "\n\n"}[rng.IntN(4)]...)
	}
	if big {
		line := bytes.Repeat([]byte("0123456789abcdef"), 20<<20/16)
		for i := 4093; i < len(line); i += 4093 {
			line[i] = 0xff
		}
		for p := 1 << 20; p < len(line); p += 1 << 20 {
			copy(line[p-1:], "€") // 3 bytes across the cut
		}
		b = append(append(b, line...), '\n')
	}
	return append(b, "the end\xff\r"...)
}

// garbageLines is how cinit cuts data into output lines (SPEC section 6).
func garbageLines(data []byte) [][]byte {
	lines := bytes.Split(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	var out [][]byte
	for _, l := range lines {
		l = bytes.TrimSuffix(l, []byte("\r"))
		for len(l) > 1<<20 {
			out = append(out, l[:1<<20])
			l = l[1<<20:]
		}
		out = append(out, l)
	}
	return out
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

// The tests.

func TestFaultStalledReaderBoundsMemory(t *testing.T) {
	t.Parallel()
	// The race detector's shadow memory would be most of a race build's
	// RSS and grows with every byte it has seen touched, so the bound is
	// measured on a plain build; the race build runs the same paths in
	// the other tests.
	bin, err := plainCinit()
	if err != nil {
		t.Fatal(err)
	}
	const n, limit = 400000, 64 << 20 // 3 × 25 MB written, 64 MiB allowed
	names := []string{"a", "b", "c"}
	procfile := ""
	for _, name := range names {
		procfile += name + ": " + helperLine(fmt.Sprintf("fault-flood %d", n)) + "\n"
	}
	dir, tag := newFaultDir(t, procfile)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	r := rawCinit(t, bin, dir, tag, pw)
	pw.Close()
	maxRSS := watchRSS(r.cmd.Process.Pid)

	waitUntil(t, "the writers to start", func() bool { return len(recordedPids(dir)) == len(names) })
	time.Sleep(5 * time.Second) // nobody reads: that is the fault
	for _, name := range names {
		if exists(filepath.Join(dir, "done."+name+".1")) {
			t.Errorf("%s wrote all its %d lines while nobody read cinit's stdout", name, n)
		}
	}
	stalled := maxRSS.Load()

	readFlood(t, pr, names, n, func() { r.cmd.Process.Signal(syscall.SIGTERM) })
	if code := r.wait(t); code != 0 {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, r.stderr.String())
	}
	t.Logf("cinit's peak RSS: %d KiB while stalled, %d KiB overall", stalled>>10, maxRSS.Load()>>10)
	if peak := maxRSS.Load(); peak > limit {
		t.Errorf("cinit's RSS reached %d KiB, over %d KiB", peak>>10, limit>>10)
	}
	checkStderr(t, r.stderr.String())
	checkLeftovers(t, dir, tag)
}

// watchRSS samples the VmRSS of pid every 10 ms until it is gone, and
// keeps the largest value, in bytes.
func watchRSS(pid int) *atomic.Int64 {
	var peak atomic.Int64
	go func() {
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil || procState(pid) == "Z" {
				return
			}
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
					if kb<<10 > peak.Load() {
						peak.Store(kb << 10)
					}
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return &peak
}

// readFlood reads cinit's output until EOF and checks that each flood
// writer's n lines arrive whole, in order, exactly once. allIn is called
// once every line has arrived.
func readFlood(t *testing.T, r io.Reader, names []string, n int, allIn func()) {
	t.Helper()
	next := map[string]int{}
	for _, name := range names {
		next[name] = 1
	}
	complete := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var want []byte
	for sc.Scan() {
		name, text, ok := bytes.Cut(sc.Bytes(), []byte(" | "))
		i, isFlood := next[string(bytes.TrimSpace(name))]
		if !ok || !isFlood {
			continue
		}
		if i > n {
			t.Fatalf("%s: line after the last: %q", name, text)
		}
		if want = floodLine(want[:0], string(bytes.TrimSpace(name))+".1", i); !bytes.Equal(text, want) {
			t.Fatalf("%s: line %d is %q, want %q", name, i, text, want)
		}
		if next[string(bytes.TrimSpace(name))] = i + 1; i == n {
			if complete++; complete == len(names) {
				allIn()
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if next[name] != n+1 {
			t.Errorf("%s: %d lines arrived, want %d", name, next[name]-1, n)
		}
	}
}

func TestFaultStdoutClosedEarly(t *testing.T) {
	t.Parallel()
	procfile := "a: " + helperLine("fault-flood 100000000") + "\n" +
		"b: " + helperLine("fault-late 1000") + "\n" +
		"c: " + shellRecord + "echo ready; exec sleep 1000\n"
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			// cinit | head -1
			dir, tag := newFaultDir(t, procfile)
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r := rawCinit(t, cinitBin, dir, tag, pw, "--log-format="+format)
			pw.Close()
			if _, err := bufio.NewReader(pr).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			pr.Close()
			if code := r.wait(t); code != 141 {
				t.Errorf("exit %d, want 141; stderr:\n%s", code, r.stderr.String())
			}
			checkStderr(t, r.stderr.String())
			checkLeftovers(t, dir, tag)
		})
	}
	t.Run("dev-full", func(t *testing.T) {
		t.Parallel()
		// Every write fails with ENOSPC: the same as a closed stdout.
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer full.Close()
		dir, tag := newFaultDir(t, procfile)
		r := rawCinit(t, cinitBin, dir, tag, full)
		if code := r.wait(t); code != 141 {
			t.Errorf("exit %d, want 141; stderr:\n%s", code, r.stderr.String())
		}
		checkStderr(t, r.stderr.String())
		checkLeftovers(t, dir, tag)
	})
}

func TestFaultChildClosesStdout(t *testing.T) {
	t.Parallel()
	f := startFault(t, "a: "+helperLine("fault-closeout")+"\nb: "+helperLine("fault-sigs")+"\n", nil)
	f.waitLine("a", "before close")
	f.waitLine("b", "ready")
	waitUntil(t, "a to close its stdout", func() bool { return exists(filepath.Join(f.dir, "closed")) })
	// cinit has seen the end of a's pipe while a runs on; it still
	// forwards, prints and stops everything.
	f.signal(syscall.SIGHUP)
	f.waitLine("b", "got SIGHUP")
	f.signal(syscall.SIGTERM)
	code, lines := f.end()
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, tail(lines))
	}
	if indexOf(lines, "cinit", "a exited with code 0") < 0 {
		t.Errorf("a's end not reported:\n%s", tail(lines))
	}
}

func TestFaultGrandchildKeepsPipe(t *testing.T) {
	t.Parallel()
	t.Run("stops on TERM", func(t *testing.T) {
		t.Parallel()
		// The grace period is beyond hangLimit: the end of the orphan, not
		// the timeout, must end cinit.
		f := startFault(t, "a: "+helperLine("fault-gc trap")+"\n", nil, "-t", "1h")
		code, lines := f.end()
		i, j := indexOf(lines, "cinit", "a exited with code 0"), indexOf(lines, "a", "gc got TERM")
		if code != 0 || i < 0 || j < i {
			t.Fatalf("exit %d, exit report at %d, orphan's last line at %d:\n%s", code, i, j, tail(lines))
		}
	})
	t.Run("ignores TERM", func(t *testing.T) {
		t.Parallel()
		f := startFault(t, "a: "+helperLine("fault-gc deaf")+"\n", nil, "-t", "1s")
		code, lines := f.end()
		if code != 0 || indexOf(lines, "cinit", "sending SIGKILL to 1 process") < 0 {
			t.Fatalf("exit %d, want 0 after a SIGKILL for the orphan:\n%s", code, tail(lines))
		}
	})
}

func TestFaultWritesAfterTeardownStarted(t *testing.T) {
	t.Parallel()
	const n = 5000
	check := func(t *testing.T, lines []string) {
		t.Helper()
		got := linesOf(lines, "a")
		i := indexOf(lines, "a", "late 1")
		if i < 0 {
			t.Fatalf("no late line:\n%s", tail(lines))
		}
		got = got[len(got)-(n+5):]
		for k := 1; k <= n; k++ {
			if got[k] != fmt.Sprintf("late %d", k) {
				t.Fatalf("line %d after ready is %q", k, got[k])
			}
		}
		for k := n + 1; k <= n+3; k++ {
			if got[k] != strings.Repeat("y", 1<<20) {
				t.Fatalf("piece %d of the 3 MiB line: %d bytes", k-n, len(got[k]))
			}
		}
		last, exit := indexOf(lines, "a", "last"), indexOf(lines, "cinit", "a exited with code 0")
		if got[n+4] != "last" || exit < last {
			t.Errorf("last line %q at %d, exit reported at %d", got[n+4], last, exit)
		}
	}
	t.Run("stop signal", func(t *testing.T) {
		t.Parallel()
		f := startFault(t, "a: "+helperLine(fmt.Sprintf("fault-late %d", n))+"\n", nil)
		f.waitLine("a", "ready")
		f.signal(syscall.SIGTERM)
		code, lines := f.end()
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, tail(lines))
		}
		check(t, lines)
	})
	t.Run("exit", func(t *testing.T) {
		t.Parallel()
		f := startFault(t, "a: "+helperLine(fmt.Sprintf("fault-late %d", n))+"\nb: "+helperLine("fault-waitfile ready.a.1 3")+"\n", nil)
		code, lines := f.end()
		if code != 3 {
			t.Fatalf("exit %d, want 3:\n%s", code, tail(lines))
		}
		check(t, lines)
	})
}

func TestFaultForkerOf2000(t *testing.T) {
	t.Parallel()
	f := startFault(t, "f: "+helperLine("fault-forker 2000")+"\nb: "+helperLine("block")+"\n", nil, "-c", "f")
	f.waitLine("b", "ready")
	f.waitLine("f", "forked 2000")
	f.waitLine("cinit", "f exited with code 0")
	// The 1000 zombies f left are cinit's now; cinit reaps them all.
	waitUntil(t, "cinit to reap every zombie", func() bool { return len(zombiesOf(f.pid())) == 0 })
	f.signal(syscall.SIGTERM)
	if code, lines := f.end(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
}

func TestFaultThousandInstances(t *testing.T) {
	t.Parallel()
	const n = 1000
	f := startFault(t, "a: "+shellRecord+"echo ready; exec sleep 1000\n", nil, "-m", fmt.Sprintf("all=%d", n))
	for i := 1; i <= n; i++ {
		f.waitLine(fmt.Sprintf("a.%d", i), "ready")
	}
	waitUntil(t, "no zombie", func() bool { return len(zombiesOf(f.pid())) == 0 })
	f.signal(syscall.SIGTERM)
	code, lines := f.end()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
	stopped := 0
	for _, l := range linesOf(lines, "cinit") {
		if strings.HasSuffix(l, "was killed by SIGTERM") {
			stopped++
		}
	}
	if stopped != n || len(recordedPids(f.dir)) != n {
		t.Errorf("%d stopped, %d recorded their pid; want %d", stopped, len(recordedPids(f.dir)), n)
	}
}

func TestFaultChildIgnoresEverySignal(t *testing.T) {
	t.Parallel()
	f := startFault(t, "a: "+helperLine("fault-deaf")+"\nb: "+helperLine("fault-sigs")+"\n", nil, "-t", "1s")
	f.waitLine("a", "ready")
	f.waitLine("b", "ready")
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGCONT} {
		f.signal(sig)
		f.waitLine("b", "got "+unix.SignalName(sig)) // forwarded to a as well
	}
	f.signal(syscall.SIGTERM)
	code, lines := f.end()
	if code != 137 {
		t.Fatalf("exit %d, want 137:\n%s", code, tail(lines))
	}
	if indexOf(lines, "cinit", "sending SIGKILL to 1 process") < 0 || indexOf(lines, "cinit", "a was killed by SIGKILL") < 0 {
		t.Errorf("a was not killed after the grace period:\n%s", tail(lines))
	}
}

func TestFaultStopAndContinueChild(t *testing.T) {
	t.Parallel()
	onlyPid := func(t *testing.T, f *faultRun) int {
		t.Helper()
		pids := livePids(f.dir)
		if len(pids) != 1 {
			t.Fatalf("pids %v, want one", pids)
		}
		return pids[0]
	}
	stop := func(t *testing.T, pid int) {
		t.Helper()
		syscall.Kill(pid, syscall.SIGSTOP)
		waitUntil(t, "the child to stop", func() bool { return procState(pid) == "T" })
	}
	t.Run("continued during teardown", func(t *testing.T) {
		t.Parallel()
		f := startFault(t, "a: "+helperLine("fault-slowstop")+"\n", nil, "-t", "1h")
		f.waitLine("a", "ready")
		f.signal(syscall.SIGTERM)
		f.waitLine("a", "stopping")
		pid := onlyPid(t, f)
		stop(t, pid)
		syscall.Kill(pid, syscall.SIGUSR2) // pending until the child runs again
		syscall.Kill(pid, syscall.SIGCONT)
		code, lines := f.end()
		if i, j := indexOf(lines, "a", "bye"), indexOf(lines, "cinit", "a exited with code 0"); code != 0 || i < 0 || j < i {
			t.Fatalf("exit %d, bye at %d, exit at %d:\n%s", code, i, j, tail(lines))
		}
	})
	t.Run("left stopped during teardown", func(t *testing.T) {
		t.Parallel()
		f := startFault(t, "a: "+helperLine("fault-slowstop")+"\n", nil, "-t", "1s")
		f.waitLine("a", "ready")
		f.signal(syscall.SIGTERM)
		f.waitLine("a", "stopping")
		stop(t, onlyPid(t, f))
		code, lines := f.end()
		if code != 137 || indexOf(lines, "cinit", "a was killed by SIGKILL") < 0 {
			t.Fatalf("exit %d, want 137 and a SIGKILL:\n%s", code, tail(lines))
		}
	})
	t.Run("stopped before teardown", func(t *testing.T) {
		t.Parallel()
		// The stop signal is followed by SIGCONT (SPEC section 7).
		f := startFault(t, "a: "+helperLine("fault-sigs")+"\n", nil, "-t", "1h")
		f.waitLine("a", "ready")
		stop(t, onlyPid(t, f))
		f.signal(syscall.SIGTERM)
		code, lines := f.end()
		if code != 0 || indexOf(lines, "a", "got SIGTERM") < 0 {
			t.Fatalf("exit %d, want 0 and the TERM handled:\n%s", code, tail(lines))
		}
	})
}

func TestFaultNoFDLeakAcrossRestarts(t *testing.T) {
	t.Parallel()
	// Backoff waits 1 s, 2 s, 4 s: the fourth run starts 7 s after the
	// first.
	const runs = 4
	f := startFault(t, "a: "+helperLine("fault-untilusr1")+"\n", nil, "-r", "a=always", "-t", "1h")
	var first []string
	var firstN int
	for run := 1; run <= runs; run++ {
		f.waitLine("a", "run")
		n, targets := fdCount(t, f.pid())
		if run == 1 {
			firstN, first = n, targets
		} else if n != firstN {
			t.Errorf("run %d: cinit has %d fds, %d in the first run:\n%v\n%v", run, n, firstN, first, targets)
		}
		if run == runs {
			break
		}
		for _, pid := range livePids(f.dir) {
			syscall.Kill(pid, syscall.SIGUSR1)
		}
		f.waitLine("cinit", "restarting in")
	}
	f.signal(syscall.SIGTERM)
	if code, lines := f.end(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(lines))
	}
}

func TestFaultGarbageOutput(t *testing.T) {
	t.Parallel()
	const seed = 7
	stdout, stderr := garbageData(seed, true), garbageData(seed+1, false)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			dir, tag := newFaultDir(t, "a: "+helperLine(fmt.Sprintf("fault-garbage %d", seed))+"\n")
			out, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			r := rawCinit(t, cinitBin, dir, tag, out, "--log-format="+format)
			out.Close()
			if code := r.wait(t); code != 0 {
				t.Errorf("exit %d; stderr:\n%s", code, r.stderr.String())
			}
			checkStderr(t, r.stderr.String())
			checkLeftovers(t, dir, tag)
			data, err := os.ReadFile(out.Name())
			if err != nil {
				t.Fatal(err)
			}
			if format == "text" {
				// One pipe for both streams: stderr's bytes follow stdout's.
				checkTextGarbage(t, data, garbageLines(append(append([]byte{}, stdout...), stderr...)))
			} else {
				checkJSONGarbage(t, data, map[string][][]byte{"stdout": garbageLines(stdout), "stderr": garbageLines(stderr)})
			}
		})
	}
}

// checkTextGarbage compares a's lines in data with want, byte for byte.
func checkTextGarbage(t *testing.T, data []byte, want [][]byte) {
	t.Helper()
	var got [][]byte
	for _, l := range bytes.SplitAfter(data, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		if l[len(l)-1] != '\n' {
			t.Fatalf("output does not end in a newline: %q", l[max(0, len(l)-80):])
		}
		name, text, ok := bytes.Cut(l[:len(l)-1], []byte(" | "))
		if !ok {
			t.Fatalf("line without prefix: %q", l[:min(len(l), 80)])
		}
		if string(bytes.TrimSpace(name)) == "a" {
			got = append(got, text)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines of a, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("line %d: %q, want %q", i, got[i][:min(len(got[i]), 200)], want[i][:min(len(want[i]), 200)])
		}
	}
}

// checkJSONGarbage checks that every line of data is a JSON object, and
// that a's lines on each stream are want's, with U+FFFD for each byte
// that is not part of valid UTF-8 (SPEC section 6).
func checkJSONGarbage(t *testing.T, data []byte, want map[string][][]byte) {
	t.Helper()
	got := map[string][]string{}
	for i, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var rec struct{ Name, Stream, Line string }
		if err := json.Unmarshal(l, &rec); err != nil { // Unmarshal checks validity first
			t.Fatalf("line %d is not valid JSON: %v: %q", i, err, l[:min(len(l), 200)])
		}
		if rec.Name == "a" {
			got[rec.Stream] = append(got[rec.Stream], rec.Line)
		}
	}
	for stream, lines := range want {
		if len(got[stream]) != len(lines) {
			t.Fatalf("%s: %d lines, want %d", stream, len(got[stream]), len(lines))
		}
		for i, l := range lines {
			if ref := replaceInvalid(l); got[stream][i] != ref {
				t.Fatalf("%s line %d: %q, want %q", stream, i, got[stream][i], ref)
			}
		}
	}
}

// replaceInvalid replaces each byte of b that is not part of a valid UTF-8
// character with U+FFFD.
func replaceInvalid(b []byte) string {
	var s strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			s.WriteRune(utf8.RuneError)
		} else {
			s.Write(b[:size])
		}
		b = b[size:]
	}
	return s.String()
}

// Malformed configuration: every shape is exit 2 before anything starts,
// with messages that name the file and, where one is at fault, the line.

// readCorpus returns the inputs of a one-argument fuzz target's corpus
// directory, by file name.
func readCorpus(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		arg, ok := strings.CutPrefix(lines[len(lines)-1], "[]byte(")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !ok {
			t.Fatalf("%s: not a one-argument corpus file", f.Name())
		}
		v, err := strconv.Unquote(strings.TrimSuffix(arg, ")"))
		if err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		out[f.Name()] = []byte(v)
	}
	return out
}

// malformedProcfiles are Procfiles that must not start: each gives an
// error naming the file, and the line where one is at fault.
var malformedProcfiles = map[string]string{
	"duplicate":          "a: touch started\na: touch started\n",
	"duplicate BOM CRLF": "\ufeffa: touch started\r\nb: touch started\r\na: x\r\n",
	"duplicate in junk":  "garbage\x00\xff\na: touch started\n\n  a: x\na: y\n",
	"only junk":          "this is junk\n  indented: x\nweb :x\nw\xe9b: x\nweb.1: x\n",
	"only empty":         "a:\nb: \t\nc:\r\n",
	"binary":             "\x00\x01\x02\xff\xfe\n\x7f\x1b[31m",
	"empty":              "",
	"only BOM":           "\ufeff",
	"comments":           "# a: touch started\n   # b: x\n\n",
	"long junk":          strings.Repeat("x", 1<<20) + "\n",
	"lone CRs":           "\r\r\r",
}

func TestFaultMalformedProcfile(t *testing.T) {
	t.Parallel()
	inputs := readCorpus(t, filepath.Join("procfile", "testdata", "fuzz", "FuzzParse"))
	for name, s := range malformedProcfiles {
		inputs["table/"+name] = []byte(s)
	}
	errs := 0
	for name, input := range inputs {
		_, warnings, err := procfile.Parse("Procfile", bytes.NewReader(input))
		if err != nil {
			errs++
		} else if strings.HasPrefix(name, "table/") {
			t.Errorf("%s: the parser accepts it", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Procfile"), input, 0o644); err != nil {
				t.Fatal(err)
			}
			if err == nil {
				// Valid: check it, never start random commands.
				code, _, stderr := runCinit(t, dir, nil, "check")
				if want := min(len(warnings), 1); code != want {
					t.Errorf("check: exit %d, want %d; stderr %q", code, want, stderr)
				}
				checkStderr(t, stderr)
				return
			}
			code, lines, stderr := runCinit(t, dir, nil)
			if code != 2 || len(lines) > 0 || exists(filepath.Join(dir, "started")) {
				t.Errorf("exit %d, output %q: want 2 and nothing started", code, lines)
			}
			checkPlaced(t, stderr, "Procfile", strings.Contains(err.Error(), "duplicate"))
		})
	}
	if errs < len(malformedProcfiles) {
		t.Errorf("only %d inputs are errors", errs)
	}
}

// checkPlaced checks that every line of stderr is one of cinit's messages
// about file, naming a line when lined is set or the message is a warning.
func checkPlaced(t *testing.T, stderr, file string, lined bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, "cinit: "+file+":")
		var n int
		numbered := ok && len(rest) > 0 && rest[0] != ' '
		if numbered {
			_, err := fmt.Sscanf(rest, "%d: ", &n)
			numbered = err == nil && n > 0
		}
		last := i == len(lines)-1
		if !ok || ((lined || !last) && !numbered) {
			t.Errorf("stderr line %q does not name %s and a line", l, file)
		}
	}
}

// malformedEnvs are env files that must not start anything.
var malformedEnvs = map[string]string{
	"no equals":          "FOO\n",
	"dash in name":       "A=1\n# x\n\n  FOO-BAR=1\n",
	"unterminated":       "A=1\r\nB=2\r\nC='x\r\nD=4\r\n",
	"junk after quote":   "FOO=\"a\"b\n",
	"empty name":         "A=1\n=2\n",
	"export alone":       "export \nA=1\n",
	"last line no equal": "A=1\nFOO",
	"binary":             "A=1\n\x00\xff=2\n",
	"non-ASCII name":     "A=1\nCAF\xc3\x89=1\n",
	"junk line":          "this is junk\nFOO=bar\n",
}

func TestFaultMalformedEnv(t *testing.T) {
	t.Parallel()
	inputs := readCorpus(t, filepath.Join("procfile", "testdata", "fuzz", "FuzzParseEnv"))
	for name, s := range malformedEnvs {
		inputs["table/"+name] = []byte(s)
	}
	errs := 0
	for name, input := range inputs {
		dir := writeProcfile(t, "a: touch started\n")
		if err := os.WriteFile(filepath.Join(dir, "bad.env"), input, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := procfile.ReadEnv(filepath.Join(dir, "bad.env"))
		if err != nil {
			errs++
		} else if strings.HasPrefix(name, "table/") {
			t.Errorf("%s: the parser accepts it", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err == nil {
				code, _, stderr := runCinit(t, dir, nil, "check", "-e", "bad.env")
				if code != 0 {
					t.Errorf("check: exit %d; stderr %q", code, stderr)
				}
				return
			}
			want := "cinit: " + strings.ReplaceAll(err.Error(), filepath.Join(dir, "bad.env"), "bad.env") + "\n"
			code, lines, stderr := runCinit(t, dir, nil, "-e", "bad.env")
			if code != 2 || len(lines) > 0 || exists(filepath.Join(dir, "started")) {
				t.Errorf("exit %d, output %q: want 2 and nothing started", code, lines)
			}
			if stderr != want {
				t.Errorf("stderr %q, want %q", stderr, want)
			}
			checkPlaced(t, stderr, "bad.env", true)
		})
	}
	if errs < len(malformedEnvs) {
		t.Errorf("only %d inputs are errors", errs)
	}
}
