package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cinit/cinit/control"
)

// controlScenario measures the control plane: `cinit status` and `cinit
// probe` as whole processes against `cinit version` (the same binary's
// start-up), the round trip of a request, output throughput with logs
// followers against the same run without, and idle RSS with a full logs
// ring.
func (c *config) controlScenario() []row {
	var rows []row
	rows = append(rows, c.controlCalls()...)
	rows = append(rows, c.followers()...)
	rows = append(rows, c.ringRSS())
	return rows
}

// hundred starts cinit on 100 sleeping children with its socket at sock
// and returns once every child has started and cinit is ready.
func (c *config) hundred(sock string) (*exec.Cmd, error) {
	var lines []string
	for i := 1; i <= 100; i++ {
		lines = append(lines, fmt.Sprintf("s%d: sleep 1000", i))
	}
	pf := c.procfile("control100", lines...)
	cmd, err := c.startUntil([]string{c.cinit, "-f", pf, "--socket", sock}, filepath.Dir(pf), 100, "started with pid")
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if exec.Command(c.cinit, "probe", "-q", "--socket", sock).Run() == nil {
			return cmd, nil
		}
		if time.Now().After(deadline) {
			stop(cmd)
			return nil, errors.New("cinit never became ready")
		}
	}
}

// startUntil starts argv with stdout on a pipe and returns once n lines
// containing mark have arrived; the rest of stdout is discarded.
func (c *config) startUntil(argv []string, dir string, n int, mark string) (*exec.Cmd, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	var errb bytes.Buffer
	cmd := command(argv, dir, w, &errb)
	if err := cmd.Start(); err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	w.Close()
	seen := make(chan bool, 1)
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		count := 0
		for sc.Scan() {
			if count < n && strings.Contains(sc.Text(), mark) {
				if count++; count == n {
					seen <- true
				}
			}
		}
		if count < n {
			seen <- false
		}
	}()
	select {
	case ok := <-seen:
		if ok {
			return cmd, nil
		}
		cmd.Wait()
		return nil, fmt.Errorf("cinit ended early: %s", lastLine(errb.String()))
	case <-time.After(60 * time.Second):
		stop(cmd)
		return nil, fmt.Errorf("no %d lines with %q within 60 s", n, mark)
	}
}

// controlCalls measures status and probe against version, and the round
// trip of one request.
func (c *config) controlCalls() []row {
	const figure = "cinit status, 100 processes: wall time"
	sock := filepath.Join(c.tmp, "control.sock")
	cmd, err := c.hundred(sock)
	if err != nil {
		return []row{errorRow(figure, "≤ 2× cinit version", err)}
	}
	defer stop(cmd)
	var rows []row
	version := func() (time.Duration, error) { return runTimed([]string{c.cinit, "version"}, c.tmp) }
	for _, cmdName := range []string{"status", "probe"} {
		argv := []string{c.cinit, cmdName, "--socket", sock}
		p := interleave(c.controlReps, func() (time.Duration, error) { return runTimed(argv, c.tmp) }, version)
		fig := fmt.Sprintf("cinit %s, 100 processes: wall time", cmdName)
		if p.err != nil {
			rows = append(rows, errorRow(fig, "≤ 2× cinit version", p.err))
			continue
		}
		ratio := p.timeRatio()
		rows = append(rows, row{
			figure: fig,
			cinit:  ms(medianD(p.a)),
			base:   ms(medianD(p.b)) + " (cinit version)",
			value:  fmt.Sprintf("%.2f×", ratio) + p.spread(true),
			target: "≤ 2× cinit version",
			pass:   ratio <= 2,
		})
	}
	for _, cmdName := range []string{"probe", "status"} {
		rows = append(rows, c.roundTrip(sock, cmdName))
	}
	return rows
}

// roundTrip times request written → reply read on a connection made
// beforehand, controlReps times.
func (c *config) roundTrip(sock, cmdName string) row {
	fig := fmt.Sprintf("round trip of %s (request written → reply read), 100 processes", cmdName)
	var ds []time.Duration
	for i := 0; i <= c.controlReps; i++ {
		cl, err := control.Dial(sock, time.Now().Add(10*time.Second))
		if err != nil {
			return errorRow(fig, "≤ 1 ms median", err)
		}
		t0 := time.Now()
		_, err = cl.Do(&control.Request{Cmd: cmdName})
		d := time.Since(t0)
		cl.Close()
		if err != nil {
			return errorRow(fig, "≤ 1 ms median", err)
		}
		if i > 0 {
			ds = append(ds, d)
		}
	}
	med := medianD(ds)
	slices.Sort(ds)
	r := row{
		figure: fig,
		cinit:  fmt.Sprintf("%.3f ms", float64(med)/1e6),
		base:   "—",
		value:  fmt.Sprintf("median %.3f ms, p90 %.3f ms", float64(med)/1e6, float64(ds[len(ds)*9/10])/1e6),
		target: "≤ 1 ms median",
		pass:   med <= time.Millisecond,
	}
	if cmdName == "status" {
		r.target, r.pass, r.info = "—", true, true
	}
	return r
}

// followers compares output throughput with 4 `cinit logs -f` followers,
// one of them stopped (SIGSTOP), against the same run without followers,
// interleaved. A run is timed from the go-ahead of the writer to its last
// line on cinit's stdout, which the harness reads and counts: every run
// checks that no line was lost.
func (c *config) followers() []row {
	const figure = "short lines with 4 `cinit logs -f` followers, 1 stopped"
	target := "≥ 0.9× without followers, 0 lost"
	n := c.followBytes / shortLine
	gate := filepath.Join(c.tmp, "follow-go")
	w := c.writer("a", n, shortLine)
	pf := c.procfile("follow", "a: until [ -e "+shellQuote(gate)+" ]; do sleep 0.001; done; exec "+w)
	sock := filepath.Join(c.tmp, "follow.sock")
	var lost int64
	run := func(followers int) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			d, got, err := c.followRun(pf, sock, gate, followers, n)
			lost += n - got
			return d, err
		}
	}
	p := interleave(c.followReps, run(4), run(0))
	if p.err != nil {
		return []row{errorRow(figure, target, p.err)}
	}
	ratio := p.speedRatio()
	return []row{{
		figure: figure,
		cinit:  mbps(n*shortLine, medianD(p.a)),
		base:   mbps(n*shortLine, medianD(p.b)) + " (no follower)",
		value:  fmt.Sprintf("%.2f×", ratio) + p.spread(false) + fmt.Sprintf(", %d lines lost", lost),
		target: target,
		pass:   ratio >= 0.9 && lost == 0,
		note:   fmt.Sprintf("%d MiB of 60-byte lines per run, %d pairs; the time runs from the writer's go-ahead to its last line on cinit's stdout", c.followBytes>>20, c.followReps),
	}}
}

// followRun runs the follower scenario once and returns the time from the
// go-ahead to the writer's last line, and how many of its n lines reached
// stdout.
func (c *config) followRun(pf, sock, gate string, followers int, n int64) (time.Duration, int64, error) {
	os.Remove(gate)
	r, w, err := os.Pipe()
	if err != nil {
		return 0, 0, err
	}
	var errb bytes.Buffer
	cmd := command(c.cinitArgv(pf, "--socket", sock), filepath.Dir(pf), w, &errb)
	if err := cmd.Start(); err != nil {
		w.Close()
		r.Close()
		return 0, 0, err
	}
	w.Close()
	started, last := make(chan struct{}), make(chan time.Time, 1)
	var got int64
	go func() {
		defer r.Close()
		br := bufio.NewReaderSize(r, mib)
		for {
			line, err := br.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				last <- time.Time{}
				return
			}
			if bytes.Contains(line, []byte("a started with pid")) {
				close(started)
			}
			if bytes.HasPrefix(line, []byte("a     | a ")) {
				if got++; got == n {
					last <- time.Now()
					io.Copy(io.Discard, br)
					return
				}
			}
		}
	}()
	<-started
	var fs []*exec.Cmd
	defer func() {
		for _, f := range fs {
			f.Process.Signal(syscall.SIGCONT)
			f.Wait()
		}
	}()
	for i := 0; i < followers; i++ {
		f, err := c.follower(sock)
		if err != nil {
			stop(cmd)
			return 0, 0, err
		}
		fs = append(fs, f)
	}
	if len(fs) > 0 {
		fs[0].Process.Signal(syscall.SIGSTOP)
	}
	t0 := time.Now()
	os.WriteFile(gate, nil, 0o644)
	t1 := <-last
	cmd.Wait()
	if t1.IsZero() {
		return 0, got, fmt.Errorf("%d of %d lines, then the end: %s", got, n, lastLine(errb.String()))
	}
	return t1.Sub(t0), got, nil
}

// follower starts `cinit logs -f -n 1` and returns once its first line
// arrived (it is registered); the rest of its output is discarded.
func (c *config) follower(sock string) (*exec.Cmd, error) {
	cmd := exec.Command(c.cinit, "logs", "-f", "-n", "1", "--socket", sock)
	cmd.Env = childEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	br := bufio.NewReader(out)
	if _, err := br.ReadString('\n'); err != nil {
		cmd.Wait()
		return nil, fmt.Errorf("follower: %v", err)
	}
	go io.Copy(io.Discard, br)
	return cmd, nil
}

// ringRSS measures cinit's idle VmRSS once a child has printed more than
// the logs ring keeps (1000 lines, 1 MiB).
func (c *config) ringRSS() row {
	const figure, target = "idle RSS (VmRSS), 1 child, full logs ring", "≤ 6 MiB"
	pf := c.procfile("ringrss", "a: "+c.writer("a", 20000, 200)+"; exec sleep 1000")
	var rss []float64
	for i := 0; i <= c.termReps/3; i++ {
		cmd, err := c.startUntil(c.cinitArgv(pf), filepath.Dir(pf), 20000, "a     | a ")
		if err != nil {
			return errorRow(figure, target, err)
		}
		for _, k := range children(cmd.Process.Pid) {
			waitSleeping(k, 10*time.Second)
		}
		time.Sleep(c.settle)
		v, err := vmRSS(cmd.Process.Pid)
		stop(cmd)
		if err != nil {
			return errorRow(figure, target, err)
		}
		if i > 0 {
			rss = append(rss, v)
		}
	}
	med := medianF(rss)
	return row{
		figure: figure,
		cinit:  fmt.Sprintf("%.2f MiB", med),
		base:   "—",
		value:  fmt.Sprintf("%.2f MiB (%s lines of 200 B printed)", med, strconv.Itoa(20000)),
		target: target,
		pass:   med <= 6,
	}
}
