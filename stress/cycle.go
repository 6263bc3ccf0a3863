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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// grace is cinit's grace period in the cycles: far longer than any child
// takes to stop, so a SIGKILL means a child did not get or act on its
// stop signal.
const grace = "10s"

// cycle is one run of cinit.
type cycle struct {
	// Immutable after newCycle.
	d      *driver
	n      int
	dir    string // pids/, ledger/ and the Procfile
	tag    string
	format string        // "text" or "json"
	end    string        // "SIGTERM", or "exit": the quitter's exit 7
	length time.Duration // how long the cycle runs before its end
	rng    *rand.Rand    // used by run's goroutine only
	cmd    *exec.Cmd
	stderr bytes.Buffer // read after cmd.Wait

	// Owned by the reader goroutine until it is done.
	next     map[string]int    // per ID, the next line number expected
	pieces   map[string][]byte // per stream, a long line being assembled
	lines    int
	bytes    int64
	restarts int
	events   []string // cinit's last messages, for failure reports
	stopped  bool     // cinit announced the teardown
	lateExit bool     // r exited 1 by itself during a teardown a signal started

	// Owned by run's goroutine.
	code           int
	signals, stops int

	mu       sync.Mutex // guards what the sampler and the checks share
	maxFDs   int64
	maxRSS   int64
	failures []string
}

func (d *driver) newCycle(n int, length time.Duration) *cycle {
	c := &cycle{d: d, n: n, length: length, format: "text", end: "SIGTERM",
		rng:  rand.New(rand.NewPCG(d.seed, uint64(n))),
		next: map[string]int{}, pieces: map[string][]byte{}}
	if n%2 == 0 {
		c.format = "json"
	}
	if n%3 == 0 {
		c.end = "exit"
	}
	c.dir = filepath.Join(d.work, strconv.Itoa(n))
	c.tag = fmt.Sprintf("%d-%d", os.Getpid(), n)
	return c
}

// fail records a failure of the cycle; past the hundredth, only counts.
func (c *cycle) fail(format string, a ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch n := len(c.failures); {
	case n < 100:
		c.failures = append(c.failures, fmt.Sprintf(format, a...))
	case n == 100:
		c.failures = append(c.failures, "more failures not recorded")
	}
}

// procfile is the cycle's Procfile; see the package documentation.
func (c *cycle) procfile() string {
	p := `w: "$STRESS_EXE" writer
e: "$STRESS_EXE" writer stderr
r: "$STRESS_EXE" burst
f: "$STRESS_EXE" forker
`
	if c.end == "exit" {
		p += `q: "$STRESS_EXE" quitter` + "\n"
	}
	return p
}

// instances is how many instances the Procfile runs.
func (c *cycle) instances() int {
	if c.end == "exit" {
		return 8
	}
	return 7
}

// run runs the cycle to its end and checks it.
func (c *cycle) run() {
	for _, sub := range []string{"pids", "ledger"} {
		if err := os.MkdirAll(filepath.Join(c.dir, sub), 0o755); err != nil {
			c.fail("%v", err)
			return
		}
	}
	if err := os.WriteFile(filepath.Join(c.dir, "Procfile"), []byte(c.procfile()), 0o644); err != nil {
		c.fail("%v", err)
		return
	}
	out, err := c.start()
	if err != nil {
		c.fail("starting cinit: %v", err)
		return
	}
	read := make(chan struct{})
	go func() { c.read(out); out.Close(); close(read) }()
	halt := make(chan struct{})
	sampled := make(chan struct{})
	go func() { c.sample(halt); close(sampled) }()

	c.waitStarted()
	c.disturb()
	c.finish()
	c.code = c.wait()
	close(halt)
	<-sampled
	<-read
	c.check()
}

// start starts cinit with its stdout on a pipe that the reader reads.
func (c *cycle) start() (*os.File, error) {
	c.cmd = exec.Command(c.d.cinit, "-m", "w=3,f=2", "-r", "r=always", "-c", "r", "-t", grace, "--log-format="+c.format)
	c.cmd.Dir = c.dir
	c.cmd.Env = append(os.Environ(), childEnv+"=1", exeEnv+"="+c.d.self, dirEnv+"="+c.dir, tagEnv+"="+c.tag)
	c.cmd.Stderr = &c.stderr
	// Not StdoutPipe: Wait would close it before the reader is done.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	c.cmd.Stdout = w
	err = c.cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// waitStarted waits until every instance has recorded itself: its signal
// handlers are in place (see recordPid).
func (c *cycle) waitStarted() {
	started := func() bool { _, n := recorded(c.dir); return n >= c.instances() }
	for deadline := time.Now().Add(time.Minute); !started(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.fail("the instances did not start within a minute")
			return
		}
	}
}

// disturb sends cinit bursts of signals and stops and continues children
// until the cycle's time is up.
func (c *cycle) disturb() {
	sigs := []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM,
		syscall.SIGCONT, syscall.SIGWINCH, syscall.SIGTSTP}
	for deadline := time.Now().Add(c.length); time.Now().Before(deadline); {
		time.Sleep(time.Duration(20+c.rng.IntN(200)) * time.Millisecond)
		for range c.rng.IntN(50) {
			c.cmd.Process.Signal(sigs[c.rng.IntN(len(sigs))])
			c.signals++
		}
		if pid, ok := c.randomChild(); ok && c.rng.IntN(4) == 0 {
			syscall.Kill(pid, syscall.SIGSTOP)
			time.Sleep(time.Duration(c.rng.IntN(100)) * time.Millisecond)
			syscall.Kill(pid, syscall.SIGCONT)
			c.stops++
		}
	}
}

// finish ends the cycle. A SIGTERM cycle sometimes leaves a child stopped:
// cinit follows its stop signal with SIGCONT.
func (c *cycle) finish() {
	if c.end == "exit" {
		os.WriteFile(filepath.Join(c.dir, "quit"), nil, 0o644)
		return
	}
	if pid, ok := c.randomChild(); ok && c.rng.IntN(2) == 0 {
		syscall.Kill(pid, syscall.SIGSTOP)
		c.stops++
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
}

// randomChild picks a live process of the cycle.
func (c *cycle) randomChild() (int, bool) {
	pids := livePids(c.dir)
	if len(pids) == 0 {
		return 0, false
	}
	return pids[c.rng.IntN(len(pids))], true
}

// wait waits for cinit, which must end within its grace period and a
// margin, and returns its exit status.
func (c *cycle) wait() int {
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		c.fail("cinit did not exit within a minute of the end; killing it")
		c.cmd.Process.Kill()
		err = <-done
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	} else if err != nil {
		c.fail("waiting for cinit: %v", err)
	}
	return 0
}

// sample watches cinit's file descriptors, memory and zombies until halt
// is closed. A zombie child of cinit still there a second and a half later
// was not reaped (cinit reaps at least once a second).
func (c *cycle) sample(halt <-chan struct{}) {
	pid := c.cmd.Process.Pid
	perInstance := 1
	if c.format == "json" {
		perInstance = 2
	}
	zombies := map[string]time.Time{}
	for {
		select {
		case <-halt:
			return
		case <-time.After(100 * time.Millisecond):
		}
		fds, pipes := openFDs(pid)
		rss := rssOf(pid)
		c.mu.Lock()
		c.maxFDs, c.maxRSS = max(c.maxFDs, int64(fds)), max(c.maxRSS, rss)
		c.mu.Unlock()
		// One pipe (two in JSON) per instance, and the one that
		// syscall.ForkExec opens while it starts a process: more is a
		// leak.
		if limit := c.instances()*perInstance + 1; pipes > limit {
			c.fail("cinit holds %d pipes for %d instances: %s", pipes, c.instances(), fdList(pid))
		}
		if rss > 256<<20 {
			c.fail("cinit's RSS is %d MiB", rss>>20)
		}
		now := time.Now()
		for _, z := range zombiesOf(pid) {
			if first, ok := zombies[z]; !ok {
				zombies[z] = now
			} else if now.Sub(first) > 1500*time.Millisecond {
				c.fail("zombie %s not reaped for %v", z, now.Sub(first).Round(time.Millisecond))
				delete(zombies, z)
			}
		}
	}
}

// read parses cinit's output until EOF.
func (c *cycle) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		c.bytes += int64(len(sc.Bytes())) + 1
		name, stream, text, ok := c.parse(sc.Bytes())
		switch {
		case !ok:
			c.fail("malformed output line %.200q", sc.Bytes())
		case name == "cinit":
			c.event(string(text))
		default:
			c.childLine(name+"/"+stream, text)
		}
	}
	if err := sc.Err(); err != nil {
		c.fail("reading cinit's output: %v", err)
		io.Copy(io.Discard, out)
	}
	for key, p := range c.pieces {
		if len(p) > 0 {
			c.fail("%s: a long line ended after %d bytes", key, len(p))
		}
	}
}

// parse splits an output line into its name, stream and text.
func (c *cycle) parse(l []byte) (name, stream string, text []byte, ok bool) {
	if c.format == "text" {
		n, t, ok := bytes.Cut(l, []byte(" | "))
		return string(bytes.TrimSpace(n)), "out", t, ok
	}
	var rec struct{ Name, Stream, Line string }
	if err := json.Unmarshal(l, &rec); err != nil || rec.Name == "" {
		return "", "", nil, false
	}
	return rec.Name, rec.Stream, []byte(rec.Line), true
}

// event checks one of cinit's own messages.
func (c *cycle) event(text string) {
	if c.events = append(c.events, text); len(c.events) > 30 {
		c.events = c.events[1:]
	}
	switch {
	case strings.Contains(text, "received, stopping all processes") || strings.Contains(text, "exited, stopping all processes"):
		c.stopped = true
	case strings.Contains(text, "restarting in"):
		c.restarts++
	case text == "r exited with code 1" && c.stopped && c.end == "SIGTERM":
		c.lateExit = true
	case strings.Contains(text, "SIGKILL") || strings.Contains(text, "pipe is still open") ||
		strings.Contains(text, "could not start"):
		c.fail("cinit: %s", text)
	}
}

// childLine checks one output line of a child, key naming its stream. A
// piece of exactly 1 MiB is the start of a longer line (the writers never
// write a line whose length is a multiple of 1 MiB).
func (c *cycle) childLine(key string, text []byte) {
	if p := c.pieces[key]; len(p) > 0 || len(text) == 1<<20 {
		p = append(p, text...)
		if len(text) == 1<<20 {
			c.pieces[key] = p
			return
		}
		text, c.pieces[key] = p, p[:0]
	}
	c.lines++
	if err := c.checkLine(text); err != nil {
		c.fail("%s: %v: %.120q", key, err, text)
	}
}

// checkLine checks that text is the next line of its writer, whole.
func (c *cycle) checkLine(text []byte) error {
	f := bytes.SplitN(text, []byte(" "), 5)
	if len(f) != 5 || string(f[0]) != "S" {
		return errors.New("not a numbered line")
	}
	id := string(f[1])
	seq, err1 := strconv.Atoi(string(f[2]))
	n, err2 := strconv.Atoi(string(f[3]))
	if err1 != nil || err2 != nil {
		return errors.New("bad header")
	}
	if want := c.next[id] + 1; seq != want {
		c.next[id] = max(c.next[id], seq) // report each gap once
		if seq > want {
			return fmt.Errorf("lines %d to %d of %s are missing", want, seq-1, id)
		}
		return fmt.Errorf("line %d of %s again, after line %d", seq, id, want-1)
	}
	c.next[id] = seq
	if !bytes.Equal(f[4], appendPayload(nil, seq, n)) {
		return fmt.Errorf("payload of %d bytes is not the %d written", len(f[4]), n)
	}
	return nil
}

// check runs the checks of a cycle that has ended.
func (c *cycle) check() {
	want := 0
	switch {
	case c.end == "exit":
		want = 7
	case c.lateExit:
		want = 1 // r's own exit during the teardown is not a clean stop
	}
	if c.code != want {
		c.fail("cinit exited %d, want %d; its last messages:\n\t%s", c.code, want, strings.Join(c.events, "\n\t"))
	}
	for _, bad := range []string{"panic", "DATA RACE", "fatal error"} {
		if strings.Contains(c.stderr.String(), bad) {
			c.fail("cinit's stderr: %s", c.stderr.String())
			break
		}
	}
	c.checkLedger()
	for _, pid := range livePids(c.dir) {
		c.fail("process %d outlived cinit", pid)
	}
	for _, pid := range tagged(c.tag) {
		c.fail("process %d of this cycle outlived cinit", pid)
	}
}

// checkLedger compares the lines seen with what each process says it
// wrote.
func (c *cycle) checkLedger() {
	files, err := os.ReadDir(filepath.Join(c.dir, "ledger"))
	if err != nil {
		c.fail("%v", err)
		return
	}
	written := map[string]int{}
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(c.dir, "ledger", f.Name()))
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			c.fail("ledger %s: %q", f.Name(), b)
		}
		written[f.Name()] = n
	}
	for id, n := range written {
		if c.next[id] != n {
			c.fail("%s wrote %d lines, %d were printed", id, n, c.next[id])
		}
	}
	for id, n := range c.next {
		if _, ok := written[id]; !ok {
			c.fail("%s printed %d lines and left no ledger: it did not end cleanly", id, n)
		}
	}
}
