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
	started bool
	sig     syscall.Signal // the teardown's signal: received, or SIGTERM
	byExit  bool           // an instance's end started it: its code is cinit's
	code    int            // cinit's exit status as known so far
	unclean bool           // code holds the first unclean end of a signal teardown
	broken  bool           // stdout was closed: exit 141
	killed  bool           // something needed SIGKILL
	sigkill map[int]bool   // orphans sent SIGKILL already: counted once
	ended   bool           // every process had ended by itself: only leftovers are stopped
	orphans map[int]bool   // orphans already sent the stop signal
	swept   bool           // the final sweep of orphans has run
	also    syscall.Signal // a stop signal received during a teardown an exit started: every group gets it too
	ends    time.Time      // when the grace period of the latest stop signal sent runs out
}

// exitCode returns cinit's exit status (README, "Stopping and exit
// status"). Without a teardown, or when it only stopped what processes
// that had all ended by themselves left behind, it is 0. A closed stdout
// is 141 however the processes then end.
func (t *teardown) exitCode() int {
	switch {
	case t.byExit:
		return t.code
	case t.broken:
		return 141
	case t.unclean:
		return t.code
	case t.killed && !t.ended:
		return 137
	}
	return 0
}

// noteEnd records how an instance ended during a teardown started by a
// signal: dying of its stop signal, or exiting 0 or 128+it, is clean; the
// first other end gives cinit's code.
func (t *teardown) noteEnd(u *unit) {
	if t.byExit || t.unclean {
		return
	}
	e, sig := u.exit, u.stopSig
	if sig == 0 {
		sig = t.sig
	}
	if e.Code != 0 && e.Signal != sig && e.Code != 128+int(sig) {
		t.code, t.unclean = e.Code, true
	}
}

// beginTeardown stops everything. code is the exit status of the instance
// whose end started it, nil for a signal.
func (s *supervisor) beginTeardown(sig syscall.Signal, why string, code *int) {
	t := &s.tear
	t.started, t.sig, t.orphans, t.sigkill = true, sig, map[int]bool{}, map[int]bool{}
	t.ends = time.Now().Add(s.cfg.Grace)
	if code != nil {
		t.byExit, t.code = true, *code
	}
	s.event(output.Event{Kind: "stop", Signal: signals.Name(sig), Text: why})
	for _, u := range s.units {
		if u.state == pending || u.state == backoff || u.state == stopped {
			u.state = over // never started, or not restarted
		}
		u.ctl.manual = false // every end counts now
	}
	for pid := range s.checks {
		unix.Kill(-pid, syscall.SIGKILL) // a readiness probe has nothing to finish
	}
	// Without a subreaper, descendants must be found before their parents
	// get the signal and die, or they are gone from cinit's tree.
	s.walkStrays()
	// Units first: the /proc scan for orphans must not delay their signal.
	s.stopEligible()
	s.stopOrphans()
}

// stopEligible sends the stop signal to every running unit that no running
// unit depends on: dependents stop before their dependencies, independent
// units in parallel (README, "Process policies"). Units stopped together
// share one grace period.
func (s *supervisor) stopEligible() {
	var batch []*unit
	for _, u := range s.units {
		if u.state == running && u.stopSig == 0 && !s.hasLiveDependent(u) {
			batch = append(batch, u)
		}
	}
	if len(batch) == 0 {
		s.finalSweep()
		return
	}
	s.tear.ends = time.Now().Add(s.cfg.Grace)
	gens := make([]int, len(batch))
	for i, u := range batch {
		u.stopSig = s.stopSignalOf(u)
		signalGroup(u.pid, u.stopSig)
		if also := s.tear.also; also != 0 && also != u.stopSig {
			signalGroup(u.pid, also)
		}
		gens[i] = u.gen
	}
	s.after(s.cfg.Grace, func() { s.killBatch(batch, gens) })
}

// stopSignalOf is u's own stop signal, or the teardown's.
func (s *supervisor) stopSignalOf(u *unit) syscall.Signal {
	if u.pol.StopSignal != 0 {
		return u.pol.StopSignal
	}
	return s.tear.sig
}

// hasLiveDependent reports whether a unit that starts after u's type has
// not ended.
func (s *supervisor) hasLiveDependent(u *unit) bool {
	for _, d := range s.dependents[u.inst.Entry.Name] {
		if d.state != over && d.state != pending && d.state != stopped {
			return true
		}
	}
	return false
}

// signalGroup sends sig and then SIGCONT to a process group, so that a
// stopped process can act on it. ESRCH (gone) is fine.
func signalGroup(pgid int, sig syscall.Signal) bool {
	ok := unix.Kill(-pgid, sig) == nil
	if sig != syscall.SIGKILL && sig != syscall.SIGCONT {
		unix.Kill(-pgid, syscall.SIGCONT)
	}
	return ok
}

// killBatch sends SIGKILL to the units of a batch still running when its
// grace period ends, and to what is left of the groups of those that have
// ended: members that ignored the stop signal and outlived their leader
// are the unit's as much as the leader was, and share its grace period
// (left to the final sweep, they got a second one).
func (s *supervisor) killBatch(batch []*unit, gens []int) {
	n := 0
	left := map[int]bool{} // the groups of the batch's ended units
	for i, u := range batch {
		switch {
		case u.gen != gens[i]:
		case u.state == running || u.state == exiting:
			if unix.Kill(-u.pid, syscall.SIGKILL) == nil {
				n++
			}
		default:
			left[u.pid] = true
		}
	}
	if len(left) > 0 && (!s.cfg.Init || s.ownProc) {
		for _, p := range findOrphans(s.notOrphans(), s.cfg.Init) {
			if left[p.Pgid] && s.sigkillOrphan(p.Pid) {
				n++
			}
		}
	}
	s.noteKilled(n)
}

// stopOrphans sends the teardown's signal to every descendant that is not
// in the group of a running unit: daemons that called setsid, double forks
// (README, "Using cinit as PID 1"). Each gets it once,
// and SIGKILL after the grace period. The /proc scan runs in a goroutine so
// that exits keep flowing through the loop meanwhile.
func (s *supervisor) stopOrphans() {
	if s.cfg.Init && !s.ownProc {
		// Without a /proc of its own namespace cinit cannot tell its
		// processes apart: kill(-1) reaches them all, units included.
		reaper.KillAll(s.tear.sig)
		reaper.KillAll(syscall.SIGCONT)
		return
	}
	skip, init := s.notOrphans(), s.cfg.Init
	go func() {
		found := findOrphans(skip, init)
		s.post(func() {
			s.signalOrphans(s.withStrays(found))
			s.watchStrays()
		})
	}()
}

// signalOrphans sends the teardown's signal to the orphans found that have
// not had it yet.
func (s *supervisor) signalOrphans(found []int) {
	var fresh []int
	for _, pid := range found {
		if !s.tear.orphans[pid] {
			s.tear.orphans[pid] = true
			fresh = append(fresh, pid)
		}
	}
	for _, pid := range fresh {
		unix.Kill(pid, s.tear.sig)
		if also := s.tear.also; also != 0 && also != s.tear.sig {
			unix.Kill(pid, also)
		}
		unix.Kill(pid, syscall.SIGCONT)
	}
	if len(fresh) > 0 {
		s.after(s.graceLeft(), func() { s.killOrphans(fresh) })
	}
}

// graceLeft is what is left of the grace period that runs: an orphan
// that appears during a teardown is stopped with the processes that left
// it, not given a grace period of its own (README, "Stopping and exit
// status").
func (s *supervisor) graceLeft() time.Duration {
	return max(time.Until(s.tear.ends), 0)
}

// finalSweep runs once, when the last unit has ended and descendants are
// still left: orphans that appeared during the teardown get the stop
// signal, and when the grace period ends every descendant left gets
// SIGKILL.
func (s *supervisor) finalSweep() {
	if s.tear.swept || len(s.byPid) > 0 || s.noneLeft() {
		return
	}
	for _, u := range s.units {
		if !u.ended() {
			return
		}
	}
	s.tear.swept = true
	s.stopOrphans()
	s.after(s.graceLeft(), s.killRemaining)
}

// killOrphans sends SIGKILL to those of pids still alive as orphans. Only
// cinit's own descendants count for its exit status: a shell that entered
// with docker exec and ignores TERM is not the container's failure.
func (s *supervisor) killOrphans(pids []int) {
	alive := map[int]bool{}
	for _, pid := range s.orphans() {
		alive[pid] = true
	}
	counts := s.countsForStatus()
	n := 0
	for _, pid := range pids {
		if alive[pid] && s.sigkillOrphan(pid) && counts(pid) {
			n++
		}
	}
	s.noteKilled(n)
}

// countsForStatus returns whether an orphan's SIGKILL counts for cinit's
// exit status: it does for cinit's own descendants, that is every orphan,
// except as PID 1 with its own /proc, where orphans include processes
// that entered from outside.
func (s *supervisor) countsForStatus() func(pid int) bool {
	if !s.cfg.Init || !s.ownProc {
		return func(int) bool { return true }
	}
	own := map[int]bool{}
	procs, _ := reaper.Walk(os.Getpid())
	for _, p := range procs {
		own[p.Pid] = true
	}
	return func(pid int) bool { return own[pid] }
}

// sigkillOrphan sends SIGKILL to pid and reports whether that is news: a
// process already sent it (by killOrphans, then again by killRemaining
// before it was reaped) is not counted twice.
func (s *supervisor) sigkillOrphan(pid int) bool {
	if unix.Kill(pid, syscall.SIGKILL) != nil || s.tear.sigkill[pid] {
		return false
	}
	s.tear.sigkill[pid] = true
	return true
}

// killRemaining sends SIGKILL to every descendant left, and tries again
// shortly while any is left (one may fork while being killed), so that
// cinit never waits forever.
func (s *supervisor) killRemaining() {
	if s.noneLeft() {
		return
	}
	n := 0
	counts := s.countsForStatus()
	for _, pid := range s.orphans() {
		if s.sigkillOrphan(pid) && counts(pid) {
			n++
		}
	}
	if s.cfg.Init {
		// Without its own /proc cinit cannot tell what kill(-1)
		// reached: it counts as one.
		if reached, _ := reaper.KillAll(syscall.SIGKILL); reached && n == 0 && !s.ownProc {
			n = 1
		}
	}
	s.noteKilled(n)
	s.after(100*time.Millisecond, s.killRemaining)
}

// orphans lists cinit's descendants outside the groups of running units.
// As PID 1 they are every other process of the container.
func (s *supervisor) orphans() []int {
	if s.cfg.Init && !s.ownProc {
		return nil // killAll and killRemaining fall back to kill(-1)
	}
	return s.withStrays(findOrphans(s.notOrphans(), s.cfg.Init))
}

// notOrphans is the set of process groups of running units: what an orphan
// is not.
func (s *supervisor) notOrphans() map[int]bool {
	skip := make(map[int]bool, len(s.byPid))
	for pid, u := range s.byPid {
		if u.state == running {
			skip[pid] = true
		}
	}
	return skip
}

// findOrphans lists cinit's descendants whose process group is not in
// skip. As PID 1 (init) it lists every other process of the namespace,
// including those that docker exec started from outside (their parent is 0
// there): the set that kill(-1) reaches (reaper.KillAll). It touches no
// supervisor state.
func findOrphans(skip map[int]bool, init bool) []reaper.Process {
	self, root := os.Getpid(), os.Getpid()
	if init {
		root = 0
	}
	procs, err := reaper.Walk(root)
	if err != nil {
		return nil
	}
	var out []reaper.Process
	for _, p := range procs {
		if p.Pid != self && !skip[p.Pgid] {
			out = append(out, p)
		}
	}
	return out
}

// noteKilled records that n processes needed SIGKILL.
func (s *supervisor) noteKilled(n int) {
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

// killAll sends SIGKILL to everything at once (a second stop signal).
func (s *supervisor) killAll() {
	n := 0
	for _, u := range s.units {
		if u.state == running && unix.Kill(-u.pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	for _, pid := range s.orphans() {
		if unix.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	if s.cfg.Init {
		if reached, _ := reaper.KillAll(syscall.SIGKILL); reached && n == 0 {
			n = 1
		}
	}
	s.noteKilled(n)
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
		// A teardown that an exit started: pass the signal on to every
		// group, those told to stop already now, the others (waiting for
		// their dependents to stop) with their stop signal; the grace
		// period runs on.
		s.tear.also = sig
		for _, u := range s.units {
			if u.state == running && u.stopSig != 0 {
				signalGroup(u.pid, sig)
			}
		}
		for _, pid := range s.orphans() { // alive: a pid of the map may be reused
			if s.tear.orphans[pid] {
				unix.Kill(pid, sig)
				unix.Kill(pid, syscall.SIGCONT)
			}
		}
	case signals.Kill:
		s.event(output.Event{Kind: "kill", Signal: signals.Name(sig), Text: signals.Name(sig) + " received again, killing all processes"})
		s.killAll()
	case signals.Forward:
		for _, u := range s.units {
			if u.state == running {
				unix.Kill(-u.pid, sig)
			}
		}
	}
}

// onBroken stops everything when nobody reads cinit's stdout any more.
func (s *supervisor) onBroken() {
	s.broken = nil // closed for good: select must stop picking it
	s.tear.broken = true
	if !s.tear.started {
		s.beginTeardown(syscall.SIGTERM, "stdout is closed, stopping all processes", nil)
	}
}
