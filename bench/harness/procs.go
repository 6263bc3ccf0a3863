package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const marker = "cinit-bench-first-line"

// startup: time from launching the command to the first child's line on
// its stdout pipe, against sh -c 'echo ... | cat'.
func (c *config) startup() []row {
	pf := c.procfile("startup", "a: echo "+marker)
	dir := filepath.Dir(pf)
	pipe := func() (time.Duration, error) {
		return firstLine([]string{"/bin/sh", "-c", "echo " + marker + " | cat"}, dir)
	}
	p := interleave(c.startReps,
		func() (time.Duration, error) { return firstLine(c.cinitArgv(pf), dir) },
		pipe)
	const figure, target = "start-up to the first child's line", "≤ 1.5× the pipe"
	if p.err != nil {
		return []row{errorRow(figure, target, p.err)}
	}
	ratio := p.timeRatio()
	rows := []row{{
		figure: figure,
		cinit:  ms(medianD(p.a)),
		base:   ms(medianD(p.b)),
		value:  fmt.Sprintf("%.2f×", ratio) + p.spread(true),
		target: target,
		pass:   ratio <= 1.5,
	}}
	// The floors: a Go program that only starts echo and relays its line
	// (harness relay), and one that subscribes to cinit's signals first,
	// each against the same pipe, interleaved the same way.
	floors := []struct{ figure, flag string }{
		{"start-up floor: a Go program that only starts echo and relays its line", ""},
		{"start-up floor, subscribing to cinit's 12 signals first", "-signals"},
	}
	for _, fl := range floors {
		argv := []string{c.self, "relay", "echo", marker}
		if fl.flag != "" {
			argv = []string{c.self, "relay", fl.flag, "echo", marker}
		}
		f := interleave(c.startReps,
			func() (time.Duration, error) { return firstLine(argv, dir) },
			pipe)
		if f.err != nil {
			rows = append(rows, errorRow(fl.figure, "—", f.err))
			continue
		}
		rows = append(rows, row{
			figure: fl.figure,
			cinit:  ms(medianD(f.a)),
			base:   ms(medianD(f.b)),
			value:  fmt.Sprintf("%.2f×", f.timeRatio()) + f.spread(true),
			target: "—",
			pass:   true,
			info:   true,
		})
	}
	return rows
}

// firstLine starts argv with stdout on a pipe and returns the time until
// the marker arrives; then it drains the pipe and waits for the exit.
func firstLine(argv []string, dir string) (time.Duration, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var errb bytes.Buffer
	cmd := command(argv, dir, w, &errb)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, err
	}
	w.Close()
	var got []byte
	buf := make([]byte, 4096)
	var d time.Duration
	for d == 0 {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if bytes.Contains(got, []byte(marker+"\n")) {
			d = time.Since(t0)
		} else if err != nil {
			cmd.Wait()
			return 0, fmt.Errorf("%s: no line %q: %s", filepath.Base(argv[0]), marker, lastLine(errb.String()))
		}
	}
	for {
		if _, err := r.Read(buf); err != nil {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		return d, fmt.Errorf("%s: %v: %s", filepath.Base(argv[0]), err, lastLine(errb.String()))
	}
	return d, nil
}

// term measures SIGTERM → exit and idle VmRSS with 1 and 100 idle
// children, against the floor: the same number of sleep processes started
// by the harness itself, sent SIGTERM and waited for.
func (c *config) term() []row {
	type result struct {
		lat, floor, goLat []time.Duration
		rss, goRSS        []float64
		err               error
	}
	counts := []int{1, 100}
	res := map[int]*result{}
	pfs := map[int]string{}
	for _, n := range counts {
		res[n] = &result{}
		var lines []string
		for i := 1; i <= n; i++ {
			lines = append(lines, fmt.Sprintf("s%d: sleep 1000", i))
		}
		pfs[n] = c.procfile(fmt.Sprintf("term%d", n), lines...)
	}
	for i := 0; i <= c.termReps; i++ { // run 0 is the warm-up
		for _, n := range counts {
			r := res[n]
			if r.err != nil {
				continue
			}
			lat, rss, err := c.idle([]string{c.cinit, "-f", pfs[n]}, filepath.Dir(pfs[n]), n)
			if err != nil {
				r.err = err
				continue
			}
			goLat, goRSS, err := c.idle([]string{c.self, "supervise", strconv.Itoa(n), "sleep", "1000"}, c.tmp, n)
			if err != nil {
				r.err = err
				continue
			}
			floor, err := floorTerm(n, c.settle)
			if err != nil {
				r.err = err
				continue
			}
			if i > 0 {
				r.lat = append(r.lat, lat)
				r.floor = append(r.floor, floor)
				r.rss = append(r.rss, rss)
				r.goLat = append(r.goLat, goLat)
				r.goRSS = append(r.goRSS, goRSS)
			}
		}
	}
	targets := map[int][2]float64{1: {1.2, 4}, 100: {10, 6}} // ms, MiB
	var rows []row
	for _, n := range counts {
		r := res[n]
		fig := fmt.Sprintf("SIGTERM → exit, %d idle %s", n, plural(n, "child", "children"))
		tgt := fmt.Sprintf("≤ %g ms", targets[n][0])
		if r.err != nil {
			rows = append(rows, errorRow(fig, tgt, r.err))
			continue
		}
		lat := medianD(r.lat)
		rows = append(rows, row{
			figure: fig,
			cinit:  ms(lat),
			base:   ms(medianD(r.floor)) + " (bare sleeps)",
			value:  ms(lat),
			target: tgt,
			pass:   float64(lat)/1e6 <= targets[n][0],
		}, row{
			figure: fig + ", floor: a bare Go init (harness supervise)",
			cinit:  ms(medianD(r.goLat)),
			base:   ms(medianD(r.floor)) + " (bare sleeps)",
			value:  fmt.Sprintf("cinit − floor, median of runs: %s", ms(medianD(diffs(r.lat, r.goLat)))),
			target: "—",
			pass:   true,
			info:   true,
		})
	}
	for _, n := range counts {
		r := res[n]
		fig := fmt.Sprintf("idle RSS (VmRSS), %d %s", n, plural(n, "child", "children"))
		tgt := fmt.Sprintf("≤ %g MiB", targets[n][1])
		if r.err != nil {
			rows = append(rows, errorRow(fig, tgt, r.err))
			continue
		}
		rss := medianF(r.rss)
		rows = append(rows, row{
			figure: fig,
			cinit:  fmt.Sprintf("%.2f MiB", rss),
			base:   fmt.Sprintf("%.2f MiB (bare Go init)", medianF(r.goRSS)),
			value:  fmt.Sprintf("%.2f MiB", rss),
			target: tgt,
			pass:   rss <= targets[n][1],
		})
	}
	return rows
}

// diffs returns a[i]-b[i] for each run i.
func diffs(a, b []time.Duration) []time.Duration {
	d := make([]time.Duration, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// idle starts argv (cinit, or the bare Go init) in dir on n sleeping
// children, waits until every child runs sleep and settle has passed,
// reads its VmRSS (MiB), sends SIGTERM and returns the time until it has
// exited.
func (c *config) idle(argv []string, dir string, n int) (time.Duration, float64, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, 0, err
	}
	var errb bytes.Buffer
	cmd := command(argv, dir, w, &errb)
	if err := cmd.Start(); err != nil {
		w.Close()
		r.Close()
		return 0, 0, err
	}
	w.Close()
	pids := make(chan int, n)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) > 4 && f[len(f)-4] == "started" {
				if pid, err := strconv.Atoi(f[len(f)-1]); err == nil {
					select {
					case pids <- pid:
					default:
					}
				}
			}
		}
	}()
	fail := func(err error) (time.Duration, float64, error) {
		stop(cmd)
		<-drained
		return 0, 0, fmt.Errorf("%v: %s", err, lastLine(errb.String()))
	}
	var started []int
	deadline := time.After(30 * time.Second)
	for len(started) < n {
		select {
		case pid := <-pids:
			started = append(started, pid)
		case <-deadline:
			return fail(fmt.Errorf("only %d of %d children started", len(started), n))
		case <-drained:
			return fail(fmt.Errorf("cinit ended its output after %d of %d children", len(started), n))
		}
	}
	for _, pid := range started {
		if err := waitSleeping(pid, 10*time.Second); err != nil {
			return fail(err)
		}
	}
	time.Sleep(c.settle)
	rss, err := vmRSS(cmd.Process.Pid)
	if err != nil {
		return fail(err)
	}
	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	d := time.Since(t0)
	<-drained
	return d, rss, nil
}

// stop ends a cinit run that went wrong: SIGTERM, then SIGKILL.
func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// waitSleeping waits until pid is sleep(1) or has a sleep(1) child.
func waitSleeping(pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if comm(pid) == "sleep" {
			return nil
		}
		for _, k := range children(pid) {
			if comm(k) == "sleep" {
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("child %d never ran sleep", pid)
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// children lists pid's children, from every thread's children file.
func children(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var kids []int
	for _, t := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for _, f := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(f); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids
}

// state is the one-letter state of pid ('Z' for a zombie), 0 if gone.
func state(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// vmRSS reads VmRSS of pid in MiB.
func vmRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.Atoi(f[1])
			return float64(kb) / 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// floorTerm starts n sleep processes directly, lets them settle, sends
// each SIGTERM and returns the time until all are reaped.
func floorTerm(n int, settle time.Duration) (time.Duration, error) {
	cmds := make([]*exec.Cmd, 0, n)
	defer func() {
		for _, c := range cmds {
			if c.ProcessState == nil {
				c.Process.Kill()
				c.Wait()
			}
		}
	}()
	for i := 0; i < n; i++ {
		cmd := exec.Command("sleep", "1000")
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		cmds = append(cmds, cmd)
	}
	time.Sleep(settle)
	t0 := time.Now()
	for _, c := range cmds {
		c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range cmds {
		c.Wait()
	}
	return time.Since(t0), nil
}

// orphanScenario runs cinit as PID 1 of a new PID namespace; its child
// double-forks short sleepers, which become cinit's children. Every sample
// interval the harness counts cinit's children that are zombies. When
// tini(1) is installed, the same loop runs under tini as PID 1 too, as a
// reference for what a C init that reaps on SIGCHLD achieves on the same
// machine.
func (c *config) orphanScenario() []row {
	figure := fmt.Sprintf("%d double-forked orphans as PID 1", c.orphans)
	target := fmt.Sprintf("0 zombies in any %s sample", c.sample)
	if _, err := exec.LookPath("unshare"); err != nil {
		return []row{errorRow(figure, target, errors.New("unshare not found (util-linux)"))}
	}
	loop := fmt.Sprintf("i=0; while [ $i -lt %d ]; do (sleep %s &); i=$((i+1)); done; echo spawned $i; sleep 1",
		c.orphans, c.orphanNap)
	pf := c.procfile("orphans", "a: "+loop)
	s, err := c.orphanRun([]string{c.cinit, "-f", pf, "-t", "2"}, filepath.Dir(pf))
	if err != nil {
		return []row{errorRow(figure, target, err)}
	}
	base := "—"
	if tini, err := exec.LookPath("tini"); err == nil {
		if t, err := c.orphanRun([]string{tini, "-s", "--", "/bin/sh", "-c", loop}, filepath.Dir(pf)); err == nil {
			base = fmt.Sprintf("tini: max %d, %d of %d samples", t.maxZ, t.withZ, t.samples)
		}
	}
	return []row{{
		figure: figure,
		cinit:  fmt.Sprintf("max %d zombies", s.maxZ),
		base:   base,
		value:  fmt.Sprintf("%d of %d samples with zombies", s.withZ, s.samples),
		target: target,
		pass:   s.maxZ == 0 && s.spawned,
		note: fmt.Sprintf("%d samples over %.1f s, at most %d children of cinit at once, spawn loop finished: %v",
			s.samples, s.dur.Seconds(), s.maxKids, s.spawned),
	}}
}

type zombieStats struct {
	samples, withZ, maxZ, maxKids int
	spawned                       bool
	dur                           time.Duration
}

// orphanRun runs initCmd (cinit or tini, with its arguments) as PID 1 of a
// new PID namespace and samples its zombie children until it exits.
func (c *config) orphanRun(initCmd []string, dir string) (zombieStats, error) {
	var s zombieStats
	r, w, err := os.Pipe()
	if err != nil {
		return s, err
	}
	var errb bytes.Buffer
	argv := append([]string{"unshare", "--pid", "--fork", "--mount-proc"}, initCmd...)
	cmd := command(argv, dir, w, &errb)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		w.Close()
		r.Close()
		return s, err
	}
	w.Close()
	spawned := make(chan bool, 1)
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		ok := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), fmt.Sprintf("spawned %d", c.orphans)) {
				ok = true
			}
		}
		spawned <- ok
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The init is unshare's only child.
	init := 0
	for init == 0 {
		if k := children(cmd.Process.Pid); len(k) > 0 {
			init = k[0]
			break
		}
		select {
		case err := <-exited:
			return s, fmt.Errorf("unshare: %v: %s", err, lastLine(errb.String()))
		case <-time.After(time.Millisecond):
		}
	}
	tick := time.NewTicker(c.sample)
	defer tick.Stop()
	timeout := time.After(5 * time.Minute)
	for {
		select {
		case err := <-exited:
			s.dur = time.Since(t0)
			s.spawned = <-spawned
			if err != nil {
				return s, fmt.Errorf("%s as PID 1: %v: %s", filepath.Base(initCmd[0]), err, lastLine(errb.String()))
			}
			return s, nil
		case <-timeout:
			cmd.Process.Kill()
			return s, errors.New("timed out after 5 minutes")
		case <-tick.C:
			kids := children(init)
			z := 0
			for _, k := range kids {
				if state(k) == 'Z' {
					z++
				}
			}
			s.samples++
			s.maxKids = max(s.maxKids, len(kids))
			s.maxZ = max(s.maxZ, z)
			if z > 0 {
				s.withZ++
			}
		}
	}
}

// binary reports the size of the binary under test and whether it is
// statically linked, according to file(1).
func (c *config) binary() []row {
	const figure, target = "binary", "static, ≤ 4 MiB"
	fi, err := os.Stat(c.cinit)
	if err != nil {
		return []row{errorRow(figure, target, err)}
	}
	out, err := exec.Command("file", "-b", c.cinit).Output()
	if err != nil {
		return []row{errorRow(figure, target, fmt.Errorf("file(1): %v", err))}
	}
	desc := string(out)
	static := strings.Contains(desc, "statically linked") || strings.Contains(desc, "static-pie")
	size := float64(fi.Size()) / mib
	kind := "dynamic"
	if static {
		kind = "static"
	}
	return []row{{
		figure: figure,
		cinit:  fmt.Sprintf("%.2f MiB, %s", size, kind),
		base:   "—",
		value:  fmt.Sprintf("%d B, %s", fi.Size(), kind),
		target: target,
		pass:   static && size <= 4,
	}}
}
