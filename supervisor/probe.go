package supervisor

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/reaper"
)

// Target is where a readiness check runs on its own, outside [Run]: the
// port a tcp check without one uses, and the environment and directory of
// an exec check, whose exit comes from Exits, a reaper's stream (see
// [reaper.Reaper.Exits]).
type Target struct {
	Port  int
	Env   []string
	Dir   string
	Exits <-chan reaper.Exit
	Stop  <-chan struct{} // closed to give up: a running exec check's group gets SIGKILL
}

// Probe runs one attempt of c as [Run] does for a process at t: tcp, http
// and file checks in this process, each bounded by 2 s or limit if less
// (a relative file: path is found in t.Dir); an exec check as a
// child in its own process group, started as an instance would be, that
// must exit 0 (its output goes to stderr). limit bounds an exec check (0:
// none); on expiry its group gets SIGKILL.
func Probe(c Check, t Target, limit time.Duration) bool {
	if c.Kind != "exec" {
		if limit <= 0 || limit > probeTimeout {
			limit = probeTimeout
		}
		return probe(c, t.Port, t.Dir, limit)
	}
	return probeExec(c.Target, t, limit)
}

// Await runs c until it succeeds, polling as [Run] does (100 ms, doubling
// to 1 s, an exec attempt bounded by 30 s), and reports whether it
// succeeded within timeout (0: forever).
func Await(c Check, t Target, timeout time.Duration) bool {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for delay := firstPoll; ; delay = min(2*delay, maxPoll) {
		limit := execTimeout // an attempt that hangs is tried again
		if timeout > 0 {
			limit = max(min(limit, time.Until(deadline)), time.Millisecond)
		}
		if Probe(c, t, limit) {
			return true
		}
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return false
			}
			delay = min(delay, left)
		}
		select {
		case <-time.After(delay):
		case <-t.Stop:
			return false
		}
	}
}

// probeExec runs command at t and reports whether it exited 0 within limit
// (and before t.Stop); it returns once the command has been reaped.
func probeExec(command string, t Target, limit time.Duration) bool {
	pid, err := startExec(command, t)
	if err != nil {
		return false
	}
	var expired <-chan time.Time
	if limit > 0 {
		timer := time.NewTimer(limit)
		defer timer.Stop()
		expired = timer.C
	}
	ok, stop := true, t.Stop
	for {
		select {
		case e := <-t.Exits:
			if e.Pid == pid {
				return ok && e.Code == 0
			}
		case <-expired:
			unix.Kill(-pid, syscall.SIGKILL)
			ok, expired = false, nil
		case <-stop:
			unix.Kill(-pid, syscall.SIGKILL)
			ok, stop = false, nil
		}
	}
}

// startExec starts command as spawn does (directly when the shell would
// only exec it, else through /bin/sh -c), stdin from /dev/null, output to
// stderr.
func startExec(command string, t Target) (int, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	attr := &syscall.ProcAttr{
		Dir:   t.Dir,
		Env:   t.Env,
		Files: []uintptr{devnull.Fd(), os.Stderr.Fd(), os.Stderr.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	if path, argv, env, ok := newLauncher(t.Dir).command(command, t.Env); ok {
		direct := *attr
		direct.Env = env
		if pid, err := syscall.ForkExec(path, argv, &direct); err == nil {
			return pid, nil
		}
	}
	return syscall.ForkExec("/bin/sh", []string{"/bin/sh", "-c", shellLine(command)}, attr)
}
