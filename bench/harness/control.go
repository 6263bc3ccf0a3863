package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cinit/cinit/control"
)

// controlScenario measures the control plane: `cinit status` and `cinit
// probe` as whole processes against `cinit version` (the same binary's
// start-up), the round trip of a request, and idle RSS with a full logs
// ring. Output throughput with `cinit logs -f` followers is the
// followers scenario (follow.go).
func (c *config) controlScenario() []row {
	var rows []row
	rows = append(rows, c.controlCalls()...)
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
