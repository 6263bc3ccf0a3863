package supervisor

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cinit/cinit/control"
	"github.com/cinit/cinit/output"
	"github.com/cinit/cinit/signals"
)

// The control plane inside the loop (README "Control"). Each request of
// the control socket reaches the loop as one more message, a
// *control.Call on ctlLoop.calls, which the loop answers from its own
// state. A restart or stop that waits is parked in ctlLoop.waits, and the
// loop checks the parked ones after every message it handles: the exit,
// readiness or timer event that completes one answers it. The loop never
// waits for a client, and a client that hangs up changes nothing: the
// action goes on, its answer is dropped.

// defaultRestartWait is how long a restart waits for readiness when the
// request does not say.
const defaultRestartWait = 60 * time.Second

// maxProbeLine bounds the probe's message: Docker keeps 4096 bytes of a
// health check's output (moby/moby daemon/health.go).
const maxProbeLine = 4000

// ctlState is what the control plane asked of one unit. Owned by the
// loop's goroutine.
type ctlState struct {
	stopping  bool      // cinit stop or restart sent this run its stop signal
	again     bool      // start it again once this run has ended (restart)
	manual    bool      // this run was started by cinit restart
	notReady  bool      // this run hit --ready-timeout and is stopped for it
	stopAsked bool      // cinit stop asked this run to end: another stop kills it
	restarts  int       // starts after the first, automatic and requested
	nextStart time.Time // in backoff: when the automatic restart is due
	late      request   // asked for while the run was ending by itself (see lateRequest)
}

// request is a restart or stop that waits for the end of a run to be
// handled.
type request int

const (
	noRequest request = iota
	restartRequest
	stopRequest
)

// ctlLoop is the control plane's part of the supervisor.
type ctlLoop struct {
	calls   chan *control.Call // from the connections' goroutines
	waits   []*wait            // parked restart and stop requests (loop)
	started time.Time          // when cinit started
	up      bool               // latched: every process has been ready (loop)
}

// wait is a parked restart or stop request.
type wait struct {
	call    *control.Call
	units   []*unit
	base    []int // each unit's gen before the run a restart waits for, or of the run a stop ends
	restart bool
	done    bool
}

// command is one request the loop serves.
type command struct {
	names bool // needs a NAME or "all"
	do    func(s *supervisor, c *control.Call, units []*unit)
}

// commands maps the protocol's commands to the loop's methods. A new
// command (a stream, say) is one more entry here; its do answers the call
// with c.Stream.
var commands = map[string]command{
	"hello":   {do: (*supervisor).ctlHello},
	"status":  {do: (*supervisor).ctlStatus},
	"probe":   {do: (*supervisor).ctlProbe},
	"restart": {names: true, do: (*supervisor).ctlRestart},
	"stop":    {names: true, do: (*supervisor).ctlStop},
	"signal":  {names: true, do: (*supervisor).ctlSignal},
	"quit":    {do: (*supervisor).ctlQuit},
	"logs":    {do: (*supervisor).ctlLogs},
	"attach":  {names: true, do: (*supervisor).ctlAttach},
}

// serveControl starts the control server, if there is one, with every
// command handed to the loop.
func (s *supervisor) serveControl() {
	s.ctl.started = time.Now()
	if s.cfg.Control == nil {
		return
	}
	handlers := make(map[string]control.Handler, len(commands))
	for name := range commands {
		handlers[name] = s.toLoop
	}
	s.cfg.Control.Serve(handlers)
}

// toLoop hands a call to the loop; it runs in the connection's goroutine.
// Once Run has returned, the call is told that cinit is stopping.
func (s *supervisor) toLoop(c *control.Call) {
	select {
	case s.ctl.calls <- c:
	case <-s.done:
		c.Fail(control.Errorf(control.Stopping, "cinit is stopping"))
	}
}

// onCall serves one request in the loop.
func (s *supervisor) onCall(c *control.Call) {
	cmd := commands[c.Req.Cmd]
	if cmd.names && len(c.Req.Names) == 0 {
		c.Fail(control.Errorf(control.BadRequest, "%s needs a process name or all", c.Req.Cmd))
		return
	}
	units, err := s.selectUnits(c.Req.Names)
	if err != nil {
		c.Fail(err)
		return
	}
	cmd.do(s, c, units)
}

// selectUnits resolves names: an instance ("web.2", or "web" when it runs
// alone), else every instance of a type, else a path.Match glob over
// instance and type names; "all" and no name at all select everything.
// Every name must select something. The units come in start order.
func (s *supervisor) selectUnits(names []string) ([]*unit, *control.Error) {
	if len(names) == 0 {
		return s.units, nil
	}
	chosen := map[*unit]bool{}
	for _, n := range names {
		m := s.match(n)
		if len(m) == 0 {
			return nil, control.Errorf(control.NoMatch, "no process matches %q", n)
		}
		for _, u := range m {
			chosen[u] = true
		}
	}
	var out []*unit
	for _, u := range s.units {
		if chosen[u] {
			out = append(out, u)
		}
	}
	return out, nil
}

// match returns the units one name selects.
func (s *supervisor) match(name string) []*unit {
	if name == "all" {
		return s.units
	}
	for _, u := range s.units {
		if u.inst.Name == name || u.inst.PS == name {
			return []*unit{u}
		}
	}
	var out []*unit
	glob := strings.ContainsAny(name, "*?[")
	for _, u := range s.units {
		if u.inst.Entry.Name == name || glob && (globMatch(name, u.inst.Name) || globMatch(name, u.inst.Entry.Name)) {
			out = append(out, u)
		}
	}
	return out
}

// globMatch is path.Match where a bad pattern matches nothing.
func globMatch(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// audit logs an accepted mutating request under cinit's name. A request
// for one process is about it, so that cinit logs NAME shows it.
func (s *supervisor) audit(c *control.Call, what string, units []*unit) {
	who := fmt.Sprintf("pid %d (uid %d)", c.Peer.Pid, c.Peer.Uid)
	if c.Peer.Pid == 0 { // the system does not tell (FreeBSD)
		who = fmt.Sprintf("uid %d", c.Peer.Uid)
	}
	e := output.Event{Kind: "request", Pid: c.Peer.Pid, Text: what + " requested by " + who}
	if len(units) == 1 {
		e.Process = units[0].inst.Name
	}
	s.event(e)
}

// requestText is the request as a command line, for the audit line.
func requestText(c *control.Call, verb string) string {
	return strings.TrimSpace(verb + " " + strings.Join(c.Req.Names, " "))
}

// failStopping answers that the teardown has begun.
func failStopping(c *control.Call) {
	c.Fail(control.Errorf(control.Stopping, "cinit is stopping"))
}

// ctlHello tells who answers.
func (s *supervisor) ctlHello(c *control.Call, _ []*unit) {
	c.Reply(control.Hello{Pid: os.Getpid(), Version: s.cfg.Version, Versions: []int{control.Version},
		Root: s.root(), Phase: s.phase()})
}

// root is the absolute path of the Procfile's root directory.
func (s *supervisor) root() string {
	if abs, err := filepath.Abs(s.cfg.Dir); err == nil {
		return abs
	}
	return s.cfg.Dir
}

// ctlStatus answers with the state of the selected units.
func (s *supervisor) ctlStatus(c *control.Call, units []*unit) {
	now := time.Now()
	st := control.Status{Cinit: control.Cinit{Pid: os.Getpid(), Version: s.cfg.Version, Phase: s.phase(),
		UptimeS: now.Sub(s.ctl.started).Seconds(), Root: s.root()}}
	if s.cfg.Control != nil {
		st.Cinit.Socket = s.cfg.Control.Path()
	}
	st.Processes = s.describeAll(units, now)
	c.Reply(st)
}

// describeAll describes units at now.
func (s *supervisor) describeAll(units []*unit, now time.Time) []control.Process {
	out := make([]control.Process, 0, len(units))
	for _, u := range units {
		out = append(out, s.describe(u, now))
	}
	return out
}

// describe is one unit as status shows it.
func (s *supervisor) describe(u *unit, now time.Time) control.Process {
	p := control.Process{Name: u.inst.Name, Type: u.inst.Entry.Name, State: s.stateOf(u), Want: "up",
		Since: u.since, Restarts: u.ctl.restarts, Up: s.up(u), Policy: policyOf(u.pol)}
	if p.Since.IsZero() {
		p.Since = s.ctl.started
	}
	if u.state == stopped || u.ctl.stopping && !u.ctl.again {
		p.Want = "down"
	}
	if u.state == running || u.state == exiting && u.stopSig != 0 {
		p.Pid, p.UptimeS = u.pid, now.Sub(u.started).Seconds()
		p.Ready = u.runReady && u.state == running
	}
	if !u.exitAt.IsZero() {
		p.LastExit = &control.Exit{Code: u.exit.Code, At: u.exitAt}
		if u.exit.Signal != 0 {
			p.LastExit.Signal = signals.Name(u.exit.Signal)
		}
	}
	if u.state == backoff {
		p.NextRestartMS = max(0, u.ctl.nextStart.Sub(now).Milliseconds())
	}
	if !s.cfg.NoPort {
		p.Port = u.inst.Port
	}
	return p
}

// policyOf is the part of a policy that status shows.
func policyOf(p Policy) control.Policy {
	return control.Policy{Restart: [...]string{"no", "on-failure", "always"}[p.Restart], CanDie: p.CanDie, Oneshot: p.Oneshot, TTY: p.TTY}
}

// stateOf names where a unit is, in the control plane's words.
func (s *supervisor) stateOf(u *unit) string {
	switch u.state {
	case pending:
		return control.StateWaiting
	case running, exiting:
		switch {
		case u.stopSig != 0:
			return control.StateStopping
		case u.state == exiting:
			return control.StateExited // its output is being flushed, then its policy applies
		case u.runReady:
			return control.StateRunning
		}
		return control.StateStarting
	case backoff:
		return control.StateBackoff
	case stopped:
		return control.StateStopped
	}
	if u.failed && (u.gen == 0 || u.exit.Code != 0 || u.ctl.notReady) {
		return control.StateFailed
	}
	return control.StateExited
}

// up reports whether u is where it should be for a readiness probe:
// running and ready, or a oneshot that succeeded.
func (s *supervisor) up(u *unit) bool {
	switch u.state {
	case running:
		return u.runReady && u.stopSig == 0
	case over:
		return u.pol.Oneshot && !u.failed && u.exit.Code == 0 && u.gen > 0
	}
	return false
}

// phase is cinit's phase: stopping once the teardown has begun, starting
// until every process has been ready (or ended) once, running from then on.
// A process whose runs were never ready keeps cinit starting while it
// runs, ends or waits for an automatic restart.
func (s *supervisor) phase() string {
	if s.tear.started {
		return control.PhaseStopping
	}
	if s.ctl.up {
		return control.PhaseRunning
	}
	for _, u := range s.units {
		switch u.state {
		case pending:
			return control.PhaseStarting
		case running, exiting, backoff:
			if !u.ready && u.needsReadiness() {
				return control.PhaseStarting
			}
		}
	}
	s.ctl.up = true
	return control.PhaseRunning
}

// ctlProbe answers whether the selected units are ready (or, with live,
// alive), from the loop's state alone: no check is run.
func (s *supervisor) ctlProbe(c *control.Call, units []*unit) {
	c.Reply(s.probe(units, c.Req.Live))
}

// probe decides a probe. Readiness: cinit is running and every selected
// unit that is required and not stopped on purpose is up. Liveness: cinit
// is not stopping and no required unit has failed for good (backoff and
// starting are alive: cinit is dealing with them).
func (s *supervisor) probe(units []*unit, live bool) control.Probe {
	phase := s.phase()
	if phase == control.PhaseStopping {
		return control.Probe{Message: "stopping"}
	}
	var bad []string
	for _, u := range units {
		switch {
		case live && u.state == over && u.failed && !u.pol.CanDie:
			bad = append(bad, u.inst.Name+" failed")
		case live, u.pol.CanDie, u.state == stopped, s.up(u):
		default:
			bad = append(bad, s.notReady(u))
		}
	}
	switch {
	case len(bad) > 0 && live:
		return control.Probe{Message: clip("not alive: " + strings.Join(bad, "; "))}
	case len(bad) > 0:
		return control.Probe{Message: clip("not ready: " + strings.Join(bad, "; "))}
	case live:
		return control.Probe{OK: true, Message: "alive"}
	case phase == control.PhaseStarting:
		return control.Probe{Message: "not ready: cinit is starting"}
	}
	return control.Probe{OK: true, Message: "ready"}
}

// notReady says why u is not up: "web starting (3s)", "worker backoff
// (restart in 4s)".
func (s *supervisor) notReady(u *unit) string {
	state := s.stateOf(u)
	now := time.Now()
	switch state {
	case control.StateStarting:
		return fmt.Sprintf("%s starting (%v)", u.inst.Name, now.Sub(u.started).Round(time.Second))
	case control.StateBackoff:
		return fmt.Sprintf("%s backoff (restart in %v)", u.inst.Name, max(0, u.ctl.nextStart.Sub(now)).Round(time.Second))
	case control.StateWaiting:
		return fmt.Sprintf("%s waiting for %s", u.inst.Name, strings.Join(u.pol.After, ", "))
	}
	return u.inst.Name + " " + state
}

// clip bounds a probe message.
func clip(msg string) string {
	if len(msg) > maxProbeLine {
		return msg[:maxProbeLine] + "..."
	}
	return msg
}

// ctlRestart restarts the selected units: a graceful stop, then a start;
// a unit without a process starts at once. The backoff and the give-up
// count start afresh. With wait, the answer comes when every unit is
// ready, or as a failure when one ends first or the timeout passes.
func (s *supervisor) ctlRestart(c *control.Call, units []*unit) {
	if s.tear.started {
		failStopping(c)
		return
	}
	s.audit(c, requestText(c, "restart"), units)
	w := &wait{call: c, units: units, restart: true}
	for _, u := range units {
		w.base = append(w.base, s.restartUnit(u))
	}
	timeout := time.Duration(c.Req.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = defaultRestartWait
	}
	s.park(w, timeout)
}

// restartUnit restarts one unit and returns the generation after which
// the run to wait for comes; a unit waiting for its dependencies starts
// when they are ready, and the restart waits for that run. Requests for
// a unit already restarting join it.
func (s *supervisor) restartUnit(u *unit) int {
	u.restarts, u.delay, u.failed = nil, 0, false
	switch {
	case u.state == pending:
		return u.gen // waiting for its dependencies; it starts when they are ready
	case u.state == running && u.ctl.manual && !u.runReady && !u.ctl.stopping && s.restartWaiting(u):
		return u.gen - 1 // a restart in progress: join it
	case u.state == exiting && !u.ctl.stopping:
		u.ctl.late = restartRequest
		return u.gen
	case u.state == running || u.state == exiting:
		u.ctl.again = true
		if !u.ctl.stopping {
			s.sendStop(u)
		}
		return u.gen
	}
	if !s.startByRequest(u) {
		return u.gen // waiting for its dependencies now
	}
	return u.gen - 1
}

// restartWaiting reports whether a parked restart waits for u's run to be
// ready. A restart whose client has gone (hung up, or given up at its
// timeout) is over: the next one stops that run and starts another.
func (s *supervisor) restartWaiting(u *unit) bool {
	for _, w := range s.ctl.waits {
		if w.restart && !w.done && !w.call.Gone() && slices.Contains(w.units, u) {
			return true
		}
	}
	return false
}

// startByRequest starts a unit that has no process now, for cinit
// restart; it reports false when the unit waits for its dependencies
// instead.
func (s *supervisor) startByRequest(u *unit) bool {
	u.ctl.again, u.ctl.stopping = false, false
	if s.depsState(u) != depsReady {
		u.state, u.since = pending, time.Now()
		return false
	}
	u.ctl.manual = true
	if u.gen > 0 {
		u.ctl.restarts++
	}
	s.start(u)
	return true
}

// sendStop sends u its stop signal (its --stop-signal, else SIGTERM) and
// SIGCONT, and SIGKILL after the grace period if it is still there.
func (s *supervisor) sendStop(u *unit) {
	sig := u.pol.StopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	u.ctl.stopping, u.stopSig, u.since = true, sig, time.Now()
	if u.state != running {
		return // already reaped; its output is being flushed
	}
	signalGroup(u.pid, sig)
	gen := u.gen
	s.after(s.cfg.Grace, func() {
		if u.gen == gen && u.ctl.stopping && u.state == running {
			s.killUnit(u)
		}
	})
}

// killUnit sends SIGKILL to a unit's group now.
func (s *supervisor) killUnit(u *unit) {
	if unix.Kill(-u.pid, syscall.SIGKILL) == nil {
		s.event(output.Event{Kind: "kill", Process: u.inst.Name, Pid: u.pid, Signal: "SIGKILL",
			Text: "sending SIGKILL to " + u.inst.Name})
	}
}

// stoppedByRequest handles the end of a run that cinit stop or restart
// stopped: never a failure, never a teardown, no automatic restart.
func (s *supervisor) stoppedByRequest(u *unit) {
	s.reportExit(u)
	u.ctl.stopping = false
	switch {
	case u.ctl.again:
		s.startByRequest(u)
	case u.ctl.notReady:
		u.state, u.since = over, time.Now() // failed, not stopped
		s.stopLeftovers()
	default:
		u.state, u.since = stopped, time.Now()
	}
}

// lateRequest carries out a restart or stop that came after u's run had
// ended by itself but before its end was handled (its output was still
// being flushed). The end came first: its policy has applied, a teardown
// included; then, unless a teardown began, a restart starts the unit and
// a stop turns an automatic restart into stopped.
func (s *supervisor) lateRequest(u *unit) {
	req := u.ctl.late
	u.ctl.late = noRequest
	if req == noRequest || s.tear.started {
		return
	}
	switch {
	case req == stopRequest && u.state == backoff:
		u.state, u.since = stopped, time.Now()
	case req == restartRequest && (u.state == backoff || u.state == over || u.state == stopped):
		s.startByRequest(u)
	}
}

// ctlStop stops the selected units. A second stop of a unit that is
// stopping kills it at once.
func (s *supervisor) ctlStop(c *control.Call, units []*unit) {
	if s.tear.started {
		failStopping(c)
		return
	}
	s.audit(c, requestText(c, "stop"), units)
	w := &wait{call: c, units: units}
	for _, u := range units {
		w.base = append(w.base, u.gen)
		s.stopUnit(u)
	}
	s.park(w, 0)
}

// stopUnit stops one unit. A stop while a restart or the ready timeout
// is stopping the unit cancels the restart and lets the grace period run;
// only a second stop kills.
func (s *supervisor) stopUnit(u *unit) {
	u.ctl.again = false
	if u.state == exiting && !u.ctl.stopping {
		u.ctl.late = stopRequest
		return
	}
	switch u.state {
	case running, exiting:
		if u.ctl.stopAsked && u.ctl.stopping && u.state == running {
			s.killUnit(u)
			return
		}
		u.ctl.stopAsked = true
		if !u.ctl.stopping {
			s.sendStop(u)
		}
	case stopped:
	default: // waiting, in backoff, ended
		u.state, u.since = stopped, time.Now()
	}
}

// ctlSignal sends a signal to the process group of each selected unit
// that has a process, as kill(1) would; what follows is the normal
// policy.
func (s *supervisor) ctlSignal(c *control.Call, units []*unit) {
	sig := syscall.SIGTERM
	if c.Req.Signal != "" {
		var err error
		if sig, err = signals.Parse(c.Req.Signal); err != nil {
			c.Fail(control.Errorf(control.BadRequest, "%v", err))
			return
		}
	}
	var sent []*unit
	for _, u := range units {
		if u.state == running && unix.Kill(-u.pid, sig) == nil {
			sent = append(sent, u)
		}
	}
	if len(sent) == 0 {
		c.Fail(control.Errorf(control.Failed, "no selected process is running"))
		return
	}
	// The loop handles nothing else meanwhile: the line still comes
	// before any exit the signal causes.
	s.audit(c, requestText(c, "kill -s "+strings.TrimPrefix(signals.Name(sig), "SIG")), units)
	c.Reply(control.Done{Processes: s.describeAll(sent, time.Now())})
}

// ctlQuit stops everything, as SIGTERM to cinit does.
func (s *supervisor) ctlQuit(c *control.Call, _ []*unit) {
	if s.tear.started {
		failStopping(c)
		return
	}
	s.audit(c, "quit", nil)
	c.Reply(nil)
	s.stops++
	s.beginTeardown(syscall.SIGTERM, "quit requested, stopping all processes", nil)
}

// park answers w now when the client does not wait; otherwise keeps it
// until settleWaits finds it complete, or timeout (0: none) passes.
func (s *supervisor) park(w *wait, timeout time.Duration) {
	if !w.call.Req.Wait {
		w.call.Reply(control.Done{Processes: s.describeAll(w.units, time.Now())})
		return
	}
	s.ctl.waits = append(s.ctl.waits, w)
	if timeout > 0 {
		s.after(timeout, func() {
			if !w.done {
				s.finishWait(w, control.Errorf(control.Timeout, "not ready within %v", timeout))
			}
		})
	}
	s.settleWaits()
}

// settleWaits answers every parked request that is complete. The loop
// calls it after each message.
func (s *supervisor) settleWaits() {
	if len(s.ctl.waits) == 0 {
		return
	}
	keep := s.ctl.waits[:0]
	for _, w := range s.ctl.waits {
		if !w.done {
			s.settle(w)
		}
		if !w.done {
			keep = append(keep, w)
		}
	}
	clear(s.ctl.waits[len(keep):])
	s.ctl.waits = keep
}

// settle answers w if it is complete.
func (s *supervisor) settle(w *wait) {
	if s.tear.started {
		s.finishWait(w, control.Errorf(control.Stopping, "cinit is stopping"))
		return
	}
	for i, u := range w.units {
		ok, err := s.stopDone(u, w.base[i]), (*control.Error)(nil)
		if w.restart {
			ok, err = s.restartDone(u, w.base[i])
		}
		if err != nil {
			s.finishWait(w, err)
			return
		}
		if !ok {
			return
		}
	}
	s.finishWait(w, nil)
}

// stopDone reports whether the run of u that a stop was for has ended:
// no process is left, or a restart started the next run.
func (s *supervisor) stopDone(u *unit, base int) bool {
	return u.gen > base || u.state != running && u.state != exiting
}

// restartDone reports whether the run a restart waits for is ready, or
// why it failed.
func (s *supervisor) restartDone(u *unit, base int) (bool, *control.Error) {
	if u.gen <= base {
		switch {
		case u.state == pending, u.ctl.again, u.ctl.late == restartRequest:
			return false, nil // waiting for its dependencies, or for the old run to stop
		case u.state == over:
			return false, control.Errorf(control.Failed, "%s will not start: a process it starts after failed", u.inst.Name)
		}
		return false, control.Errorf(control.Failed, "%s was stopped before it restarted", u.inst.Name)
	}
	if u.ctl.notReady {
		return false, control.Errorf(control.Failed, "%s was not ready within %v", u.inst.Name, s.cfg.ReadyTimeout)
	}
	switch u.state {
	case running:
		if u.ctl.stopping {
			return false, control.Errorf(control.Failed, "%s was stopped before it was ready", u.inst.Name)
		}
		return u.runReady, nil
	case exiting:
		return false, nil
	}
	if s.up(u) {
		return true, nil // a oneshot that succeeded
	}
	return false, control.Errorf(control.Failed, "%s before it was ready", s.describeEnd(u))
}

// finishWait answers a parked request: with err, or with the state of its
// units.
func (s *supervisor) finishWait(w *wait, err *control.Error) {
	w.done = true
	if err != nil {
		w.call.Fail(err)
		return
	}
	w.call.Reply(control.Done{Processes: s.describeAll(w.units, time.Now())})
}

// failWaits answers every parked request when Run returns.
func (s *supervisor) failWaits() {
	for _, w := range s.ctl.waits {
		if !w.done {
			s.finishWait(w, control.Errorf(control.Stopping, "cinit is stopping"))
		}
	}
	s.ctl.waits = nil
}
