package reaper

import (
	"errors"
	"fmt"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotInit is returned by [KillAll] when cinit is not PID 1: kill(-1)
// would then reach processes outside cinit's tree, and outside the
// container when there is no PID namespace.
var ErrNotInit = errors.New("reaper: kill(-1) is only allowed as PID 1")

// proc is one line of the process table.
type proc struct {
	pid, ppid int
	state     byte   // the state letter of /proc/<pid>/stat: R, S, D, Z, ...
	threads   int    // num_threads, 0 when the line did not say
	pgid      int    // the process group, 0 when the line did not say
	start     uint64 // when the process started, in the table's own unit
}

// Process is a living process found by [Walk]: its pid, its process group
// and its start time, which tells it apart from a later process that
// reuses the pid (see [Strays]).
type Process struct {
	Pid, Pgid int
	Start     uint64
}

// process returns p as a [Process].
func (p proc) process() Process {
	return Process{Pid: p.pid, Pgid: p.pgid, Start: p.start}
}

// living reports whether p is still running: neither a zombie nor dead.
func (p proc) living() bool {
	return p.state != 'Z' && p.state != 'X' && p.state != 'x'
}

// Descendants lists, in ascending order, the pids of every living process
// whose chain of parents leads to pid; pid itself is not included.
//
// It reads /proc/<n>/stat for every process, so it needs a /proc mounted for
// cinit's own PID namespace, as containers have. The result is a snapshot:
// a process may exit or fork while the table is read, so a caller that
// signals the result and then waits should call Descendants again.
// Processes that vanish while being read are skipped.
//
// Zombies are left out. A zombie cannot act on a signal and has no children
// (they were re-parented when it exited); it only waits for its parent to
// collect it, and when that parent is cinit the [Reaper] does so. Counting
// zombies would make "is anything left?" wait on work that is not the
// descendants' to do.
func Descendants(pid int) ([]int, error) {
	found, err := walk(pid)
	return pidsOf(found), err
}

// Walk lists the living descendants of pid as [Descendants] does, in
// ascending pid order, with their process groups and start times.
func Walk(pid int) ([]Process, error) {
	found, err := walk(pid)
	if err != nil {
		return nil, err
	}
	out := make([]Process, len(found))
	for i, p := range found {
		out[i] = p.process()
	}
	return out, nil
}

// walk lists the living descendants of pid, in ascending pid order.
func walk(pid int) ([]proc, error) {
	if found, ok := walkChildren(pid); ok {
		return found, nil
	}
	procs, err := scan()
	if err != nil {
		return nil, err
	}
	return descendantProcs(pid, procs), nil
}

// pidsOf returns the pids of procs.
func pidsOf(procs []proc) []int {
	if len(procs) == 0 {
		return nil
	}
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.pid
	}
	return pids
}

// byPid orders procs by pid.
func byPid(a, b proc) int { return a.pid - b.pid }

// descendantsOf returns the pids of descendantProcs(root, procs).
func descendantsOf(root int, procs []proc) []int {
	return pidsOf(descendantProcs(root, procs))
}

// descendantProcs walks procs down from root, skipping zombies in the
// result. The visited set guards against a cycle that pid reuse could fake
// in a table that is not read atomically.
func descendantProcs(root int, procs []proc) []proc {
	children := make(map[int][]proc)
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p)
	}
	var found []proc
	seen := map[int]bool{root: true}
	queue := []int{root}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, c := range children[parent] {
			if seen[c.pid] {
				continue
			}
			seen[c.pid] = true
			queue = append(queue, c.pid)
			if c.living() {
				found = append(found, c)
			}
		}
	}
	slices.SortFunc(found, byPid)
	return found
}

// Signal sends sig to every pid in pids. A pid that no longer exists (ESRCH)
// is skipped silently; the first other error is returned after every pid has
// been tried. A negative pid -N signals process group N, as kill(2) does;
// 0 and -1, which would reach cinit's own group or everything (that is
// [KillAll]'s job), are refused with an error.
func Signal(pids []int, sig syscall.Signal) error {
	var first error
	for _, pid := range pids {
		err := signalOne(pid, sig)
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// signalOne is kill(pid, sig) with ESRCH ignored.
func signalOne(pid int, sig syscall.Signal) error {
	if pid == 0 || pid == -1 {
		return fmt.Errorf("reaper: refusing to signal pid %d", pid)
	}
	err := unix.Kill(pid, sig)
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("reaper: kill %d: %w", pid, err)
	}
	return nil
}

// KillAll sends sig to every process of the PID namespace except cinit,
// with kill(-1, sig), and reports whether any process received it. It
// returns [ErrNotInit] without signalling anything unless cinit is PID 1,
// where kill(-1) reaches exactly the other processes of the namespace,
// daemons that left their session included, and nothing outside it
// (kill(2), pid_namespaces(7)). A sig of 0 only checks whether any other
// process exists.
func KillAll(sig syscall.Signal) (bool, error) {
	if !IsInit() {
		return false, ErrNotInit
	}
	err := unix.Kill(-1, sig)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ESRCH):
		return false, nil
	}
	return false, fmt.Errorf("reaper: kill -1: %w", err)
}

// sameProcess reports whether p still runs: the pid exists, is not a
// zombie, and started when p did.
func sameProcess(p Process) bool {
	q, ok, err := readProc(p.Pid)
	return err == nil && ok && q.living() && q.start == p.Start
}

// groupLiving reports whether process group pgid has a member that is not
// a zombie. It reads the whole process table; when that fails, it assumes
// that the group lives.
func groupLiving(pgid int) bool {
	procs, err := scan()
	if err != nil {
		return true
	}
	return slices.ContainsFunc(procs, func(p proc) bool { return p.pgid == pgid && p.living() })
}
