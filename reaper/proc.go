package reaper

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotInit is returned by [KillAll] when cinit is not PID 1: kill(-1)
// would then reach processes outside cinit's tree, and outside the
// container when there is no PID namespace.
var ErrNotInit = errors.New("reaper: kill(-1) is only allowed as PID 1")

// procDir is where the process table is read from.
const procDir = "/proc"

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

// walkChildren lists root's living descendants through the kernel's
// /proc/<pid>/task/<tid>/children lists, so that only root's own subtree is
// read rather than every process of the machine. ok is false when the
// kernel does not offer those lists (CONFIG_PROC_CHILDREN) or root is 0,
// which has no such file.
func walkChildren(root int) (found []proc, ok bool) {
	if root <= 0 {
		return nil, false
	}
	if _, err := os.Stat(fmt.Sprintf("%s/%d/task/%d/children", procDir, root, root)); err != nil {
		return nil, false
	}
	var files procFiles
	seen := map[int]bool{root: true}
	queue := []proc{{pid: root}}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, c := range files.children(parent) {
			if seen[c] {
				continue
			}
			seen[c] = true
			p, ok, _ := files.stat(c)
			if !ok {
				continue // gone, and its children with it (re-parented)
			}
			queue = append(queue, p)
			if p.living() {
				found = append(found, p)
			}
		}
	}
	slices.SortFunc(found, byPid)
	return found, true
}

// procFiles reads small files of /proc into one buffer that grows as
// needed: open, read to the end, close, with no allocation once grown
// (os.ReadFile adds two fstat calls and a buffer per file). A walk of a
// hundred processes reads about two hundred of them, during a teardown,
// on CPUs that the processes being stopped need.
type procFiles struct {
	buf  []byte
	path []byte
}

// read returns the contents of /proc/<pid>/<rest>, valid until the next
// read.
func (f *procFiles) read(pid int, rest string) ([]byte, error) {
	f.path = append(strconv.AppendInt(append(f.path[:0], procDir+"/"...), int64(pid), 10), rest...)
	fd, err := unix.Open(string(f.path), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if f.buf == nil {
		f.buf = make([]byte, 4096)
	}
	n := 0
	for {
		if n == len(f.buf) {
			f.buf = append(f.buf, make([]byte, len(f.buf))...)
		}
		m, err := unix.Read(fd, f.buf[n:])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, err
		case m == 0:
			return f.buf[:n], nil
		}
		n += m
	}
}

// stat reads /proc/<pid>/stat. ok is false when the process vanished
// between the listing that named it and the read.
func (f *procFiles) stat(pid int) (p proc, ok bool, err error) {
	data, err := f.read(pid, "/stat")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return proc{}, false, nil
	}
	if err != nil {
		return proc{}, false, fmt.Errorf("reaper: /proc/%d/stat: %w", pid, err)
	}
	p, err = parseStat(data)
	if err != nil {
		return proc{}, false, fmt.Errorf("reaper: /proc/%d/stat: %w", pid, err)
	}
	return p, true, nil
}

// children reads the children of every thread of p: of its only thread
// directly when p has one, else of each thread its task directory lists.
// A process that vanished has none.
func (f *procFiles) children(p proc) []int {
	if p.threads == 1 {
		return f.childrenOfTask(p.pid, p.pid, nil)
	}
	tasks, err := os.ReadDir(fmt.Sprintf("%s/%d/task", procDir, p.pid))
	if err != nil {
		return nil
	}
	var kids []int
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			kids = f.childrenOfTask(p.pid, tid, kids)
		}
	}
	return kids
}

// childrenOfTask appends the children of thread tid of pid to kids.
func (f *procFiles) childrenOfTask(pid, tid int, kids []int) []int {
	data, err := f.read(pid, "/task/"+strconv.Itoa(tid)+"/children")
	if err != nil {
		return kids
	}
	for _, field := range bytes.Fields(data) {
		if n, err := strconv.Atoi(string(field)); err == nil {
			kids = append(kids, n)
		}
	}
	return kids
}

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

// scan reads the state and parent of every process in procDir.
func scan() ([]proc, error) {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("reaper: %w", err)
	}
	var procs []proc
	var files procFiles
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid <= 0 {
			continue // not a process: self, sys, meminfo, ...
		}
		p, ok, err := files.stat(pid)
		if err != nil {
			return nil, err
		}
		if ok {
			procs = append(procs, p)
		}
	}
	return procs, nil
}

// readProc reads /proc/<pid>/stat. ok is false when the process vanished
// between the directory listing and the read.
func readProc(pid int) (p proc, ok bool, err error) {
	var f procFiles
	return f.stat(pid)
}

// parseStat reads pid, state, ppid, pgrp, num_threads and starttime from
// the contents of /proc/<pid>/stat:
// "pid (comm) state ppid ...". comm is the process name and may contain
// spaces and parentheses, so the fields after it are found from the last
// ')' in the line, which comm cannot follow.
func parseStat(data []byte) (proc, error) {
	open := bytes.IndexByte(data, '(')
	closing := bytes.LastIndexByte(data, ')')
	if open < 1 || closing < open {
		return proc{}, errors.New("no (comm) field")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(data[:open])))
	if err != nil {
		return proc{}, fmt.Errorf("bad pid: %w", err)
	}
	rest := bytes.Fields(data[closing+1:])
	if len(rest) < 2 || len(rest[0]) != 1 {
		return proc{}, errors.New("no state and ppid after (comm)")
	}
	ppid, err := strconv.Atoi(string(rest[1]))
	if err != nil {
		return proc{}, fmt.Errorf("bad ppid: %w", err)
	}
	p := proc{pid: pid, ppid: ppid, state: rest[0][0]}
	if len(rest) > 2 {
		p.pgid, _ = strconv.Atoi(string(rest[2])) // pgrp, field 5
	}
	if len(rest) > 17 {
		p.threads, _ = strconv.Atoi(string(rest[17])) // num_threads, field 20
	}
	if len(rest) > 19 {
		p.start, _ = strconv.ParseUint(string(rest[19]), 10, 64) // starttime, field 22
	}
	return p, nil
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
