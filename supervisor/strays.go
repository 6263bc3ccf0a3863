package supervisor

import (
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
// and process is gone.
func (s *supervisor) noneLeft() bool {
	if !s.childless {
		return false
	}
	if s.strays == nil {
		return true
	}
	s.strays.Poll(s.tear.started)
	return s.strays.Empty()
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
