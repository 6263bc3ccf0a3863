//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/internal/proctest"
)

// Without a child subreaper (--no-subreaper, CINIT_SUBREAPER=0, or a
// kernel that refuses PR_SET_CHILD_SUBREAPER), cinit follows process
// groups and remembers the descendants it walked (README.md, "Platforms").
// These tests run the orphan cases of the subreaper mode in every mode and
// expect the same results.

func init() {
	helpers["daemonstay"] = helperDaemonStay
	helpers["noprctl"] = helperNoPrctl
}

// subreaperModes are the ways to run cinit: with a subreaper, and without
// one by flag, by variable, and by the kernel's refusal (a seccomp filter
// makes prctl(PR_SET_CHILD_SUBREAPER) fail with EINVAL, as qemu-user
// before 9.0 does).
var subreaperModes = []struct {
	name string
	env  []string
	flag []string
	deny bool
}{
	{name: "subreaper"},
	{name: "flag", flag: []string{"--no-subreaper"}},
	{name: "env", env: []string{"CINIT_SUBREAPER=0"}},
	{name: "refused", deny: true},
}

// startMode runs cinit in dir in one of subreaperModes.
func startMode(t *testing.T, dir string, deny bool, env []string, args ...string) *procRun {
	t.Helper()
	if !deny {
		return startCinit(t, dir, env, args...)
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("the seccomp filter reads the first argument's low half as little-endian")
	}
	return startProgram(t, dir, env, os.Args[0], append([]string{"noprctl", cinitBin}, args...)...)
}

// checkWarning: one warning about the refused subreaper when it was
// refused, none otherwise.
func checkWarning(t *testing.T, r *procRun, deny bool) {
	t.Helper()
	n := strings.Count(r.err.String(), "cannot become a child subreaper")
	if want := map[bool]int{false: 0, true: 1}[deny]; n != want {
		t.Errorf("%d warnings about the subreaper on stderr, want %d:\n%s", n, want, r.err.String())
	}
}

func TestSubreaperModesGrandchild(t *testing.T) {
	cases := []struct {
		name, procfile string
		stop           bool // SIGTERM once a is ready
		code           int
	}{
		// The shell waits for its background job: the stop reaches
		// both through the group.
		{"in group", "a: sleep 1000 & echo $! > gc.pid; echo ready; wait\n", true, 0},
		// The shell exits 3 at once; its background job stays in the
		// group (and keeps the pipe open) until the teardown stops it.
		{"outlives leader", "a: sleep 1000 & echo $! > gc.pid; echo ready; exit 3\nb: exec sleep 1000\n", false, 3},
	}
	for _, tc := range cases {
		for _, m := range subreaperModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				dir := writeProcfile(t, tc.procfile)
				r := startMode(t, dir, m.deny, m.env, append(m.flag, "-t", "1h")...)
				r.waitLine("a", "ready")
				if tc.stop {
					r.signal(syscall.SIGTERM)
				}
				if code, lines := r.wait(); code != tc.code {
					t.Fatalf("exit %d, want %d:\n%s\n%s", code, tc.code, tail(lines), r.err.String())
				}
				if pid := readPid(t, filepath.Join(dir, "gc.pid")); proctest.Alive(pid) {
					t.Errorf("grandchild %d survived", pid)
				}
				checkWarning(t, r, m.deny)
			})
		}
	}
}

func TestSubreaperModesDaemonStopped(t *testing.T) {
	for _, m := range subreaperModes {
		t.Run(m.name, func(t *testing.T) {
			// A daemon that called setsid after cinit started, whose
			// parent lives until the stop: the walk at the teardown finds
			// it, and it gets the stop signal and its grace period after
			// its parent died.
			dir := t.TempDir()
			mark := filepath.Join(dir, "stopped")
			os.WriteFile(filepath.Join(dir, "Procfile"), []byte("a: "+helperLine("daemonstay "+mark)+"\n"), 0o644)
			r := startMode(t, dir, m.deny, m.env, append(m.flag, "-t", "1h")...)
			r.waitLine("a", "daemon pid")
			r.signal(syscall.SIGTERM)
			code, lines := r.wait()
			if code != 0 {
				t.Fatalf("exit %d:\n%s\n%s", code, tail(lines), r.err.String())
			}
			checkDaemonStopped(t, mark, linesOf(lines, "a"))
			checkWarning(t, r, m.deny)
		})
	}
}

func TestSubreaperModesSingle(t *testing.T) {
	for _, m := range subreaperModes {
		t.Run(m.name, func(t *testing.T) {
			// The group's background job after CMD exited 3, and a
			// setsid daemon found at the stop.
			dir := t.TempDir()
			r := startMode(t, dir, m.deny, m.env, append(m.flag, "-t", "1h", "--", "/bin/sh", "-c", "sleep 1000 & echo $! > gc.pid; exit 3")...)
			if code, lines := r.wait(); code != 3 {
				t.Fatalf("exit %d, want 3:\n%s\n%s", code, tail(lines), r.err.String())
			}
			if pid := readPid(t, filepath.Join(dir, "gc.pid")); proctest.Alive(pid) {
				t.Errorf("grandchild %d survived", pid)
			}
			checkWarning(t, r, m.deny)

			mark := filepath.Join(dir, "stopped")
			r = startMode(t, dir, m.deny, m.env, append(m.flag, "-t", "1h", "--", os.Args[0], "daemonstay", mark)...)
			r.waitOutput("daemon pid")
			r.signal(syscall.SIGTERM)
			code, lines := r.wait()
			if code != 128+int(syscall.SIGTERM) {
				t.Fatalf("exit %d, want 143:\n%s\n%s", code, tail(lines), r.err.String())
			}
			checkDaemonStopped(t, mark, lines)
			checkWarning(t, r, m.deny)
		})
	}
}

// checkDaemonStopped checks that the daemon's TERM trap ran before cinit
// exited and that nothing of it is left.
func checkDaemonStopped(t *testing.T, mark string, lines []string) {
	t.Helper()
	if b, err := os.ReadFile(mark); err != nil || string(b) != "stopped\n" {
		t.Fatalf("the daemon did not get SIGTERM before cinit exited: %q, %v", b, err)
	}
	var pid int
	for _, l := range lines {
		fmt.Sscanf(l, "daemon pid %d", &pid)
	}
	if pid == 0 || proctest.Alive(pid) {
		t.Errorf("daemon pid %d still alive after cinit exited", pid)
	}
}

// helperDaemonStay starts a daemon as helperDaemon does, and then stays
// until it is killed, so that the daemon keeps a parent in cinit's tree.
func helperDaemonStay(args []string) int {
	if err := startDaemon(args[0]); err != nil {
		fmt.Println(err)
		return 1
	}
	select {}
}

// helperNoPrctl executes args with a seccomp filter that makes
// prctl(PR_SET_CHILD_SUBREAPER, ...) fail with EINVAL and allows every
// other call. The filter does not check the architecture: it is made for
// this test binary's own.
func helperNoPrctl(args []string) int {
	runtime.LockOSThread() // the filter is set on this thread, which then executes
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.SYS_PRCTL, Jf: 3},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 16}, // low half of args[0]
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.PR_SET_CHILD_SUBREAPER, Jf: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EINVAL)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "no_new_privs:", err)
		return 1
	}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog)), 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "seccomp:", err)
		return 1
	}
	err := syscall.Exec(args[0], args, os.Environ())
	fmt.Fprintln(os.Stderr, "exec:", err)
	return 1
}
