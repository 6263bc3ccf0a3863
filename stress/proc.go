package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cinit/cinit/internal/proctest"
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
		if p, ok := proctest.Read(pid); pid > 0 && ok && p.State != 'Z' && p.Start == start {
			live = append(live, pid)
		}
	}
	return live, len(seen)
}

// tagged lists the live processes whose environment holds tag.
func tagged(tag string) []int {
	return proctest.WithEnv(tagEnv + "=" + tag)
}

// zombiesOf lists the zombie children of pid as "PID/STARTTIME".
func zombiesOf(pid int) []string {
	var out []string
	for _, z := range proctest.Zombies(pid) {
		out = append(out, strconv.Itoa(z.Pid)+"/"+z.Start)
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
	rss, _ := proctest.RSS(pid)
	return rss
}

// fdList describes the open file descriptors of pid.
func fdList(pid int) string {
	fds, _ := proctest.FDs(pid)
	return strings.Join(fds, " ")
}
