package supervisor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/reaper"
	"github.com/cinit/cinit/signals"
)

// SingleConfig is what [RunSingle] runs and how.
type SingleConfig struct {
	Name  string   // how cinit's messages call the command, e.g. "web" or "sh"
	Argv  []string // the command, run directly and looked up in PATH, when Shell is empty
	Shell string   // a Procfile command, run through /bin/sh -c as instances are

	Env     []string      // the command's whole environment
	Dir     string        // its working directory; empty for cinit's own
	Grace   time.Duration // time between the stop signal and SIGKILL
	Stderr  io.Writer     // cinit's errors, and with Verbose its messages
	Verbose bool          // print cinit's messages (started, forwarding, exited)
	Init    bool          // cinit is PID 1: kill(-1) reaches every leftover

	// StopSignal, when set, is what CMD gets for the first stop signal
	// cinit receives (a Procfile entry's --stop-signal). CMD dying of
	// it, or exiting 128+it, after that stop is then a clean stop and
	// cinit exits 0, as in multi-process mode (teardown.exitCode).
	StopSignal syscall.Signal

	// NoSubreaper: not PID 1 and no child subreaper, so leftovers are
	// re-parented elsewhere (see single_strays.go).
	NoSubreaper bool
}

// RunSingle runs one command as init and returns the status cinit exits
// with: the command's own (its code, or 128+N for signal N; README,
// "Single-command mode"), or 127 or 126 when it could not be started. exits
// must be the reaper's stream; sigs carries the signals listed in
// [signals.Notified].
//
// The command (CMD) gets cinit's stdin, stdout and stderr, unprefixed, and
// runs in its own process group. When cinit owns the terminal (its stdin is
// the controlling terminal and its group is in the foreground), CMD's group
// becomes the foreground group, so that shells get job control and Ctrl-C
// reaches CMD, as under tini (tini's isolate_child; Yelp/dumb-init#51 and
// Yelp/dumb-init#78 were about losing this). The terminal goes back
// to cinit's group when CMD has exited.
//
// Signals follow [signals.Classify] in single-command mode: every forwarded
// signal goes to CMD's group. The first stop signal (TERM, INT, QUIT) is
// forwarded, followed by SIGCONT, and starts the grace period; when it runs
// out, CMD's group and every descendant get SIGKILL. The second stop signal
// kills them at once.
//
// When CMD exits, the processes it left behind (orphans, daemons that called
// setsid) get SIGTERM and SIGCONT: as PID 1 with kill(-1), otherwise each
// descendant of cinit. They have what is left of the grace period, which
// starts at the first stop signal or at CMD's exit, whichever comes first;
// so after docker stop cinit never takes longer than one grace period to
// decide its status. Then they get SIGKILL. Unlike tini and dumb-init, which
// exit as soon as their child is reaped and leave the kernel to SIGKILL the
// rest (tini#180, dumb-init#212), RunSingle returns only when no descendant
// is left. The status of a leftover never counts.
func RunSingle(cfg SingleConfig, exits <-chan reaper.Exit, sigs signals.Channels) int {
	s := &singleRun{cfg: cfg, exits: exits, sigs: sigs, ownProc: procIsOwn()}
	if cfg.NoSubreaper && !cfg.Init {
		s.strays = reaper.NewStrays()
	}
	if s.cfg.Name == "" {
		s.cfg.Name = filepath.Base(cfg.Argv[0])
	}
	if code, err := s.start(); err != nil {
		fmt.Fprintf(cfg.Stderr, "cinit: %v\n", err)
		return code
	}
	defer s.stopTimer()
	for !s.finished() {
		s.step()
	}
	return s.status()
}

// status is cinit's exit status once CMD has been reaped: its own, or 0
// when it ended cleanly of a translated stop signal.
func (s *singleRun) status() int {
	e, sig := s.exit, s.sent
	if sig != 0 && sig == s.cfg.StopSignal && (e.Signal == sig || e.Code == 128+int(sig)) {
		return 0
	}
	return e.Code
}

// singleRun is the state of one [RunSingle].
type singleRun struct {
	// Immutable:
	cfg     SingleConfig
	exits   <-chan reaper.Exit
	sigs    signals.Channels
	ownProc bool // /proc shows cinit's own PID namespace

	// State owned by the loop's goroutine:
	pid       int            // CMD's pid, which is also its process group
	fg        bool           // CMD's group holds the terminal's foreground
	reaped    bool           // CMD has exited
	exit      reaper.Exit    // CMD's exit, valid once reaped
	childless bool           // the most recent exit said no child is left
	stops     int            // stop signals received since cinit started
	grace     *time.Timer    // running from the first stop until SIGKILL
	graceOver bool           // the grace period has run out: SIGKILL was sent
	sent      syscall.Signal // the stop signal CMD got, 0 before any
	strays    *reaper.Strays // without a subreaper: leftovers outside cinit's tree; else nil
	tick      *time.Ticker   // polls the strays while needed
}

// start starts CMD. On failure it returns cinit's exit status and a message
// naming the command.
func (s *singleRun) start() (int, error) {
	path, argv, env, direct, err := s.command()
	if err != nil {
		return execFailure(argv[0], err)
	}
	s.fg = ownsTerminal()
	pid, err := s.fork(path, argv, env)
	switch {
	case err != nil && direct:
		// As for an instance: the shell decides what exec refused.
		path, argv, env = s.shell()
		pid, err = s.fork(path, argv, env)
	case errors.Is(err, syscall.ENOEXEC) && s.cfg.Shell == "":
		// execvp's rule, which tini and dumb-init follow: a file that
		// exec does not take (a script without #!) runs under /bin/sh.
		pid, err = s.fork("/bin/sh", append([]string{"/bin/sh", path}, argv[1:]...), env)
	}
	if err != nil {
		// The child took the terminal's foreground before its exec
		// failed: give it back, or the shell that ran cinit is left
		// in the background of its own terminal.
		s.releaseTerminal()
		return execFailure(argv[0], err)
	}
	s.pid = pid
	if s.fg || writesStop(syscall.Stderr) {
		s.sigs.Background() // cinit writes from the background now (see Background)
	}
	s.logf("%s started with pid %d", s.cfg.Name, pid)
	return 0, nil
}

// fork starts CMD with cinit's stdio in its own process group, once every
// signal is subscribed.
func (s *singleRun) fork(path string, argv, env []string) (int, error) {
	<-s.sigs.Ready
	return syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Dir:   s.cfg.Dir,
		Env:   env,
		Files: []uintptr{uintptr(syscall.Stdin), uintptr(syscall.Stdout), uintptr(syscall.Stderr)},
		// Foreground implies Setpgid; the child makes itself the
		// foreground group with signals still blocked, so SIGTTOU
		// cannot stop it (Go's syscall/exec_linux.go).
		Sys: &syscall.SysProcAttr{Setpgid: true, Foreground: s.fg, Ctty: syscall.Stdin},
	})
}

// command returns the program to execute, its argv and environment: a
// Procfile command runs as an instance would (directly when the shell
// would only exec it, else through /bin/sh -c with exec inserted: see
// shellLine); an argv runs itself, its program found as execvp would.
func (s *singleRun) command() (path string, argv, env []string, direct bool, err error) {
	if s.cfg.Shell != "" {
		if path, argv, env, ok := newLauncher(s.cfg.Dir).command(s.cfg.Shell, s.cfg.Env); ok {
			return path, argv, env, true, nil
		}
		path, argv, env = s.shell()
		return path, argv, env, false, nil
	}
	path, err = findProgram(s.cfg.Argv[0], s.cfg.Dir)
	return path, s.cfg.Argv, s.cfg.Env, false, err
}

// shell runs the Procfile command through /bin/sh -c.
func (s *singleRun) shell() (path string, argv, env []string) {
	return "/bin/sh", []string{"/bin/sh", "-c", shellLine(s.cfg.Shell)}, s.cfg.Env
}

// findProgram finds the program name. A name with a slash is a path, relative
// to dir where the command will run; any other name is looked up in PATH.
// A relative PATH entry is accepted, as execvp accepts it.
func findProgram(name, dir string) (string, error) {
	if !strings.Contains(name, "/") {
		path, err := exec.LookPath(name)
		if errors.Is(err, exec.ErrDot) {
			err = nil
		}
		return path, err
	}
	check := name
	if dir != "" && !filepath.IsAbs(name) {
		check = dir + "/" + name // not Join, which would drop the slash of "./cmd"
	}
	_, err := exec.LookPath(check)
	return name, err
}

// execFailure maps a failure to start the command to the codes of tini and
// Docker (tini's spawn, moby/moby#14012):
// 127 when there is no such command, 126 when it cannot be executed.
func execFailure(name string, err error) (int, error) {
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return 127, fmt.Errorf("%s: command not found", name)
	case errors.Is(err, fs.ErrNotExist):
		return 127, fmt.Errorf("%s: no such file or directory", name)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return 126, fmt.Errorf("%s: %v", name, errno)
	}
	if errors.Is(err, fs.ErrPermission) {
		return 126, fmt.Errorf("%s: permission denied", name)
	}
	return 126, fmt.Errorf("%s: %v", name, err)
}

// ownsTerminal reports whether cinit's stdin is its controlling terminal
// and cinit's process group is the terminal's foreground group. Only then
// may CMD take the terminal: a background cinit must not steal it.
func ownsTerminal() bool {
	pgrp, err := foregroundGroup(syscall.Stdin)
	return err == nil && pgrp == unix.Getpgrp()
}

// step handles one message.
func (s *singleRun) step() {
	select {
	case e := <-s.exits:
		s.onExit(e)
	case sig := <-s.sigs.Stop:
		s.onSignal(sig.(syscall.Signal))
	case sig := <-s.sigs.Other:
		s.onSignal(sig.(syscall.Signal))
	case <-s.timer():
		s.onGrace()
	case <-s.ticks():
		s.onTick()
	}
}

// finished reports whether CMD was reaped and no descendant of cinit is
// left (the rule of package reaper: the most recent exit has Last set),
// nor, as PID 1, a process that entered the container from outside.
func (s *singleRun) finished() bool {
	return s.reaped && s.childless && s.straysGone() && !s.othersLeft()
}

// othersLeft reports whether, cinit being PID 1, a process that entered
// the container from outside is left (see othersInNamespace); the poll
// looks again while one is.
func (s *singleRun) othersLeft() bool {
	if !s.cfg.Init || !s.ownProc || s.graceOver || !othersInNamespace() {
		return false // past the grace period they got SIGKILL, or cannot
	}
	if s.tick == nil {
		s.tick = time.NewTicker(strayPollEvery)
	}
	return true
}

// onExit handles one reaped pid: CMD's exit, or a leftover's, whose status
// does not count.
func (s *singleRun) onExit(e reaper.Exit) {
	s.childless = e.Last
	if e.Pid != s.pid || s.reaped {
		if s.graceOver && !e.Last {
			// A process the SIGKILL sweep missed (forked meanwhile)
			// was re-parented to cinit when its parent died.
			s.killAll()
		}
		return
	}
	s.reaped, s.exit = true, e
	if e.Signal != 0 {
		s.logf("%s was killed by %s", s.cfg.Name, signals.Name(e.Signal))
	} else {
		s.logf("%s exited with code %d", s.cfg.Name, e.Code)
	}
	s.releaseTerminal()
	s.noteReaped()
	if !e.Last || !s.straysGone() || s.othersLeft() {
		s.stopLeftovers()
	}
}

// releaseTerminal gives the terminal's foreground back to cinit's group.
// cinit is in a background group then, and tcsetpgrp from there raises
// SIGTTOU, which would make the call fail and restart for as long as cinit
// handles the signal; so cinit ignores SIGTTOU from now on, as tini does
// all along (its configure_signals). With CMD gone there is nobody left to
// forward it to.
func (s *singleRun) releaseTerminal() {
	if !s.fg {
		return
	}
	s.fg = false
	signal.Ignore(syscall.SIGTTOU)
	unix.IoctlSetPointerInt(syscall.Stdin, unix.TIOCSPGRP, unix.Getpgrp())
}

// stopLeftovers sends SIGTERM and SIGCONT to what CMD left behind and lets
// the grace period run; once it is over they get SIGKILL at once.
func (s *singleRun) stopLeftovers() {
	if s.graceOver {
		s.killAll()
		return
	}
	if n := s.signalLeftovers(syscall.SIGTERM); n > 0 {
		s.logf("%s exited, sending SIGTERM to %s", s.cfg.Name, nProcesses(n))
	}
	s.signalLeftovers(syscall.SIGCONT)
	s.startGrace()
}

// onSignal applies the signal policy to one received signal.
func (s *singleRun) onSignal(sig syscall.Signal) {
	a := signals.Classify(sig, true, s.stops)
	if signals.IsStop(sig) {
		s.stops++
	}
	switch a.Kind {
	case signals.Stop:
		s.stop(sig)
	case signals.Kill:
		s.logf("%s received again, killing all processes", signals.Name(sig))
		s.killAll()
	case signals.Forward:
		if !s.reaped {
			s.logf("forwarding %s to %s", signals.Name(sig), s.cfg.Name)
		}
		s.forward(sig)
	}
}

// stop passes a stop signal on, followed by SIGCONT so that a stopped
// process can act on it (as signalGroup does): to CMD's group while CMD runs,
// to the leftovers after it exited.
func (s *singleRun) stop(sig syscall.Signal) {
	if s.reaped {
		s.logf("%s received, sending it to the leftover processes", signals.Name(sig))
		s.signalLeftovers(sig)
		s.signalLeftovers(syscall.SIGCONT)
	} else {
		if s.cfg.StopSignal != 0 {
			s.logf("%s received, sending %s to %s", signals.Name(sig), signals.Name(s.cfg.StopSignal), s.cfg.Name)
			sig = s.cfg.StopSignal
		} else {
			s.logf("%s received, forwarding it to %s", signals.Name(sig), s.cfg.Name)
		}
		s.sent = sig
		s.walkStrays()
		s.forward(sig)
		s.forward(syscall.SIGCONT)
	}
	s.startGrace()
}

// forward sends sig to CMD's process group, which is gone once CMD was
// reaped; a group that has just emptied (ESRCH) is no error.
func (s *singleRun) forward(sig syscall.Signal) {
	if !s.reaped {
		unix.Kill(-s.pid, sig)
	}
}

// onGrace kills whatever is left when the grace period ends.
func (s *singleRun) onGrace() {
	s.grace, s.graceOver = nil, true
	s.killAll()
}

// killAll sends SIGKILL to CMD's group and to every leftover.
func (s *singleRun) killAll() {
	n := 0
	if !s.reaped && unix.Kill(-s.pid, syscall.SIGKILL) == nil {
		n++
	}
	n = max(n, s.signalLeftovers(syscall.SIGKILL))
	if n > 0 {
		s.logf("sending SIGKILL to %s", nProcesses(n))
	}
}

// signalLeftovers sends sig to every descendant of cinit and returns how
// many there were. As PID 1 it uses kill(-1), which reaches exactly the
// container's other processes, those that entered with docker exec too;
// otherwise cinit signals its own descendants only and never kill(-1), which
// would reach processes outside its tree (see reaper.KillAll).
func (s *singleRun) signalLeftovers(sig syscall.Signal) int {
	pids, err := reaper.Descendants(os.Getpid())
	if s.cfg.Init {
		if reached, _ := reaper.KillAll(sig); reached {
			return max(len(pids), 1)
		}
		return 0
	}
	if err != nil {
		pids = nil
	}
	pids = s.withStrays(pids)
	reaper.Signal(pids, sig)
	return len(pids)
}

// startGrace arms the grace timer unless it runs already or ran out.
func (s *singleRun) startGrace() {
	if s.grace == nil && !s.graceOver {
		s.grace = time.NewTimer(s.cfg.Grace)
	}
	s.watchStrays()
}

// timer returns the grace timer's channel, or nil when it is not running.
func (s *singleRun) timer() <-chan time.Time {
	if s.grace == nil {
		return nil
	}
	return s.grace.C
}

func (s *singleRun) stopTimer() {
	if s.grace != nil {
		s.grace.Stop()
	}
	if s.tick != nil {
		s.tick.Stop()
	}
}

// logf prints one of cinit's messages when verbose.
func (s *singleRun) logf(format string, a ...any) {
	if s.cfg.Verbose {
		fmt.Fprintf(s.cfg.Stderr, "cinit: "+format+"\n", a...)
	}
}

// nProcesses says "1 process" or "N processes".
func nProcesses(n int) string {
	if n == 1 {
		return "1 process"
	}
	return fmt.Sprintf("%d processes", n)
}
