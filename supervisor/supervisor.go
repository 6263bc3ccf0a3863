// Package supervisor runs the instances of a Procfile and tears them down.
//
// [Run] is one loop that owns the process table. It starts every instance
// as /bin/sh -c in its own process group (SPEC section 4), and then only
// receives messages: exits from package reaper, signals, "drained" notes
// from the output pipes, the grace timer and a broken stdout. Nothing else
// touches the table, so no lock guards it (runsit's rule; see
// research/style-anchors.md §5.4).
//
// The supervisor never waits for a child itself: the reaper is the only
// caller of wait4 in cinit, and an exit reaches the loop as a
// [reaper.Exit]. An exit is reported (and may start the teardown) only once
// the instance's pipe has delivered every byte written before the exit, so
// a process's last line always comes before "web exited with code N".
//
// Teardown (SPEC section 7) starts at the first exit or stop signal: the
// stop signal (or SIGTERM after an exit) goes to every process group,
// followed by SIGCONT, and to orphans that left their group; after the grace
// period whatever is left gets SIGKILL. A second stop signal kills at once.
// Run returns when every instance has been reported and cinit has no child
// left.
package supervisor

import (
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/cinit/cinit/output"
	"github.com/cinit/cinit/procfile"
	"github.com/cinit/cinit/reaper"
)

// Config is what [Run] runs and how.
type Config struct {
	Instances []procfile.Instance
	Env       []string      // every instance's environment, before PORT and PS
	NoPort    bool          // do not set PORT
	Dir       string        // working directory of every instance
	Grace     time.Duration // time between the stop signal and SIGKILL
	Out       *output.Writer
	Split     bool // one pipe per stream (JSON output) instead of one shared pipe
	Init      bool // cinit is PID 1: kill(-1) reaches every orphan
}

// pipeDrainBound limits how long Run waits, after the last child is gone,
// for its pipes to reach end of file. Every writer is dead by then, so the
// bound only matters when a pipe leaked to a process outside cinit's tree.
const pipeDrainBound = 2 * time.Second

// Run starts every instance of cfg and supervises them until all are gone,
// returning cinit's exit status (SPEC section 10). exits must be the
// reaper's stream; sigs carries the signals listed in [signals.Notified].
func Run(cfg Config, exits <-chan reaper.Exit, sigs <-chan os.Signal) int {
	s := newSupervisor(cfg, exits, sigs)
	defer s.close()
	s.startAll()
	for !s.finished() {
		s.step(true)
	}
	s.waitPipes()
	return s.tear.exitCode()
}

// supervisor is the state of one [Run].
type supervisor struct {
	// Immutable:
	cfg     Config
	exits   <-chan reaper.Exit
	sigs    <-chan os.Signal
	devnull *os.File

	// Written by pipe goroutines, read by the loop:
	drained chan int       // pid of an instance whose output is flushed
	pipes   sync.WaitGroup // running output.Pipe.Run calls

	// State owned by the loop's goroutine:
	procs    map[int]*process // instances not yet reported, by pid
	childless bool            // no child is left: set by the last reaped exit, cleared by a start
	stops    int              // stop signals received since cinit started
	tear     teardown
}

// process is one started instance.
type process struct {
	inst      procfile.Instance
	pid       int
	pipes     []*output.Pipe
	undrained int         // pipes that have not yet flushed after the exit
	exit      reaper.Exit // valid once reaped
	reaped    bool
}

func newSupervisor(cfg Config, exits <-chan reaper.Exit, sigs <-chan os.Signal) *supervisor {
	devnull, _ := os.Open(os.DevNull)
	return &supervisor{
		cfg:     cfg,
		exits:   exits,
		sigs:    sigs,
		devnull: devnull,
		drained: make(chan int, 2*len(cfg.Instances)+1),
		procs:   make(map[int]*process, len(cfg.Instances)),
		tear:    teardown{grace: cfg.Grace},
		childless: true,
	}
}

func (s *supervisor) close() {
	if s.devnull != nil {
		s.devnull.Close()
	}
	s.tear.stopTimer()
}

// startAll starts the instances in order, handling whatever arrives in
// between so that a stop signal or an early exit stops the start-up.
func (s *supervisor) startAll() {
	for i, in := range s.cfg.Instances {
		s.step(false)
		if s.tear.started {
			return
		}
		if err := s.start(in, i); err != nil {
			s.event(output.Event{Kind: "error", Process: in.Name, Text: in.Name + " could not start: " + err.Error()})
			code := 127
			s.beginTeardown(syscall.SIGTERM, in.Name+" could not start, stopping all processes", &code)
		}
	}
}

// step handles one message. With block false it returns at once when no
// message is waiting.
func (s *supervisor) step(block bool) {
	var none chan struct{}
	if !block {
		none = make(chan struct{})
		close(none)
	}
	select {
	case e := <-s.exits:
		s.onExit(e)
	case pid := <-s.drained:
		s.onDrained(pid)
	case sig := <-s.sigs:
		s.onSignal(sig.(syscall.Signal))
	case <-s.tear.timer():
		s.onGrace()
	case <-s.cfg.Out.Broken():
		s.onBroken()
	case <-none:
	}
}

// finished reports whether every instance was reported and no descendant
// of cinit is left.
func (s *supervisor) finished() bool {
	return len(s.procs) == 0 && s.childless
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
