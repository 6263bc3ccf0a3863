// Package proctest reads /proc for the tests and the stress program: a
// process's state, parent, name and start time, the zombie children of a
// process, the processes whose environment holds a marker, open file
// descriptors and resident memory. Every function reports what it can read
// at the moment it reads it; a process that is gone reads as absent, never
// as an error, because the processes under test come and go.
//
// It is test-only: nothing in the cinit binary imports it.
package proctest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is what /proc/PID/stat says of one process.
type Proc struct {
	Pid   int
	PPid  int    // the parent
	State byte   // 'R', 'S', 'D', 'T', 'Z', ...
	Comm  string // the command name, at most 15 bytes
	Start string // the start time in clock ticks since boot: with Pid, it names a process, since pids are reused
}

// Read returns the process pid, and false when it is gone.
func Read(pid int) (Proc, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, false
	}
	return parseStat(pid, data)
}

// parseStat parses the contents of /proc/PID/stat. The name is in
// parentheses and may itself hold spaces and parentheses, so the fields
// are counted from the last ')'.
func parseStat(pid int, data []byte) (Proc, bool) {
	open, closing := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || closing < open {
		return Proc{}, false
	}
	f := strings.Fields(string(data[closing+1:]))
	if len(f) < 20 || len(f[0]) == 0 {
		return Proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return Proc{Pid: pid, PPid: ppid, State: f[0][0], Comm: string(data[open+1 : closing]), Start: f[19]}, true
}

// State returns the state of pid ('R', 'S', 'T', 'Z', ...), 0 when it is
// gone.
func State(pid int) byte {
	p, _ := Read(pid)
	return p.State
}

// StartTime returns the start time of pid, "" when it is gone.
func StartTime(pid int) string {
	p, _ := Read(pid)
	return p.Start
}

// Comm returns the command name of pid, "" when it is gone.
func Comm(pid int) string {
	p, _ := Read(pid)
	return p.Comm
}

// All returns every process that can be read.
func All() []Proc {
	var out []Proc
	for _, pid := range pids() {
		if p, ok := Read(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// pids lists the pids under /proc.
func pids() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// Alive reports whether pid is a process that has not ended (a zombie has).
func Alive(pid int) bool {
	p, ok := Read(pid)
	return ok && p.State != 'Z'
}

// Zombies returns the zombie children of parent.
func Zombies(parent int) []Proc {
	var out []Proc
	for _, p := range All() {
		if p.State == 'Z' && p.PPid == parent {
			out = append(out, p)
		}
	}
	return out
}

// WithEnv lists the processes whose environment holds the entry kv
// ("NAME=value"), zombies included (their environment cannot be read).
func WithEnv(kv string) []int {
	want := []byte(kv)
	var out []int
	for _, pid := range pids() {
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			continue
		}
		for _, e := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(e, want) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// FDs returns the open file descriptors of pid as "N->TARGET", and false
// when they cannot be read.
func FDs(pid int) ([]string, bool) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, false
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join(dir, e.Name()))
		out = append(out, e.Name()+"->"+l)
	}
	return out, true
}

// RSS returns the resident set size of pid in bytes, and false when it
// cannot be read.
func RSS(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false // a zombie has no VmRSS
}
