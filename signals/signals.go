// Package signals is cinit's signal policy: which signals cinit subscribes
// to, how they reach the supervisor ([Subscribe]), and what each one means
// ([Classify]). The supervisor acts on the [Action] Classify returns; this
// package never signals a process.
//
// The policy (the README's "Stopping and exit status" and "Single-command
// mode" say it for users):
//
//	signal                    multi-process mode        single-command mode
//	TERM, INT, QUIT           stop (teardown)           stop (forwarded)
//	second stop signal        kill everything now       kill everything now
//	HUP, USR1, USR2, ALRM,
//	CONT                      forward to every group    forward
//	WINCH                     ignore                    forward
//	TSTP, TTIN, TTOU          ignore                    forward
//	PIPE                      ignore (EPIPE handles it) ignore
//
// SIGCHLD belongs to package reaper and never reaches this policy. SIGURG,
// which the Go runtime uses for goroutine preemption, is never subscribed:
// [Notified] is an explicit list, as in runc's signals.go: signal.Notify
// without a list would also deliver the runtime's noise, and it could be
// forwarded to a child. Faults the kernel sends for cinit's own bugs
// (SEGV, BUS, FPE, ILL, TRAP, SYS) are left to kill it, as tini does.
//
// As PID 1 the kernel delivers only signals that have a handler, so the list
// must cover every signal above (pid_namespaces(7)).
package signals

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Kind is what cinit does with a signal.
type Kind int

const (
	// Ignore means cinit does nothing with the signal.
	Ignore Kind = iota
	// Forward means the signal is sent on to every process group.
	Forward
	// Stop means the signal starts a teardown and is sent to every group.
	Stop
	// Kill means every remaining process gets SIGKILL at once.
	Kill
)

// Action is the decision for one received signal.
type Action struct {
	Kind Kind
	Sig  syscall.Signal
}

// Notified lists the signals cinit subscribes to with signal.Notify in
// single-command mode; multi-process mode leaves out SIGWINCH, which it
// ignores (see [Subscribe]). SIGCHLD is subscribed separately by package
// reaper.
var Notified = []syscall.Signal{
	unix.SIGTERM, unix.SIGINT, unix.SIGQUIT,
	unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM, unix.SIGCONT,
	unix.SIGWINCH, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU,
	unix.SIGPIPE,
}

// IsStop reports whether sig is one of the stop signals TERM, INT and QUIT.
func IsStop(sig syscall.Signal) bool {
	return sig == unix.SIGTERM || sig == unix.SIGINT || sig == unix.SIGQUIT
}

// Classify decides what to do with sig. single is true in single-command
// mode. stops counts the stop signals received before this one, since
// cinit started: the second stop signal kills everything (Ctrl-C twice).
func Classify(sig syscall.Signal, single bool, stops int) Action {
	switch sig {
	case unix.SIGTERM, unix.SIGINT, unix.SIGQUIT:
		if stops >= 1 {
			return Action{Kind: Kill, Sig: unix.SIGKILL}
		}
		return Action{Kind: Stop, Sig: sig}
	case unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM, unix.SIGCONT:
		return Action{Kind: Forward, Sig: sig}
	case unix.SIGWINCH, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		// A terminal resize or job-control stop concerns the foreground
		// program; in multi-process mode that is cinit itself, which
		// must never be stopped: as PID 1 it could not even stop itself,
		// and a stopped init stops the container (tini's
		// configure_signals ignores TTIN and TTOU for itself as well).
		if single {
			return Action{Kind: Forward, Sig: sig}
		}
		return Action{Kind: Ignore, Sig: sig}
	}
	// SIGPIPE and anything unexpected: cinit's own write errors report a
	// closed stdout, so the signal itself carries nothing.
	return Action{Kind: Ignore, Sig: sig}
}

// Name returns the conventional name of sig, such as "SIGTERM".
func Name(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(sig))
}

// Parse reads a signal given as a name ("TERM", "SIGTERM", "term") or a
// number ("15").
func Parse(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("bad signal %q: out of range", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("bad signal %q: unknown name", s)
}
