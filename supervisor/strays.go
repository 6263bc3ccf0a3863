package supervisor

import (
	"os"
	"slices"
	"time"

	"github.com/cinit/cinit/reaper"
)

// strayPollEvery is how often, during a teardown without a subreaper, the
// loop checks whether the groups and remembered processes are gone, and
// walks the process table for descendants that left their group since.
const strayPollEvery = 100 * time.Millisecond

// Without a child subreaper (Config.NoSubreaper), orphans are re-parented
// to the real init and the reaper's "no child left" no longer means that
// nothing is left. The loop then keeps a [reaper.Strays]: the process
// group of every reaped process it started, and the descendants outside
// those groups that walks of the process table found while their parents
// lived (at each exit of a unit, at the teardown and on each poll of the
// grace period). Both are signalled like orphans and waited for.

// noneLeft reports whether no descendant of cinit is known to be left:
// the reaper found no child and, without a subreaper, every recorded group
// and process is gone; as PID 1, no process that entered the container
// from outside is left either (see othersInNamespace).
func (s *supervisor) noneLeft() bool {
	if !s.childless {
		return false
	}
	if s.cfg.Init && s.ownProc && s.waitsForOthers() && othersInNamespace() {
		s.pollOthers()
		return false
	}
	if s.strays == nil {
		return true
	}
	s.strays.Poll(s.tear.started)
	return s.strays.Empty()
}

// othersInNamespace reports whether a living process other than cinit is
// in its PID namespace; cinit must be PID 1 and /proc that namespace's.
// Once cinit has no child left, such a process entered the container from
// outside (docker exec, kubectl exec) or descends from one. It got the
// teardown's signal with the rest (findOrphans lists it), and when PID 1
// exits the kernel SIGKILLs it: so cinit waits for it as for its own
// (README, "Using cinit as PID 1"). Its parent is outside, so no exit
// tells cinit that it ended: the caller looks again.
func othersInNamespace() bool {
	procs, err := reaper.Walk(0)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(procs, func(p reaper.Process) bool { return p.Pid != os.Getpid() })
}

// waitsForOthers reports whether processes from outside still hold cinit:
// until the teardown's grace period has run out. Past it they got
// SIGKILL, or cannot get it (another user namespace's processes: EPERM),
// and the kernel ends them with PID 1 anyway.
func (s *supervisor) waitsForOthers() bool {
	return !s.tear.started || time.Now().Before(s.tear.ends)
}

// pollOthers makes the loop look again in strayPollEvery, when it waits
// for processes that no exit will announce.
func (s *supervisor) pollOthers() {
	if s.othersPoll {
		return
	}
	s.othersPoll = true
	s.after(strayPollEvery, func() { s.othersPoll = false })
}

// noteReaped records the group of a reaped process that cinit started,
// and walks the table for processes that left the groups of running
// units (see walkStrays).
func (s *supervisor) noteReaped(pgid int) {
	if s.strays == nil {
		return
	}
	s.strays.Poll(s.tear.started)
	s.strays.AddGroup(pgid)
	s.walkStrays()
}

// walkStrays remembers the descendants outside the groups of running
// units, without a subreaper: found while their parents live, they stay
// known after being re-parented.
func (s *supervisor) walkStrays() {
	if s.strays != nil {
		s.strays.Remember(findOrphans(s.notOrphans(), false))
	}
}

// withStrays returns the pids of found and, without a subreaper, first
// remembers them and adds the targets of the strays (-pgid for a group).
func (s *supervisor) withStrays(found []reaper.Process) []int {
	pids := make([]int, 0, len(found))
	for _, p := range found {
		pids = append(pids, p.Pid)
	}
	if s.strays == nil {
		return pids
	}
	s.strays.Remember(found)
	for _, t := range s.strays.Targets() {
		if !slices.Contains(pids, t) {
			pids = append(pids, t)
		}
	}
	return pids
}

// watchStrays polls the strays while a teardown runs and some are left:
// each poll walks the table for new ones, which get the stop signal.
func (s *supervisor) watchStrays() {
	if s.strays == nil || s.strayPoll || !s.tear.started || s.strays.Empty() {
		return
	}
	s.strayPoll = true
	s.after(strayPollEvery, func() {
		s.strayPoll = false
		s.stopOrphans()
		s.strays.Poll(s.tear.started)
		s.watchStrays()
	})
}
