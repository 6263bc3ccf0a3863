// Package supervisor runs the instances of a Procfile and tears them down.
//
// [Run] is one loop that owns the process table. It starts every instance
// as /bin/sh -c in its own process group (README, "Procfile"; a line of plain
// words runs without the shell, see direct.go), and then only
// receives messages: exits from package reaper, signals, "drained" notes
// from the output pipes, timers, results of readiness checks, a broken
// stdout, and requests of the control socket (control.go). Nothing else
// touches the table, so no lock guards it (runsit's rule; ARCHITECTURE.md,
// "Code map"). Timers and checks do not touch
// state either: they send a function that the loop runs (see
// [supervisor.after]).
//
// The supervisor never waits for a child itself: the reaper is the only
// caller of wait4 in cinit, and an exit reaches the loop as a
// [reaper.Exit]. An exit is reported (and may start the teardown) only once
// the instance's pipe has delivered every byte written before the exit, so
// a process's last line always comes before "web exited with code N".
//
// Policies (README, "Process policies") decide what an end means: a process
// that can die ends alone, a oneshot that succeeds counts as ready, a
// restart policy starts the process again after a capped exponential
// backoff. Any other end, and a failure for good, starts the teardown.
//
// Teardown (README, "Stopping and exit status") starts at the first such
// end or stop signal. Each instance gets its stop signal (its own
// --stop-signal, the signal cinit received, or SIGTERM after an exit)
// followed by SIGCONT, once every instance that depends on it has ended;
// orphans that left their group get the signal at once; after the grace
// period whatever is left gets SIGKILL. A second stop signal kills at once.
// Run returns when every instance has ended and cinit has no child left.
package supervisor

import (
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cinit/cinit/control"
	"github.com/cinit/cinit/output"
	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/reaper"
	"github.com/cinit/cinit/signals"
)

// Config is what [Run] runs and how.
type Config struct {
	Instances    []procfile.Instance
	Policies     map[string]Policy // by process type; a missing type has the zero Policy
	Env          []string          // every instance's environment, before PORT and PS
	NoPort       bool              // do not set PORT
	Dir          string            // working directory of every instance
	Grace        time.Duration     // time between the stop signal and SIGKILL
	ReadyTimeout time.Duration     // 0: wait for readiness forever
	Out          *output.Writer
	Split        bool // one pipe per stream (JSON output) instead of one shared pipe
	Init         bool // cinit is PID 1: kill(-1) reaches every orphan
	NoSubreaper  bool // not PID 1 and no child subreaper: orphans go elsewhere (strays.go)

	Control *control.Server // the control socket's server, nil for none (control.go)
	Version string          // cinit's version, for status
}

// Policy is how the instances of one process type run (README, "Process
// policies").
// The zero Policy is a plain process: ready once started, never restarted,
// and its end stops everything.
type Policy struct {
	CanDie     bool           // its end does not tear down the rest
	Oneshot    bool           // exit 0 is success and makes it ready
	Restart    Restart        // when to start it again
	StopSignal syscall.Signal // its signal at teardown; 0: the teardown's
	After      []string       // types that must be ready before it starts
	Ready      Check          // when it counts as ready
	Raw        bool           // print its lines without prefix
	// TTY gives it a pseudo-terminal of its own (see tty.go).
	TTY bool
	// Interactive gives it cinit's own stdin, stdout and stderr, and the
	// terminal's foreground when cinit has it (see tty.go).
	Interactive bool
}

// Restart is a restart policy.
type Restart int

const (
	// RestartNo never restarts.
	RestartNo Restart = iota
	// RestartOnFailure restarts after an exit with a code other than 0.
	RestartOnFailure
	// RestartAlways restarts after every end.
	RestartAlways
)

// Check is a readiness check: Kind is "" (ready once started), "tcp"
// (Target is a port, or empty for the instance's own $PORT), "http"
// (Target is a URL; a 2xx answer), "exec" (Target is a shell command; exit
// 0) or "file" (Target is a path that must exist).
type Check struct {
	Kind   string
	Target string
}

// pipeDrainBound limits how long Run waits, after the last child is gone,
// for its pipes to reach end of file. Every writer is dead by then, so the
// bound only matters when a pipe leaked to a process outside cinit's tree.
const pipeDrainBound = 2 * time.Second

// Run starts the instances of cfg and supervises them until all are gone,
// returning cinit's exit status (teardown.exitCode). exits must be the
// reaper's stream; sigs carries the signals signals.Subscribe(false)
// subscribes to.
func Run(cfg Config, exits <-chan reaper.Exit, sigs signals.Channels) int {
	s := newSupervisor(cfg, exits, sigs)
	defer s.close()
	s.serveControl()
	s.backgroundStart()
	s.startEligible()
	s.after(waitLogEvery, s.logWaiting)
	for !s.finished() {
		s.step()
		s.settleWaits()
	}
	s.failWaits()
	s.waitPipes()
	return s.tear.exitCode()
}

// supervisor is the state of one [Run].
type supervisor struct {
	// Immutable:
	cfg     Config
	exits   <-chan reaper.Exit
	sigs    signals.Channels
	devnull *os.File
	ownProc bool          // /proc shows cinit's own PID namespace
	done    chan struct{} // closed when Run returns: timers stop sending

	// Written by other goroutines, read by the loop:
	drained chan *unit     // a unit whose output is flushed after its exit
	wake    chan func()    // work from timers and checks, run by the loop
	pipes   sync.WaitGroup // running output.Pipe.Run calls

	// State owned by the loop's goroutine:
	units      []*unit            // every instance, in start order
	dependents map[string][]*unit // by process type: the units that start after it
	byPid      map[int]*unit      // units whose process is running or not yet reported
	checks     map[int]checkRun   // pids of running exec readiness checks
	launch     *launcher          // how a line starts, and the programs found
	broken     <-chan struct{}    // the output's Broken channel; nil once handled
	childless  bool               // no child is left: set by the last reaped exit, cleared by a start
	bg         bool               // an --interactive child holds the terminal's foreground: SIGTTOU is ignored
	stops      int                // stop signals received since cinit started
	tear       teardown
	strays     *reaper.Strays                // without a subreaper: what is left outside cinit's tree; else nil
	strayPoll  bool                          // a poll of strays is scheduled
	othersPoll bool                          // a look for processes from outside is scheduled
	ctl        ctlLoop                       // the control plane's requests and parked answers
	scan       struct{ running, again bool } // startEligible is scanning; a start asked for another pass
	envBuf     []string                      // environ's buffer
}

func newSupervisor(cfg Config, exits <-chan reaper.Exit, sigs signals.Channels) *supervisor {
	devnull, _ := os.Open(os.DevNull)
	s := &supervisor{
		cfg:       cfg,
		exits:     exits,
		sigs:      sigs,
		devnull:   devnull,
		ownProc:   procIsOwn(),
		done:      make(chan struct{}),
		drained:   make(chan *unit, 2*len(cfg.Instances)+1),
		wake:      make(chan func(), 64),
		byPid:     make(map[int]*unit, len(cfg.Instances)),
		checks:    map[int]checkRun{},
		launch:    newLauncher(cfg.Dir),
		broken:    cfg.Out.Broken(),
		childless: true,
		ctl:       ctlLoop{calls: make(chan *control.Call)},
	}
	if cfg.NoSubreaper && !cfg.Init {
		s.strays = reaper.NewStrays()
	}
	s.dependents = map[string][]*unit{}
	for i, in := range cfg.Instances {
		u := &unit{inst: in, pol: cfg.Policies[in.Entry.Name], color: i}
		s.units = append(s.units, u)
		for _, dep := range u.pol.After {
			s.dependents[dep] = append(s.dependents[dep], u)
		}
	}
	return s
}

func (s *supervisor) close() {
	close(s.done)
	if s.devnull != nil {
		s.devnull.Close()
	}
}

// procIsOwn reports whether /proc belongs to cinit's PID namespace: a PID
// namespace made without mounting a new /proc shows the host's processes,
// whose pids mean nothing here.
func procIsOwn() bool {
	self, err := os.Readlink("/proc/self")
	return err == nil && self == strconv.Itoa(os.Getpid())
}

// step handles one message.
func (s *supervisor) step() {
	select {
	case e := <-s.exits:
		s.onExit(e)
	case u := <-s.drained:
		s.onDrained(u)
	case sig := <-s.sigs.Stop:
		s.onSignal(sig.(syscall.Signal))
	case sig := <-s.sigs.Other:
		s.onSignal(sig.(syscall.Signal))
	case fn := <-s.wake:
		fn()
	case <-s.broken:
		s.onBroken()
	case c := <-s.ctl.calls:
		s.onCall(c)
	}
}

// after runs fn in the loop's goroutine once d has passed (unless Run has
// returned by then). fn must check that what it acts on is still current.
func (s *supervisor) after(d time.Duration, fn func()) {
	time.AfterFunc(d, func() { s.post(fn) })
}

// post hands fn to the loop from another goroutine.
func (s *supervisor) post(fn func()) {
	select {
	case s.wake <- fn:
	case <-s.done:
	}
}

// finished reports whether every instance has ended and no descendant of
// cinit is left.
func (s *supervisor) finished() bool {
	if !s.childless || len(s.byPid) > 0 {
		return false
	}
	for _, u := range s.units {
		if !u.ended() {
			return false
		}
	}
	return s.noneLeft()
}

// waitPipes waits for every pipe to reach end of file, so that output of
// grandchildren killed in the teardown is printed too.
func (s *supervisor) waitPipes() {
	done := make(chan struct{})
	go func() { s.pipes.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(pipeDrainBound):
		s.event(output.Event{Kind: "warning", Text: "a pipe is still open after every process ended; not waiting for it"})
	}
}

// event prints one of cinit's own messages.
func (s *supervisor) event(e output.Event) {
	s.cfg.Out.Event(e)
}
