// Package reaper collects the exit status of every child of cinit.
//
// It is the only code in cinit that calls wait4. Go's [os/exec.Cmd.Wait] and a
// wait4(-1) loop cannot run side by side: whichever waits first takes the
// status and the other gets ECHILD (since Go 1.23, Cmd.Wait waits on a
// pidfd and reports "waitid: no child processes"; see Go's os/pidfd_linux.go).
// So a [Reaper] collects every status, cinit's own children and re-parented
// orphans alike, and hands each one to its consumer on [Reaper.Exits]. The
// consumer (the supervisor) may call [os/exec.Cmd.Wait] for a pid only after the
// reaper has reported it, and then only to drain the child's pipes, as
// runc's signals.go and containerd's Monitor.Wait do.
//
// # Setting up
//
// [New] makes cinit a child subreaper (PR_SET_CHILD_SUBREAPER) when it is
// not PID 1, so that orphans of its children are re-parented to cinit and
// not to the real init; call it before starting any child. Where there is
// no subreaper (macOS, a refusing kernel, or when the caller does not want
// one), the consumer keeps track of what is left with [Strays]. Then run
// [Reaper.Run] in its own goroutine. Run subscribes to SIGCHLD before its
// first pass, so an exit that comes before the subscription is found by
// that pass (runc fixed a hang of a reaper that could miss one, commit
// 404181e), and the subscription, which costs a round trip to the Go
// runtime's signal thread, is not on the way to the first child's start.
//
// # Reaping
//
// Run makes one pass at start. A pass calls wait4(-1, WNOHANG) until it
// returns 0 (children remain, none has exited) or ECHILD (no child is left),
// as runc signals.go and tini's reap_zombies do, retrying on EINTR. Every pid
// it reaps is sent on Exits, in the order it was reaped.
//
// While children remain, Run waits for the next exit in a blocking
// wait4(-1, 0): the kernel wakes it as soon as a child, own or re-parented,
// becomes a zombie, and Run follows the reap with a pass to collect
// whatever else has exited. A zombie so lives only until the scheduler runs
// Run's thread, without the round trip of a signal through the Go runtime.
// Once a pass ends in ECHILD, Run waits for SIGCHLD instead (no child is
// there to wait for), and also makes periodic passes: 1 ms after it started
// or the last child was gone, then 2, 4, ... ms later, and at least once a
// second. SIGCHLD is a standard signal and coalesces: several exits may
// produce one notification, and [signal.Notify] drops what does not fit
// its channel (catatonit#4, dumb-init#44), so a notification means "at
// least one child changed", never "one child exited". A child started
// while Run waits for SIGCHLD is noticed by the next periodic pass, or when
// it (or an orphan it leaves) exits, whichever comes first; from then on
// Run blocks in wait4. As the passes double their distance, a child
// started some time t after that is noticed within about another t, and
// never more than a second later.
//
// Waiting in wait4 takes one thread of the process for as long as children
// remain, and a goroutine blocked in wait4 cannot be interrupted: Run sees
// its context only between two reaps, so after the context is done, Run
// returns once no child is left, or when the next child exits.
//
// # Knowing that no descendant is left
//
// Exit.Last tells the consumer that wait4 reported ECHILD right after this
// exit: at that moment cinit had no child and, when it is PID 1 or a
// subreaper, no descendant either (without one, see [Strays]). When a pass ends in ECHILD without
// reaping anything and the last value sent did not have Last set (a child
// vanished without this reaper collecting it, as a child whose exec failed
// does: os.StartProcess waits for it itself), Run sends an Exit with Pid 0 and
// Last set, which stands for no process. The first pass of Run also sends one
// when cinit has no child yet.
//
// The rule for the consumer is therefore:
//
//	No descendant is left when every child the consumer started has been
//	reported on Exits and the most recent value received has Last set.
//
// (A child whose start returned an error was never started: os.StartProcess
// has already collected it, or this reaper reports it as an unknown pid.)
//
// The rule is safe: a value with Last set was produced when cinit had no
// child, and a child started after that moment is either still unreported or
// reported in a later value, which would then be the most recent. It is
// also live: once no descendant is left, a pass within a second ends the
// stream with a value that has Last set, unless the latest value already had
// it, so a consumer following the rule is never stuck. A consumer that still
// has an unreported child of its own must ignore Last: the value may predate
// that child's start.
//
// One wart remains for PID 1: a process entering the container from outside
// (docker exec) can leave orphans that become cinit's children after a Last.
// They are reaped like any other child, but a consumer that has already acted
// on the rule will not wait for them.
//
// # Signalling what is left
//
// [Descendants] lists the living processes below a pid by reading /proc,
// [Signal] signals a list of pids, and [KillAll] signals every other process
// of the PID namespace, which only PID 1 may do.
package reaper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// exitBuffer is the capacity of the Exits channel. It only smooths bursts:
// when it is full the reaper waits for the consumer, and unreaped children
// wait as zombies.
const exitBuffer = 256

// sweepInterval is the longest time between two passes while Run waits
// for SIGCHLD, the "at least once a second" of tini's sigtimedwait timeout.
const sweepInterval = time.Second

// firstSweep is the time to the first periodic pass after Run found no
// child; each later one comes twice as late, up to sweepInterval. So a
// child started soon after is soon waited for in wait4, and the passes
// cost about ten wait4 calls each time the last child is gone.
const firstSweep = time.Millisecond

// Exit is one collected child, or a bare "no child left" notice.
type Exit struct {
	// Pid is the reaped process, or 0 for a notice that carries only Last.
	Pid int
	// Code is the exit code, or 128+N when the process was killed by
	// signal N (the convention of tini, dumb-init and runc).
	Code int
	// Signal is the signal that killed the process, 0 when it exited.
	Signal syscall.Signal
	// Last reports that wait4 returned ECHILD right after this exit: cinit
	// had no child left and, as PID 1 or subreaper, no descendant. See the
	// package documentation for how to rely on it.
	Last bool
}

// waitFunc is one wait4(-1) call, blocking until a child exits when block
// is set and WNOHANG otherwise; a seam for tests.
type waitFunc func(ws *unix.WaitStatus, block bool) (pid int, err error)

// Reaper collects every child's exit status. Create it with [New]; its zero
// value is not usable.
type Reaper struct {
	// Immutable after New:
	wait    waitFunc
	sigchld chan os.Signal
	exits   chan Exit
	sweep   [2]time.Duration // the first and the longest time between passes without a child
	// subscribe makes Run subscribe sigchld to SIGCHLD (New's Reapers).
	subscribe bool
	subreaper bool  // orphans come back to cinit: PID 1 or a subreaper
	refused   error // why the system refused to make cinit a subreaper

	// State owned by Run's goroutine:
	lastSent bool // the most recent value sent had Last set
}

// IsInit reports whether cinit is PID 1 of its PID namespace.
func IsInit() bool {
	return os.Getpid() == 1
}

// New makes cinit a child subreaper when want is set and it is not PID 1,
// so that orphans of its descendants are re-parented to it, and returns a
// Reaper whose Run subscribes to SIGCHLD. It must be called before any
// child is started, and only once: a second Reaper would take exits from
// the first.
//
// A system without child subreapers (macOS), or one that refuses the
// request with EINVAL (qemu-user before 9.0, some sandboxes), is no error:
// the Reaper then reports false from [Reaper.Subreaper], and the refusal
// from [Reaper.Refused] so that the caller can warn once. The error
// reports any other failure to become a subreaper.
func New(want bool) (*Reaper, error) {
	r := newReaper(wait4, exitBuffer)
	sub, refused, err := claim(want, IsInit(), setSubreaper)
	if err != nil {
		return nil, err
	}
	r.subreaper, r.refused = sub, refused
	r.subscribe = true
	return r, nil
}

// claim decides whether cinit gets the orphans of its descendants: as PID
// 1 it always does; otherwise when want is set and set succeeds. An EINVAL
// or [errors.ErrUnsupported] from set is returned as refused, anything
// else as err.
func claim(want, init bool, set func() error) (sub bool, refused, err error) {
	switch {
	case init:
		return true, nil, nil
	case !want:
		return false, nil, nil
	}
	err = set()
	switch {
	case err == nil:
		return true, nil, nil
	case errors.Is(err, errors.ErrUnsupported):
		return false, nil, nil
	case errors.Is(err, unix.EINVAL):
		return false, err, nil
	}
	return false, nil, fmt.Errorf("reaper: set child subreaper: %w", err)
}

// Subreaper reports whether orphans of cinit's descendants come back to
// cinit (it is PID 1 or a child subreaper). When it is false, an [Exit]
// with Last set only means that cinit has no child; see [Strays].
func (r *Reaper) Subreaper() bool { return r.subreaper }

// Refused returns the error with which the system refused to make cinit a
// child subreaper that [New] was asked to make it, or nil.
func (r *Reaper) Refused() error { return r.refused }

// newReaper builds a Reaper that reaps with wait and subscribes to nothing.
func newReaper(wait waitFunc, buffer int) *Reaper {
	return &Reaper{
		wait: wait,
		// One slot is enough: a pending notification already means
		// "make a pass", and a pass looks at every child.
		sigchld: make(chan os.Signal, 1),
		exits:   make(chan Exit, buffer),
		sweep:   [2]time.Duration{firstSweep, sweepInterval},
	}
}

// wait4 is the production waitFunc. It deliberately leaves out __WALL:
// os.StartProcess probes for pidfd support with a child cloned without an
// exit signal and collects it itself (syscall.os_checkClonePidfd, go1.26);
// taking that child would make Go give up pidfds for the whole process.
// Without __WALL such a child is invisible to wait4, blocking or not: with
// only it left, wait4 reports ECHILD. Orphans are never such children: the
// kernel resets their exit signal to SIGCHLD when it re-parents them.
func wait4(ws *unix.WaitStatus, block bool) (int, error) {
	options := unix.WNOHANG
	if block {
		options = 0
	}
	return unix.Wait4(-1, ws, options, nil)
}

// Exits returns the channel on which Run sends every collected exit, in
// reaping order. It is buffered and is closed when Run returns.
func (r *Reaper) Exits() <-chan Exit {
	return r.exits
}

// Run reaps until ctx is done: it subscribes to SIGCHLD (a Reaper from
// New) and makes one pass; then, while children remain, a blocking wait4
// for the next exit followed by a pass; while none is left, a pass on
// every SIGCHLD and periodic passes, at most a second apart. It must be
// called exactly once. A send on Exits also gives up when ctx is done, so
// Run never blocks forever on a consumer that went away; but it cannot
// leave a blocking wait4, so after ctx is done it returns only once no
// child is left or the next child has exited. When Run returns it
// unsubscribes from SIGCHLD and closes Exits.
func (r *Reaper) Run(ctx context.Context) {
	defer close(r.exits)
	if r.subscribe {
		signal.Notify(r.sigchld, syscall.SIGCHLD)
	}
	defer signal.Stop(r.sigchld)
	timer := time.NewTimer(r.sweep[0])
	defer timer.Stop()
	delay := r.sweep[0]
	for {
		end, ok := r.pass(ctx, false)
		if ok && end == running {
			ok = r.follow(ctx)
			delay = r.sweep[0] // the children are gone; new ones may come soon
		}
		if !ok {
			return
		}
		timer.Reset(delay)
		select {
		case <-ctx.Done():
			return
		case <-r.sigchld:
		case <-timer.C:
			delay = min(2*delay, r.sweep[1])
		}
	}
}

// follow waits in wait4 for one exit after another, each followed by a
// pass, while children remain and ctx is not done. It reports false when
// ctx ended a pass.
func (r *Reaper) follow(ctx context.Context) bool {
	for ctx.Err() == nil {
		end, ok := r.pass(ctx, true)
		if !ok || end != running {
			return ok
		}
	}
	return true
}

// outcome is how one wait4 call went.
type outcome int

const (
	reaped      outcome = iota // a child exited, or changed state otherwise
	interrupted                // EINTR: call again
	running                    // children remain, none has exited
	childless                  // ECHILD: no child is left
	failed                     // any other error; a later pass tries again
)

// pass reaps every child that has exited and sends the exits. With block
// set, it first waits in wait4 until a child exits. Each exit is held back
// until the next wait4 result is known, so that the last one can carry
// Last. It returns how the final wait4 call went, and false when ctx ended
// the pass.
func (r *Reaper) pass(ctx context.Context, block bool) (outcome, bool) {
	var held *Exit
	for {
		e, how := r.reapOne(block && held == nil)
		switch how {
		case interrupted:
			continue
		case running, childless, failed:
			return how, r.finish(ctx, held, how == childless)
		}
		if e == nil {
			continue
		}
		if held != nil && !r.send(ctx, *held) {
			return how, false
		}
		held = e
	}
}

// reapOne makes one wait4 call, blocking when block is set. e is the exit
// when the outcome is reaped; it is nil for a status that is not a
// termination.
func (r *Reaper) reapOne(block bool) (e *Exit, how outcome) {
	var ws unix.WaitStatus
	pid, err := r.wait(&ws, block)
	switch {
	case errors.Is(err, unix.EINTR):
		return nil, interrupted
	case errors.Is(err, unix.ECHILD):
		return nil, childless
	case err != nil:
		// Cannot happen with these arguments.
		return nil, failed
	case pid <= 0:
		return nil, running
	}
	if x, ok := exitOf(pid, ws); ok {
		return &x, reaped
	}
	return nil, reaped
}

// finish ends a pass: it sends the held exit, marked Last when the pass
// ended in ECHILD, or a bare notice when nothing was reaped, no child is left
// and the consumer has not been told so yet.
func (r *Reaper) finish(ctx context.Context, held *Exit, empty bool) bool {
	if held != nil {
		held.Last = empty
		return r.send(ctx, *held)
	}
	if empty && !r.lastSent {
		return r.send(ctx, Exit{Last: true})
	}
	return true
}

// send delivers e unless ctx is done first.
func (r *Reaper) send(ctx context.Context, e Exit) bool {
	select {
	case r.exits <- e:
		r.lastSent = e.Last
		return true
	case <-ctx.Done():
		return false
	}
}

// exitOf decodes a wait status. It reports false for a status that does not
// end the process (stopped or continued, which wait4 reports only when asked).
func exitOf(pid int, ws unix.WaitStatus) (Exit, bool) {
	switch {
	case ws.Exited():
		return Exit{Pid: pid, Code: ws.ExitStatus()}, true
	case ws.Signaled():
		sig := ws.Signal()
		return Exit{Pid: pid, Code: 128 + int(sig), Signal: sig}, true
	}
	return Exit{}, false
}
