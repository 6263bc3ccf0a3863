package supervisor

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/output"
	"github.com/cinit/cinit/reaper"
	"github.com/cinit/cinit/signals"
)

// teardown is the stop policy's state. It is owned by the loop's goroutine.
type teardown struct {
	grace   time.Duration
	started bool
	sig     syscall.Signal // the stop signal sent to every group
	byExit  bool           // an instance's end started it: its code is cinit's
	code    int            // cinit's exit status as known so far
	unclean bool           // code holds the first unclean end of a signal teardown
	broken  bool           // stdout was closed: exit 141
	killed  bool           // something needed SIGKILL
	t       *time.Timer
}

// exitCode returns cinit's exit status (SPEC section 10).
func (t *teardown) exitCode() int {
	switch {
	case t.byExit || t.unclean:
		return t.code
	case t.broken:
		return 141
	case t.killed:
		return 137
	}
	return 0
}

// noteEnd records how an instance ended during a teardown started by a
// signal: dying of the stop signal, or exiting 0 or 128+it, is clean; the
// first other end gives cinit's code.
func (t *teardown) noteEnd(e reaper.Exit) {
	if t.byExit || t.unclean {
		return
	}
	clean := e.Code == 0 || e.Signal == t.sig || e.Code == 128+int(t.sig)
	if !clean {
		t.code, t.unclean = e.Code, true
	}
}

// timer returns the grace timer's channel, or nil before the teardown.
func (t *teardown) timer() <-chan time.Time {
	if t.t == nil {
		return nil
	}
	return t.t.C
}

func (t *teardown) stopTimer() {
	if t.t != nil {
		t.t.Stop()
	}
}

// beginTeardown sends sig to everything and arms the grace timer. code is
// the exit status of the instance whose end triggered it, nil for a signal.
func (s *supervisor) beginTeardown(sig syscall.Signal, why string, code *int) {
	t := &s.tear
	t.started, t.sig = true, sig
	if code != nil {
		t.byExit, t.code = true, *code
	}
	s.event(output.Event{Kind: "stop", Signal: signals.Name(sig), Text: why})
	s.signalAll(sig)
	t.t = time.NewTimer(t.grace)
}

// onSignal applies the signal policy to one received signal.
func (s *supervisor) onSignal(sig syscall.Signal) {
	a := signals.Classify(sig, false, s.stops)
	if signals.IsStop(sig) {
		s.stops++
	}
	switch a.Kind {
	case signals.Stop:
		if !s.tear.started {
			s.beginTeardown(sig, signals.Name(sig)+" received, stopping all processes", nil)
			return
		}
		// A teardown that an exit started: pass the signal on; the
		// grace period runs on.
		s.signalAll(sig)
	case signals.Kill:
		s.event(output.Event{Kind: "kill", Signal: signals.Name(sig), Text: signals.Name(sig) + " received again, killing all processes"})
		s.killAll()
	case signals.Forward:
		s.signalGroups(sig)
	}
}

// onGrace kills whatever is left when the grace period ends.
func (s *supervisor) onGrace() {
	s.tear.t = nil
	if s.finished() {
		return
	}
	s.killAll()
}

// onBroken stops everything when nobody reads cinit's stdout any more.
func (s *supervisor) onBroken() {
	if s.tear.broken {
		return
	}
	s.tear.broken = true
	if !s.tear.started {
		s.beginTeardown(syscall.SIGTERM, "stdout is closed, stopping all processes", nil)
	}
}

// killAll sends SIGKILL to every group and orphan, and notes it when
// anything was left to kill.
func (s *supervisor) killAll() {
	n := s.signalEverything(syscall.SIGKILL)
	if n == 0 {
		return
	}
	s.tear.killed = true
	plural := "es"
	if n == 1 {
		plural = ""
	}
	s.event(output.Event{Kind: "kill", Signal: "SIGKILL", Text: fmt.Sprintf("sending SIGKILL to %d process%s", n, plural)})
}

// signalAll sends a stop signal, then SIGCONT so that a stopped process
// can act on it (SPEC section 7).
func (s *supervisor) signalAll(sig syscall.Signal) {
	s.signalEverything(sig)
	if sig != syscall.SIGCONT {
		s.signalEverything(syscall.SIGCONT)
	}
}

// signalEverything sends sig to every instance's group and to every orphan
// that left its group, and returns how many processes or groups it reached.
// As PID 1, kill(-1) reaches exactly the container's other processes; as a
// subreaper, cinit signals its own descendants only (SPEC section 7, R37 of
// research/init-semantics.md).
func (s *supervisor) signalEverything(sig syscall.Signal) int {
	if s.cfg.Init {
		n := s.countLive()
		if reached, _ := reaper.KillAll(sig); reached && n == 0 {
			n = 1
		}
		return n
	}
	n := s.signalGroups(sig)
	return n + s.signalOrphans(sig)
}

// signalGroups sends sig to the group of every instance that has not been
// reaped, and returns how many groups it reached.
func (s *supervisor) signalGroups(sig syscall.Signal) int {
	n := 0
	for pid, p := range s.procs {
		if p.reaped {
			continue
		}
		if unix.Kill(-pid, sig) == nil {
			n++
		}
	}
	return n
}

// signalOrphans sends sig to cinit's descendants that are not in the group
// of a live instance (daemons that called setsid, double forks).
func (s *supervisor) signalOrphans(sig syscall.Signal) int {
	pids, err := reaper.Descendants(os.Getpid())
	if err != nil {
		return 0
	}
	n := 0
	for _, pid := range pids {
		pgid, err := unix.Getpgid(pid)
		if err != nil || s.isLiveGroup(pgid) {
			continue
		}
		if unix.Kill(pid, sig) == nil {
			n++
		}
	}
	return n
}

// isLiveGroup reports whether pgid is the group of an instance not yet
// reaped (which signalGroups reaches).
func (s *supervisor) isLiveGroup(pgid int) bool {
	p, ok := s.procs[pgid]
	return ok && !p.reaped
}

// countLive counts the instances not yet reaped.
func (s *supervisor) countLive() int {
	n := 0
	for _, p := range s.procs {
		if !p.reaped {
			n++
		}
	}
	return n
}
