package supervisor

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/cinit/cinit/output"
	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/reaper"
	"github.com/cinit/cinit/signals"
	"github.com/cinit/cinit/terminal"
)

// unit is one instance across its restarts. It is owned by the loop's
// goroutine.
type unit struct {
	inst  procfile.Instance
	pol   Policy
	color int // place in the palette

	state     unitState
	gen       int // counts starts, so that a timer can tell it is stale
	pid       int
	started   time.Time
	pipes     []*output.Pipe
	pty       *terminal.PTY // the terminal of the current run (--tty), else nil
	hub       *terminal.Hub // its attach side, nil without a terminal
	fg        bool          // the current run holds cinit's terminal's foreground (--interactive)
	undrained int           // pipes not yet flushed after the exit
	exit      reaper.Exit   // how the last run ended
	ready     bool          // latched: dependents may start
	runReady  bool          // this run is ready (status READY)
	since     time.Time     // when the state last changed, for status
	exitAt    time.Time     // when the last run ended
	failed    bool          // ended for good without success: dependents never start

	restarts []time.Time   // restarts within the last restartWindow
	delay    time.Duration // the next backoff delay

	checkDelay time.Duration // the next readiness poll interval

	stopSig syscall.Signal // the stop signal sent (teardown or cinit stop), 0 before

	ctl ctlState // what the control plane asked of it (control.go)
}

// unitState is where a unit is in its life.
type unitState int

const (
	pending unitState = iota // not started: waiting for its dependencies
	running                  // its process runs
	exiting                  // reaped; its output is being flushed
	backoff                  // waiting to be restarted
	over                     // ended for good, or never to start
	stopped                  // stopped by cinit stop: it waits for cinit restart
)

// ended reports whether the unit will not run again. A run that the
// operator started (cinit restart) has not ended for this purpose: its
// end leaves cinit waiting for the operator, as a stopped unit does.
func (u *unit) ended() bool { return u.state == over && !u.ctl.manual }

// start runs one instance: its command in its own process group (see
// spawn), stdin from /dev/null, stdout and stderr into one pipe (two when
// cfg.Split), or all three on a terminal (see tty.go), and records it in
// the table before the loop next reads an exit.
func (s *supervisor) start(u *unit) {
	u.stopSig, u.runReady, u.since = 0, false, time.Now()
	u.ctl.stopping, u.ctl.stopAsked, u.ctl.notReady = false, false, false
	io, env, err := s.stdioFor(u)
	var reads []*os.File
	pid := 0
	if err == nil {
		reads, pid, err = s.spawn(u.inst.Command, env, io)
		reads = s.startedIO(u, io, reads, err)
	}
	if err != nil {
		s.event(output.Event{Kind: "error", Process: u.inst.Name, Text: u.inst.Name + " could not start: " + err.Error()})
		u.gen, u.exit, u.exitAt = u.gen+1, reaper.Exit{Code: 127}, time.Now()
		u.state, u.failed = over, true
		s.endWith(u, 127, u.inst.Name+" could not start, stopping all processes")
		return
	}
	u.state, u.pid, u.gen, u.started = running, pid, u.gen+1, time.Now()
	u.pipes = u.pipes[:0]
	label := output.Label{Name: u.inst.Name, Color: u.color, Raw: u.pol.Raw}
	for i, r := range reads {
		pipe := s.cfg.Out.Pipe(label, streamOf(io, i), r)
		if u.hub != nil {
			pipe.Tee(u.hub)
		}
		u.pipes = append(u.pipes, pipe)
		s.pipes.Add(1)
		go func() { defer s.pipes.Done(); pipe.Run() }()
	}
	s.byPid[pid] = u
	s.event(output.Event{Kind: "start", Process: u.inst.Name, Pid: pid,
		Text: fmt.Sprintf("%s started with pid %d", u.inst.Name, pid)})
	s.watchReadiness(u)
}

// spawn starts command as an instance or a check would run: directly when
// the shell would only exec it (see direct.go), else through /bin/sh -c
// with exec inserted (see shellLine). With io.pipes it returns the read
// ends of the output pipes; with neither pipes nor another choice of io,
// the child's output goes to /dev/null.
func (s *supervisor) spawn(command string, env []string, io stdio) ([]*os.File, int, error) {
	if path, argv, denv, ok := s.launch.command(command, env); ok {
		reads, pid, err := s.fork(path, argv, denv, io)
		if err == nil {
			return reads, pid, nil
		}
		// exec refused what looked runnable (a binary for another
		// machine, say): the shell decides and reports.
	}
	return s.fork("/bin/sh", []string{"/bin/sh", "-c", shellLine(command)}, env, io)
}

// fork starts path in its own process group, stdin from /dev/null (see
// stdio for the other choices), once every signal is subscribed.
func (s *supervisor) fork(path string, argv, env []string, io stdio) ([]*os.File, int, error) {
	var reads, writes []*os.File
	out := []*os.File{s.devnull}
	if io.pipes {
		var err error
		if reads, writes, err = s.openPipes(); err != nil {
			return nil, 0, err
		}
		out = writes
	}
	files, sys := s.childFiles(io, out)
	<-s.sigs.Ready
	var pid int
	var err error
	forkExec := func() {
		s.sigs.ForkWith(s.bg, func() {
			pid, err = syscall.ForkExec(path, argv, &syscall.ProcAttr{
				Dir:   s.cfg.Dir,
				Env:   env,
				Files: files,
				Sys:   sys,
			})
		})
		if err == nil && io.fg {
			s.sigs.Background() // the child holds the terminal now
			s.bg = true
		}
	}
	if (io.fg || s.bg) && terminal.StopsBackgroundWrites(syscall.Stdout) {
		// With stty tostop, a line written from the background while
		// SIGTTOU is not ignored raises it (and fails with EIO when
		// cinit's group is orphaned): between the child's taking the
		// terminal and Background, or within ForkWith.
		s.cfg.Out.Hold(forkExec)
	} else {
		forkExec()
	}
	closeAll(writes)
	if err != nil {
		closeAll(reads)
		return nil, 0, err
	}
	s.childless = false
	return reads, pid, nil
}

// openPipes makes one pipe, or one per stream when output is split.
func (s *supervisor) openPipes() (reads, writes []*os.File, err error) {
	n := 1
	if s.cfg.Split {
		n = 2
	}
	for range n {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(reads)
			closeAll(writes)
			return nil, nil, err
		}
		reads, writes = append(reads, r), append(writes, w)
	}
	return reads, writes, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// environ is the environment of one instance: the shared one plus PORT and
// PS (README, "Environment"). It is built in a buffer the next call reuses,
// so it must not be kept past the fork it is for: every start would
// otherwise leave a copy of the environment behind until a collection.
func (s *supervisor) environ(in procfile.Instance) []string {
	env := s.envBuf[:0]
	for _, kv := range s.cfg.Env {
		if hasKey(kv, "PS") || (!s.cfg.NoPort && hasKey(kv, "PORT")) {
			continue
		}
		env = append(env, kv)
	}
	if !s.cfg.NoPort {
		env = append(env, "PORT="+strconv.Itoa(in.Port))
	}
	env = append(env, "PS="+in.PS)
	s.envBuf = env[:0]
	return env
}

func hasKey(kv, key string) bool {
	return len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key
}

// onExit handles one reaped pid. An instance's exit is reported once its
// pipes have flushed; an exec readiness check gives its result; any other
// pid is an orphan, reaped and dropped.
func (s *supervisor) onExit(e reaper.Exit) {
	s.childless = e.Last
	if c, ok := s.checks[e.Pid]; ok {
		delete(s.checks, e.Pid)
		s.noteReaped(e.Pid)
		s.checkDone(c.u, c.gen, e.Code == 0)
		return
	}
	u, ok := s.byPid[e.Pid]
	if !ok {
		return
	}
	u.exit, u.state, u.since, u.exitAt = e, exiting, time.Now(), time.Now()
	s.exitedTerminal(u)
	s.noteReaped(e.Pid)
	u.undrained = len(u.pipes)
	if u.undrained == 0 {
		u.undrained = 1 // its output bypasses cinit (--interactive)
		s.onDrained(u)
		return
	}
	for _, pipe := range u.pipes {
		pipe.Exited(func() { s.drained <- u })
	}
}

// onDrained counts a flushed pipe; the last one ends the run.
func (s *supervisor) onDrained(u *unit) {
	if u.undrained--; u.undrained > 0 {
		return
	}
	delete(s.byPid, u.pid)
	s.endTerminal(u)
	s.onEnd(u)
}

// onEnd applies the policy to a process that ended (README, "Process
// policies").
func (s *supervisor) onEnd(u *unit) {
	e := u.exit
	switch {
	case s.tear.started:
		s.reportExit(u)
		u.state = over
		s.tear.noteEnd(u)
		s.stopEligible()
	case u.ctl.stopping:
		s.stoppedByRequest(u)
	case u.pol.Oneshot && e.Code == 0:
		s.reportExit(u)
		u.state, u.ctl.manual = over, false // done, whoever started it
		s.setReady(u)
		s.stopLeftovers()
	case s.wantsRestart(u):
		s.restart(u)
	default:
		s.reportExit(u)
		u.state, u.failed = over, true
		s.endWith(u, e.Code, u.inst.Name+" exited, stopping all processes")
	}
	s.lateRequest(u)
}

// reportExit prints how a process ended.
func (s *supervisor) reportExit(u *unit) {
	e := u.exit
	ev := output.Event{Kind: "exit", Process: u.inst.Name, Pid: u.pid, Code: &e.Code, Text: s.describeEnd(u)}
	if e.Signal != 0 {
		ev.Signal = signals.Name(e.Signal)
	}
	s.event(ev)
}

// describeEnd says how u's process ended: "web exited with code 3" or
// "web was killed by SIGKILL".
func (s *supervisor) describeEnd(u *unit) string {
	if u.exit.Signal != 0 {
		return fmt.Sprintf("%s was killed by %s", u.inst.Name, signals.Name(u.exit.Signal))
	}
	return fmt.Sprintf("%s exited with code %d", u.inst.Name, u.exit.Code)
}

// endWith handles an instance that ended for good without success (why
// says how): unless it can die or the operator started this run, the
// teardown starts and code becomes cinit's exit status. Its dependents
// will never start. The end of a process that can die is its own, even
// of a run the operator started: it counts for "everything ended".
func (s *supervisor) endWith(u *unit, code int, why string) {
	if u.pol.CanDie {
		u.ctl.manual = false
	}
	if u.pol.CanDie || u.ctl.manual {
		s.abandonDependents()
		s.stopLeftovers()
		return
	}
	s.beginTeardown(syscall.SIGTERM, why, &code)
}

// stopLeftovers starts a teardown when every unit has ended on its own
// terms (oneshots, processes that can die) while descendants are left, so
// that cinit does not outlive its Procfile as the keeper of stray daemons.
func (s *supervisor) stopLeftovers() {
	if s.tear.started || s.noneLeft() {
		return
	}
	for _, u := range s.units {
		if !u.ended() {
			return
		}
	}
	s.beginTeardown(syscall.SIGTERM, "every process has ended, stopping what they left behind", nil)
	s.tear.ended = true
}
