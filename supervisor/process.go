package supervisor

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/cinit/cinit/output"
	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/reaper"
	"github.com/cinit/cinit/signals"
)

// start runs one instance (color is its place in the palette): /bin/sh -c in its own process group, stdin from
// /dev/null, stdout and stderr into one pipe (two when cfg.Split), and
// records it in the table before the loop next reads an exit.
func (s *supervisor) start(in procfile.Instance, color int) error {
	reads, writes, err := s.openPipes()
	if err != nil {
		return err
	}
	pid, err := syscall.ForkExec("/bin/sh", []string{"/bin/sh", "-c", shellLine(in.Command)}, &syscall.ProcAttr{
		Dir:   s.cfg.Dir,
		Env:   s.environ(in),
		Files: []uintptr{s.devnull.Fd(), writes[0].Fd(), writes[len(writes)-1].Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	for _, w := range writes {
		w.Close()
	}
	if err != nil {
		for _, r := range reads {
			r.Close()
		}
		return err
	}
	s.track(in, color, pid, reads)
	return nil
}

// openPipes makes one pipe, or one per stream when output is split.
func (s *supervisor) openPipes() (reads, writes []*os.File, err error) {
	n := 1
	if s.cfg.Split {
		n = 2
	}
	for range n {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(reads)
			closeAll(writes)
			return nil, nil, err
		}
		reads, writes = append(reads, r), append(writes, w)
	}
	return reads, writes, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// track records a started instance and starts copying its output.
func (s *supervisor) track(in procfile.Instance, color, pid int, reads []*os.File) {
	p := &process{inst: in, pid: pid}
	label := output.Label{Name: in.Name, Color: color}
	for i, r := range reads {
		pipe := s.cfg.Out.Pipe(label, output.Stream(i), r)
		p.pipes = append(p.pipes, pipe)
		s.pipes.Add(1)
		go func() { defer s.pipes.Done(); pipe.Run() }()
	}
	s.procs[pid] = p
	s.childless = false
	s.event(output.Event{Kind: "start", Process: in.Name, Pid: pid,
		Text: fmt.Sprintf("%s started with pid %d", in.Name, pid)})
}

// environ is the environment of one instance: the shared one plus PORT and
// PS (SPEC section 3).
func (s *supervisor) environ(in procfile.Instance) []string {
	env := make([]string, 0, len(s.cfg.Env)+2)
	for _, kv := range s.cfg.Env {
		if hasKey(kv, "PS") || (!s.cfg.NoPort && hasKey(kv, "PORT")) {
			continue
		}
		env = append(env, kv)
	}
	if !s.cfg.NoPort {
		env = append(env, "PORT="+strconv.Itoa(in.Port))
	}
	return append(env, "PS="+in.PS)
}

func hasKey(kv, key string) bool {
	return len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key
}

// onExit handles one reaped pid. An instance's exit is reported once its
// pipes have flushed; any other pid is an orphan, reaped and dropped.
func (s *supervisor) onExit(e reaper.Exit) {
	s.childless = e.Last
	p, ok := s.procs[e.Pid]
	if !ok {
		return
	}
	p.exit, p.reaped = e, true
	p.undrained = len(p.pipes)
	pid := e.Pid
	for _, pipe := range p.pipes {
		pipe.Exited(func() { s.drained <- pid })
	}
}

// onDrained counts a flushed pipe; the last one reports the exit.
func (s *supervisor) onDrained(pid int) {
	p, ok := s.procs[pid]
	if !ok {
		return
	}
	if p.undrained--; p.undrained > 0 {
		return
	}
	delete(s.procs, pid)
	s.reportExit(p)
}

// reportExit prints how an instance ended and applies the stop policy.
func (s *supervisor) reportExit(p *process) {
	e := p.exit
	ev := output.Event{Kind: "exit", Process: p.inst.Name, Pid: p.pid, Code: &e.Code}
	if e.Signal != 0 {
		ev.Signal = signals.Name(e.Signal)
		ev.Text = fmt.Sprintf("%s was killed by %s", p.inst.Name, ev.Signal)
	} else {
		ev.Text = fmt.Sprintf("%s exited with code %d", p.inst.Name, e.Code)
	}
	s.event(ev)
	if !s.tear.started {
		s.beginTeardown(syscall.SIGTERM, p.inst.Name+" exited, stopping all processes", &e.Code)
		return
	}
	s.tear.noteEnd(e)
}
