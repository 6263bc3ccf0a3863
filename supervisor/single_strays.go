package supervisor

import (
	"os"
	"slices"
	"time"

	"github.com/cinit/cinit/reaper"
)

// Without a child subreaper (SingleConfig.NoSubreaper), what CMD leaves
// behind is re-parented to the real init. RunSingle then keeps a
// [reaper.Strays] as the supervisor does (strays.go): CMD's process group
// once CMD is reaped, and the processes outside that group that walks of
// the process table found while CMD lived: at the first stop signal and on
// each poll of the grace period.

// straysGone reports whether every recorded group and process is gone; it
// is true with a subreaper.
func (s *singleRun) straysGone() bool {
	if s.strays == nil {
		return true
	}
	s.strays.Poll(s.reaped)
	return s.strays.Empty()
}

// noteReaped records CMD's group, which its background jobs may still be
// in.
func (s *singleRun) noteReaped() {
	if s.strays != nil {
		s.strays.AddGroup(s.pid)
	}
}

// walkStrays remembers the descendants that left CMD's group, while CMD
// lives and so still links them to cinit.
func (s *singleRun) walkStrays() {
	if s.strays == nil || s.reaped {
		return
	}
	procs, err := reaper.Walk(os.Getpid())
	if err != nil {
		return
	}
	s.strays.Remember(slices.DeleteFunc(procs, func(p reaper.Process) bool { return p.Pgid == s.pid }))
}

// withStrays adds the strays' targets (-pgid for a group) to pids.
func (s *singleRun) withStrays(pids []int) []int {
	if s.strays == nil {
		return pids
	}
	for _, t := range s.strays.Targets() {
		if !slices.Contains(pids, t) {
			pids = append(pids, t)
		}
	}
	return pids
}

// watchStrays starts the poll once the grace period runs.
func (s *singleRun) watchStrays() {
	if s.strays != nil && s.tick == nil {
		s.tick = time.NewTicker(strayPollEvery)
	}
}

// ticks returns the poll's channel, or nil when there is no poll.
func (s *singleRun) ticks() <-chan time.Time {
	if s.tick == nil {
		return nil
	}
	return s.tick.C
}

// onTick walks for new strays while CMD runs; once CMD is gone, whatever
// is recorded is checked by finished.
func (s *singleRun) onTick() {
	s.walkStrays()
}
