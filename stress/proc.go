package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// What the driver reads of /proc.

// livePids returns the pids recorded under dir/pids whose process still
// runs: the same process, since pids are reused.
func livePids(dir string) []int {
	pids, _ := recorded(dir)
	return pids
}

// recorded returns the pids recorded under dir/pids whose process still
// runs, and how many instances (PS values of processes that are not
// grandchildren) have recorded themselves, alive or not.
func recorded(dir string) (live []int, instances int) {
	files, _ := os.ReadDir(filepath.Join(dir, "pids"))
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasPrefix(f.Name(), ".") {
			continue // being written
		}
		b, _ := os.ReadFile(filepath.Join(dir, "pids", f.Name()))
		var pid int
		var start, role, ps string
		fmt.Sscan(string(b), &pid, &start, &role, &ps)
		if role != "gc" {
			seen[ps] = true
		}
		if st := statFields(pid); pid > 0 && len(st) > 19 && st[0] != "Z" && st[19] == start {
			live = append(live, pid)
		}
	}
	return live, len(seen)
}

// tagged lists the live processes whose environment holds tag.
func tagged(tag string) []int {
	want := []byte(tagEnv + "=" + tag)
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// zombiesOf lists the zombie children of pid as "PID/STARTTIME".
func zombiesOf(pid int) []string {
	ents, _ := os.ReadDir("/proc")
	parent := strconv.Itoa(pid)
	var out []string
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(child); len(f) > 19 && f[0] == "Z" && f[1] == parent {
			out = append(out, e.Name()+"/"+f[19])
		}
	}
	return out
}

// openFDs counts the open file descriptors of pid, and the distinct pipes
// among those above 2 that pid did not inherit from this program.
func openFDs(pid int) (fds, pipes int) {
	inherited := pipesOf(os.Getpid())
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	for p := range pipesOf(pid) {
		if !inherited[p] {
			pipes++
		}
	}
	return len(ents), pipes
}

// pipesOf returns the pipes that pid holds above fd 2.
func pipesOf(pid int) map[string]bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	out := map[string]bool{}
	for _, e := range ents {
		if n, _ := strconv.Atoi(e.Name()); n > 2 {
			if l, _ := os.Readlink(filepath.Join(dir, e.Name())); strings.HasPrefix(l, "pipe:") {
				out[l] = true
			}
		}
	}
	return out
}

// rssOf returns the resident set size of pid in bytes, 0 if unknown.
func rssOf(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// fdList describes the open file descriptors of pid.
func fdList(pid int) string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join(dir, e.Name()))
		out = append(out, e.Name()+"="+l)
	}
	return strings.Join(out, " ")
}
