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

// The process table of Linux: /proc.

// procDir is where the process table is read from.
const procDir = "/proc"

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
