package reaper

import (
	"errors"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// Strays keeps track of the processes cinit must still stop and wait for
// when it is neither PID 1 nor a child subreaper (macOS always, Linux when
// the kernel refuses PR_SET_CHILD_SUBREAPER or the user turned it off).
// There, a process whose parent exits is re-parented to the real init,
// out of cinit's reach: wait4's ECHILD then only means that cinit has no
// child, and [Exit.Last] no longer says that no descendant is left.
//
// So the owner records two kinds of strays:
//
//   - process groups whose leader was reaped ([Strays.AddGroup]): a
//     group is gone once kill(-pgid, 0) fails with ESRCH, and a pgid
//     cannot be reused while the group has members, so the test is safe;
//   - descendants that left their unit's group, found by [Walk] while
//     their parent still lived ([Strays.Remember]): each is known by pid
//     and start time, so that it still gets signals after being
//     re-parented, and a later process that reuses the pid never does.
//
// A process that leaves its group and loses its parent between two walks
// is not seen (a daemon that detaches early); that is the one case this
// mode does not cover.
//
// Strays is not safe for concurrent use: its owner, a supervisor loop,
// makes every call. Its zero value is not usable; create it with
// [NewStrays].
type Strays struct {
	// Immutable after NewStrays; seams for tests:
	kill   func(pid int, sig syscall.Signal) error // kill(2)
	same   func(p Process) bool                    // p still runs, not a zombie, with its start time
	living func(pgid int) bool                     // the group has a member that is not a zombie

	// State owned by the caller's goroutine:
	groups map[int]bool    // pgids not yet known to be empty
	procs  map[int]Process // remembered processes, by pid
}

// NewStrays returns an empty Strays that reads the process table of this
// system.
func NewStrays() *Strays {
	return newStrays(unix.Kill, sameProcess, groupLiving)
}

func newStrays(kill func(int, syscall.Signal) error, same func(Process) bool, living func(int) bool) *Strays {
	return &Strays{kill: kill, same: same, living: living,
		groups: map[int]bool{}, procs: map[int]Process{}}
}

// AddGroup records the process group pgid, whose leader was reaped, unless
// it is already empty.
func (s *Strays) AddGroup(pgid int) {
	if pgid > 1 && s.groupExists(pgid) {
		s.groups[pgid] = true
	}
}

// Remember records processes found by [Walk]; a pid already known keeps
// its first record.
func (s *Strays) Remember(ps []Process) {
	for _, p := range ps {
		if _, ok := s.procs[p.Pid]; !ok && p.Pid > 1 {
			s.procs[p.Pid] = p
		}
	}
}

// Poll forgets the groups that have emptied and the processes that have
// ended. With deep set, a group that still answers kill(-pgid, 0) is
// looked up in the process table, and forgotten when only zombies are
// left in it: a zombie waits for its new parent, which may be slow to
// reap it or never do, and must not keep cinit waiting. A deep poll reads
// the whole table, so callers ask for one only while stopping.
func (s *Strays) Poll(deep bool) {
	for pgid := range s.groups {
		if !s.groupExists(pgid) || (deep && !s.living(pgid)) {
			delete(s.groups, pgid)
		}
	}
	for pid, p := range s.procs {
		if !s.same(p) {
			delete(s.procs, pid)
		}
	}
}

// groupExists reports whether kill(-pgid, 0) finds the group. A group cinit
// may not signal (EPERM) counts as gone: nothing can be done about it.
func (s *Strays) groupExists(pgid int) bool {
	err := s.kill(-pgid, 0)
	return err == nil || !(errors.Is(err, unix.ESRCH) || errors.Is(err, unix.EPERM))
}

// Empty reports whether nothing is recorded.
func (s *Strays) Empty() bool {
	return len(s.groups) == 0 && len(s.procs) == 0
}

// Targets returns what to signal: -pgid for each recorded group and the
// pid of each remembered process that still runs, in a stable order.
func (s *Strays) Targets() []int {
	var out []int
	for pgid := range s.groups {
		out = append(out, -pgid)
	}
	for pid, p := range s.procs {
		if s.same(p) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}
