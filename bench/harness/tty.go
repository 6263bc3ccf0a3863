package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/cinit/cinit/terminal"
)

// ttyShort measures a --tty process writing short lines against the same
// writer on a pipe, both under cinit, interleaved in the same run. A
// pseudo-terminal is slower than a pipe (its buffer is 4 KiB and the
// kernel moves every byte through a line discipline), so the run is an
// eighth of the pipe scenarios' size.
func (c *config) ttyShort() []row {
	n := c.shortBytes / 8 / shortLine
	w := c.writer("a", n, shortLine)
	pf := c.procfile("tty", "a: "+w)
	dir := c.tmp
	p := interleave(c.reps,
		func() (time.Duration, error) { return runTimed(c.cinitArgv(pf, "--tty", "a"), dir) },
		func() (time.Duration, error) { return runTimed(c.cinitArgv(pf), dir) })
	figure, target := "short lines (60 B) on --tty, against a pipe", "≥ 0.5× the pipe"
	if p.err != nil {
		return []row{errorRow(figure, target, p.err)}
	}
	ratio := p.speedRatio()
	r := row{
		figure: figure,
		cinit:  mbps(n*shortLine, medianD(p.a)),
		base:   mbps(n*shortLine, medianD(p.b)),
		value:  fmt.Sprintf("%.2f×", ratio) + p.spread(false),
		target: target,
		pass:   ratio >= 0.5,
	}
	v := c.verify(pf, []string{"--tty", "a"}, map[string]int64{"a": n}, shortLine, false)
	r.note = v.String()
	if floor, err := ptyFloor(w, c.reps); err == nil {
		r.note += fmt.Sprintf("; the kernel's floor, the same writer on a pty read by a bare loop: %s (cinit at %.2f× of it)",
			mbps(n*shortLine, floor), float64(floor)/float64(medianD(p.a)))
	}
	r.pass = r.pass && v.ok()
	return []row{r}
}

// ptyFloor runs the shell command w on a new pty reps times, reading the
// master in a bare loop, and returns the median time: what the kernel's
// pty costs before cinit does anything.
func ptyFloor(w string, reps int) (time.Duration, error) {
	var times []time.Duration
	buf := make([]byte, 64<<10)
	for range reps {
		p, err := terminal.Open(terminal.DefaultSize)
		if err != nil {
			return 0, err
		}
		slave, err := slaveFile(p)
		if err != nil {
			p.Close()
			return 0, err
		}
		cmd := exec.Command("/bin/sh", "-c", w)
		cmd.Env = childEnv()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
		t0 := time.Now()
		err = cmd.Start()
		slave.Close()
		if err != nil {
			p.Close()
			return 0, err
		}
		for {
			if _, err := p.Master.Read(buf); err != nil {
				break
			}
		}
		cmd.Wait()
		times = append(times, time.Since(t0))
		p.Master.Close()
	}
	return medianD(times), nil
}

// slaveFile returns a file of its own for p's slave side and closes p's
// descriptor of it.
func slaveFile(p *terminal.PTY) (*os.File, error) {
	fd, err := syscall.Dup(int(p.Slave()))
	p.CloseSlave()
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "pty slave"), nil
}
